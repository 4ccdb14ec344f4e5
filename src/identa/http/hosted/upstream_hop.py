"""The hop from a hosted page to an upstream provider: the redirect, and the browser-bound
cookie (sent only to the callback path) that ties the provider's answer to this browser."""

from __future__ import annotations

from starlette.responses import Response

from identa.flows.social import Begun
from identa.http.hosted.common import Hosted

BROWSER_COOKIE = "identa_upstream"
CALLBACK_PATH = "/login/callback"


def upstream_redirect(h: Hosted, begun: Begun) -> Response:
    response = Response(status_code=302, headers={"Location": begun.url})
    response.set_cookie(
        BROWSER_COOKIE,
        begun.browser_token,
        max_age=900,
        path=CALLBACK_PATH,
        httponly=True,
        samesite="lax",
        secure=h.secure,
    )
    response.headers["Cache-Control"] = "no-store"
    # The page's URL may carry a CSRF token (account page): never hand it to the provider.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
