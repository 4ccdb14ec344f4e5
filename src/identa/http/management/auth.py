"""Bearer access tokens for the Management API audience, the per-client rate limit, and
per-endpoint scope checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request

from identa.container import Container
from identa.core.ratelimit import RATE_LIMIT_MESSAGE, FixedWindowLimiter, RateLimiter
from identa.http.management.errors import ApiError
from identa.http.middleware import add_response_headers

# Key in Container.extras of this process's Management API limiter (built on first use).
RATE_LIMITER = "management_rate_limiter"


@dataclass(frozen=True)
class Caller:
    subject: str
    client_id: str | None
    scopes: frozenset[str]


async def authenticate(c: Container, request: Request, *required: str) -> Caller:
    """The caller of a Management API request, holding every scope in `required`.

    Every authenticated request counts against its client's budget (settings
    `management_rate_limit`); the X-RateLimit-* headers go on the response whatever it is, and
    past the budget the request is refused with a 429 before its scopes are even looked at.
    """
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
    client_id = str(claims.get("azp")) if claims.get("azp") else None
    await _rate_limit(c, request, client_id or f"sub:{claims.get('sub')}")
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
        client_id=client_id,
        scopes=scopes,
    )


def management_rate_limiter(c: Container) -> RateLimiter | None:
    """This process's Management API limiter, or None when the limit is off (requests = 0)."""
    limit = c.settings.management_rate_limit
    if limit.requests == 0:
        return None
    limiter = c.extras.get(RATE_LIMITER)
    if limiter is None:
        limiter = FixedWindowLimiter(
            c.clock, limit=limit.requests, window_seconds=limit.window_seconds
        )
        c.extras[RATE_LIMITER] = limiter
    return cast(RateLimiter, limiter)


async def _rate_limit(c: Container, request: Request, key: str) -> None:
    limiter = management_rate_limiter(c)
    if limiter is None:
        return
    status = await limiter.hit(key)
    add_response_headers(request.scope, status.headers())
    if not status.allowed:
        raise ApiError(429, RATE_LIMIT_MESSAGE, "too_many_requests")
