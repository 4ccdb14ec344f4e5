"""The hop from a hosted page to an upstream provider: the redirect, and the browser-bound
cookie (sent only to the callback path) that ties the provider's answer to this browser."""

from __future__ import annotations

from starlette.responses import Response

from identa.flows.social import Begun
from identa.http.hosted.common import Hosted

BROWSER_COOKIE = "identa_upstream"
CALLBACK_PATH = "/login/callback"
# Ties the prompt-mode linking page (/u/link, /u/link/social) to the browser that came back from
# the provider: the flow id in its address is not enough to claim the pending identity.
LINK_COOKIE = "identa_link"
LINK_PATH = "/u/link"
LINK_MAX_AGE = 900


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


def set_link_cookie(h: Hosted, response: Response, browser_token: str) -> None:
    response.set_cookie(
        LINK_COOKIE,
        browser_token,
        max_age=LINK_MAX_AGE,
        path=LINK_PATH,
        httponly=True,
        samesite="lax",
        secure=h.secure,
    )
