"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import JSONResponse

from identa import __version__
from identa.container import Container


def router(c: Container) -> APIRouter:
    r = APIRouter()

    @r.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    @r.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        try:
            async with c.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse(
                {"status": "unavailable", "database": f"{type(exc).__name__}"}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return r
