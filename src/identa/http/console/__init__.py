"""The staff console at /console: server-rendered pages with htmx and Chart.js (shipped with
the package under /console/static/), staff sessions, roles and the audit log."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from identa.container import Container
from identa.http.console.auth import CsrfRefused, Forbidden, LoginRequired, login_url
from identa.http.console.common import PREFIX, STATIC, Console, console_of
from identa.http.console.routes import console_router


def install(app: FastAPI, container: Container) -> Console:
    """Adds the console's routes, static files and error pages to `app`."""
    console = Console(container)
    app.state.console = console
    app.include_router(console_router(console))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(STATIC)), name="console-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    return console


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_path)
    if request.headers.get("hx-request"):
        # htmx follows this header with a full page load rather than swapping a login form.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return console_of(request).message_page(
        request, title="Not allowed", message=exc.message, status_code=403
    )


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return console_of(request).message_page(
        request,
        title="Please try again",
        message="This form expired or did not come from the console. Reload the page and retry.",
        status_code=403,
    )
