"""What every console page needs: the services, templates, CSRF, the session cookie, the CSP."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from identa.console.service import ConsoleServices
from identa.container import Container
from identa.core.ratelimit import FixedWindowLimiter
from identa.http.csrf import CSRF_FIELD, Csrf
from identa.http.forms import BadForm, read_form

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
PREFIX = "/console"
SESSION_COOKIE = "identa_console"
CSRF_COOKIE = "identa_console_csrf"
CSRF_HEADER = "x-csrf-token"
# Login attempts per e-mail and client IP, and per client IP, in each window (counted per process).
LOGIN_ATTEMPTS_PER_ACCOUNT = 10
LOGIN_ATTEMPTS_PER_IP = 50
LOGIN_WINDOW_SECONDS = 15 * 60


class Console:
    """Shared by the console's routers; one per application (app.state.console)."""

    def __init__(self, container: Container) -> None:
        self.c = container
        self.services = ConsoleServices(container.clock, container.hasher)
        self.csrf = Csrf(container.secret_key)
        self.secure = container.settings.secure_cookies
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html", "xml"], default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.login_per_account = FixedWindowLimiter(
            container.clock, limit=LOGIN_ATTEMPTS_PER_ACCOUNT, window_seconds=LOGIN_WINDOW_SECONDS
        )
        self.login_per_ip = FixedWindowLimiter(
            container.clock, limit=LOGIN_ATTEMPTS_PER_IP, window_seconds=LOGIN_WINDOW_SECONDS
        )

    # -- rendering ---------------------------------------------------------------------------

    def csrf_cookie(self, request: Request) -> tuple[str, bool]:
        existing = request.cookies.get(CSRF_COOKIE)
        if existing and 16 <= len(existing) <= 64:
            return existing, False
        return self.csrf.new_cookie_value(), True

    def render(
        self, request: Request, template: str, *, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """Renders `template` (e.g. "console/audit.html") with the CSP nonce and CSRF token.

        Every template sees `csp_nonce`, `csrf_field`, `csrf_token`, `request` and `staff`
        (None on the login page) besides `context`."""
        cookie, is_new = self.csrf_cookie(request)
        nonce = secrets.token_urlsafe(16)
        context.setdefault("staff", getattr(request.state, "console_staff", None))
        html = self.env.get_template(template).render(
            request=request,
            csp_nonce=nonce,
            csrf_field=CSRF_FIELD,
            csrf_token=self.csrf.token_for(cookie),
            prefix=PREFIX,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
            f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        if is_new:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path=PREFIX,
            )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    def message_page(
        self, request: Request, *, title: str, message: str, status_code: int
    ) -> HTMLResponse:
        return self.render(
            request, "console/message.html", status_code=status_code, title=title, message=message
        )

    # -- forms and CSRF ----------------------------------------------------------------------

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form (parsed once per request; the role guard already checked its CSRF
        token). Raises BadForm for a body that is not a well-formed urlencoded form."""
        cached = getattr(request.state, "console_form", None)
        if isinstance(cached, dict):
            return cached
        form = await read_form(request)
        request.state.console_form = form
        return form

    async def csrf_ok(self, request: Request) -> bool:
        """True when the request carries the token of its CSRF cookie, in the X-CSRF-Token header
        (htmx sends it from the layout) or in the form's csrf_token field."""
        cookie = request.cookies.get(CSRF_COOKIE)
        submitted = request.headers.get(CSRF_HEADER)
        if submitted is None:
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded":
                return False
            try:
                submitted = (await self.form(request)).get(CSRF_FIELD)
            except BadForm:
                return False
        return self.csrf.valid(cookie, submitted)

    # -- the session cookie ------------------------------------------------------------------

    def session_token(self, request: Request) -> str | None:
        return request.cookies.get(SESSION_COOKIE)

    def set_session_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path=PREFIX,
            max_age=self.services.sessions.lifetime_seconds,
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=self.secure
        )


def console_of(request: Request) -> Console:
    console = request.app.state.console
    assert isinstance(console, Console)
    return console
