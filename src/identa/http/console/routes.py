"""The console's routes, in one router; each page module adds its own router here."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from identa.http.console import (
    customer360,
    customers,
    dashboard,
    login,
    pages,
    segment_detail,
    segment_pages,
)
from identa.http.console.auth import role_guard
from identa.http.console.common import Console


def console_router(console: Console) -> APIRouter:
    r = APIRouter(dependencies=[Depends(role_guard)], include_in_schema=False)
    r.include_router(login.router(console))
    r.include_router(pages.router(console))
    r.include_router(customers.router(console))
    r.include_router(customer360.router(console))
    r.include_router(dashboard.router(console))
    r.include_router(segment_pages.router(console))
    r.include_router(segment_detail.router(console))
    return r
