"""What every hosted page needs: the container, templates, CSRF, cookies and branding."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from identa.clients.models import Client
from identa.container import Container
from identa.http.csrf import CSRF_COOKIE, CSRF_FIELD, Csrf
from identa.http.forms import BadForm, read_form
from identa.http.hosted.render import Brand, Templates
from identa.sessions.models import SsoSession
from identa.sessions.service import COOKIE_NAME
from identa.tenants.service import TenantSettings


class CsrfFailed(Exception):
    pass


class Hosted:
    def __init__(self, container: Container, templates: Templates) -> None:
        self.c = container
        self.templates = templates
        self.csrf = Csrf(container.secret_key)
        self.secure = container.settings.secure_cookies

    # -- branding --------------------------------------------------------------------------

    def brand(self, tenant: TenantSettings, client: Client | None) -> Brand:
        return Brand(
            tenant_name=tenant.friendly_name,
            application=client.name if client else tenant.friendly_name,
            logo_uri=Brand.safe_logo(client.logo_uri if client else None),
            primary_color=Brand.safe_color(client.primary_color if client else None),
            support_email=tenant.support_email,
        )

    async def default_brand(self, db: AsyncSession, client_id: str | None = None) -> Brand:
        tenant = await self.c.tenants.get(db)
        client = await self.c.clients.find(db, client_id) if client_id else None
        if client is None:
            default_id = tenant.extra.get("default_client_id")
            client = (
                await self.c.clients.find(db, default_id) if isinstance(default_id, str) else None
            )
        return self.brand(tenant, client)

    # -- CSRF and forms --------------------------------------------------------------------

    def csrf_cookie(self, request: Request) -> tuple[str, bool]:
        existing = request.cookies.get(CSRF_COOKIE)
        if existing and 16 <= len(existing) <= 64:
            return existing, False
        return self.csrf.new_cookie_value(), True

    def render(
        self,
        request: Request,
        name: str,
        *,
        brand: Brand,
        status_code: int = 200,
        returns_to: Sequence[str] = (),
        **context: Any,
    ) -> HTMLResponse:
        """Renders a hosted page. `returns_to` are the URLs a form on it may end up redirecting
        to (an application's callbacks): browsers apply form-action to every redirect that
        follows a form post, so their origins must be allowed as well as our own."""
        cookie, is_new = self.csrf_cookie(request)
        nonce = secrets.token_urlsafe(16)
        response = self.templates.page(
            name,
            brand=brand,
            status_code=status_code,
            csp_nonce=nonce,
            csrf_field=CSRF_FIELD,
            csrf_token=self.csrf.token_for(cookie),
            **context,
        )
        form_action = " ".join(["'self'", *sorted(_origins(returns_to))])
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' https: http: data:; "
            f"style-src 'self' 'nonce-{nonce}'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        if is_new:
            response.set_cookie(
                CSRF_COOKIE, cookie, httponly=True, samesite="lax", secure=self.secure, path="/"
            )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, after the CSRF check. Raises BadForm or CsrfFailed."""
        data = await read_form(request)
        if not self.csrf.valid(request.cookies.get(CSRF_COOKIE), data.get(CSRF_FIELD)):
            raise CsrfFailed()
        return data

    # -- sessions --------------------------------------------------------------------------

    def session_token(self, request: Request) -> str | None:
        return request.cookies.get(COOKIE_NAME)

    async def current_session(self, db: AsyncSession, request: Request) -> SsoSession | None:
        return await self.c.sso.resolve(db, self.session_token(request))

    def set_session_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            token,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
            max_age=self.c.settings.session_lifetime_seconds,
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=self.secure
        )

    def error_page(
        self,
        request: Request,
        brand: Brand,
        message: str,
        *,
        status_code: int = 400,
        title: str = "Something went wrong",
        start_over: str | None = "/u/login",
    ) -> HTMLResponse:
        return self.render(
            request,
            "error",
            brand=brand,
            status_code=status_code,
            title=title,
            message=message,
            start_over=start_over,
        )


def _origins(urls: Sequence[str]) -> set[str]:
    out = set()
    for url in urls:
        parts = urlsplit(url)
        # Only plain origins reach the header: nothing that could add a directive.
        if parts.scheme in ("http", "https") and parts.netloc and ";" not in parts.netloc:
            out.add(f"{parts.scheme}://{parts.netloc}")
    return out


def first_client(sso: SsoSession | None) -> str | None:
    """The application the session was started for, used for branding and event records."""
    return sso.clients[0] if sso is not None and sso.clients else None


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


__all__ = ["BadForm", "CsrfFailed", "Hosted", "first_client", "see_other"]
