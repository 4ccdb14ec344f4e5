"""The console's audit log (admins); the dashboard at /console/ is in dashboard.py."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from identa.console.models import ADMIN
from identa.db.uow import UnitOfWork
from identa.http.console.auth import Staff, console_uow, require_role
from identa.http.console.common import PREFIX, Console

AUDIT_PER_PAGE = 50


def _page_number(raw: str | None) -> int:
    """A 1-based page number from the query; anything odd is page 1."""
    if raw and raw.isdigit() and len(raw) <= 6:
        return max(1, int(raw))
    return 1


def router(console: Console) -> APIRouter:
    r = APIRouter()

    @r.get(f"{PREFIX}/audit")
    async def audit_log(
        request: Request,
        staff: Staff = Depends(require_role(ADMIN)),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        page = _page_number(request.query_params.get("page"))
        entries, total = await console.services.audit.page(
            uow.session, page=page - 1, per_page=AUDIT_PER_PAGE
        )
        pages = max(1, math.ceil(total / AUDIT_PER_PAGE))
        return console.render(
            request,
            "console/audit.html",
            active="audit",
            entries=entries,
            total=total,
            page=page,
            pages=pages,
        )

    return r
