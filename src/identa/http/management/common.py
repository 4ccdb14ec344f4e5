"""Pieces every Management API router shares: Auth0's error rendering and body fields."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from identa.http.forms import BadForm
from identa.http.management.errors import ApiError, bad_request

Handler = Callable[[Request], Awaitable[Response]]


def api(handler: Handler) -> Handler:
    """Renders ApiError in Auth0's shape; a malformed body is a 400, not a crash."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except BadForm as exc:
            return ApiError(exc.status_code, exc.message, "invalid_body").response()

    wrapped.__name__ = handler.__name__
    return wrapped


def string_field(body: dict[str, Any], key: str, limit: int) -> str | None:
    """body[key] as a string of at most `limit` characters (None when absent); else a 400."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Payload validation error: '{key}' must be a string.")
    if len(value) > limit:
        raise bad_request(f"Payload validation error: '{key}' is longer than {limit} characters.")
    return value
