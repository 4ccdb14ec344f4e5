"""Turns a Starlette request into the framework-free RequestContext the services record."""

from __future__ import annotations

from starlette.requests import Request

from identa.core.context import RequestContext
from identa.http.logs import request_id_var


def client_ip(request: Request, trust_forwarded: bool) -> str:
    if trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else "unknown"


def request_context(request: Request) -> RequestContext:
    trust = bool(getattr(request.app.state, "trust_forwarded", False))
    return RequestContext(
        ip=client_ip(request, trust),
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        hostname=request.url.hostname,
        request_id=request_id_var.get(),
    )
