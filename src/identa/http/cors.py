"""CORS for the endpoints a browser application calls directly (/oauth/token, /oauth/revoke,
/userinfo): an origin is allowed when an application lists it in `web_origins` or
`allowed_origins`. Preflights allow the `Auth0-Client` header Auth0's SDKs send."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_PATHS = frozenset({"/oauth/token", "/oauth/revoke", "/userinfo"})
ALLOW_HEADERS = b"Authorization, Content-Type, Auth0-Client, X-Request-Id"
ALLOW_METHODS = b"GET, POST, OPTIONS"
CACHE_SECONDS = 5.0


class AllowedOrigins:
    """The set of allowed origins, reloaded at most every few seconds."""

    def __init__(self, load: Callable[[], Awaitable[set[str]]]) -> None:
        self._load = load
        self._cached: tuple[float, set[str]] | None = None

    async def contains(self, origin: str) -> bool:
        if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
            self._cached = (time.monotonic(), await self._load())
        return origin.rstrip("/") in self._cached[1]

    def invalidate(self) -> None:
        self._cached = None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class CorsMiddleware:
    def __init__(self, app: ASGIApp, origins: AllowedOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in CORS_PATHS:
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        allowed = origin is not None and await self.origins.contains(origin)
        if scope.get("method") == "OPTIONS" and _header(scope, b"access-control-request-method"):
            headers = [(b"vary", b"Origin")]
            if allowed and origin is not None:
                headers += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", ALLOW_METHODS),
                    (b"access-control-allow-headers", ALLOW_HEADERS),
                    (b"access-control-max-age", b"86400"),
                ]
            await send(
                {
                    "type": "http.response.start",
                    "status": 204 if allowed else 403,
                    "headers": headers,
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed and origin is not None:
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)
