"""Bearer access tokens for the Management API audience, and per-endpoint scope checks."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from identa.container import Container
from identa.http.management.errors import ApiError


@dataclass(frozen=True)
class Caller:
    subject: str
    client_id: str | None
    scopes: frozenset[str]


async def authenticate(c: Container, request: Request, *required: str) -> Caller:
    """The caller of a Management API request, holding every scope in `required`."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or len(header) > 8192:
        raise ApiError(401, "Missing authentication", "missing_authentication")
    token = header[7:].strip()
    async with c.unit_of_work() as uow:
        try:
            claims = await c.oidc.signer.verify(uow.session, token)
        except Exception as exc:
            raise ApiError(401, "Invalid token", "invalid_token") from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    exp = claims.get("exp")
    if (
        claims.get("iss") != c.settings.issuer
        or c.oidc.management_audience not in audiences
        or not isinstance(exp, int)
        or exp <= int(c.clock.now().timestamp())
    ):
        raise ApiError(401, "Invalid token", "invalid_token")
    scopes = frozenset(str(claims.get("scope", "")).split())
    missing = [scope for scope in required if scope not in scopes]
    if missing:
        raise ApiError(
            403,
            f"Insufficient scope, expected any of: {', '.join(required)}",
            "insufficient_scope",
        )
    return Caller(
        subject=str(claims.get("sub")),
        client_id=str(claims.get("azp")) if claims.get("azp") else None,
        scopes=scopes,
    )
