"""Who is asking, and may they: the signed-in staff member, role checks, the audit call.

Pages use them as FastAPI dependencies:

    @r.get("/console/things")
    async def things(request: Request, staff: Staff = Depends(require_role(ADMIN, ANALYST)),
                     uow: UnitOfWork = Depends(console_uow)) -> Response: ...

Every console route also runs `role_guard` (installed on the console router): it sends anyone
not signed in to the login page, checks the CSRF token of every non-GET request, refuses any
non-GET request from an analyst and changes to segments or settings from support.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from identa.console.models import ADMIN, ANALYST, ROLES, SUPPORT, AuditEntry
from identa.db.uow import UnitOfWork
from identa.http.console.common import PREFIX, console_of
from identa.http.context import request_context

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths that need no signed-in staff member (the login form checks its own CSRF token).
PUBLIC_PATHS = frozenset({f"{PREFIX}/login"})
# Paths that any signed-in staff member may POST to, whatever the role.
ANY_ROLE_ACTIONS = frozenset({f"{PREFIX}/logout"})
# What support may not change (admins only); analysts change nothing at all.
ADMIN_ONLY_CHANGES = (f"{PREFIX}/segments", f"{PREFIX}/settings", f"{PREFIX}/staff")


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a console request."""

    id: str
    email: str
    name: str
    role: str
    session_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def read_only(self) -> bool:
        return self.role == ANALYST

    @property
    def may_act_on_customers(self) -> bool:
        return self.role in (ADMIN, SUPPORT)

    @property
    def may_change_settings(self) -> bool:
        """Segments, settings and staff: admins only."""
        return self.role == ADMIN


class LoginRequired(Exception):
    """Not signed in (or the session ended): answered with the login page's address."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """Signed in, but the role does not allow this: answered with a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfRefused(Exception):
    """A non-GET request without the page's CSRF token: answered with a 403 page."""


async def console_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work. The page commits it (with its audit entries); leaving
    without a commit rolls everything back."""
    async with console_of(request).c.unit_of_work() as uow:
        yield uow


async def optional_staff(request: Request) -> Staff | None:
    """The signed-in staff member, or None. The session lookup (and its idle-expiry touch) runs
    in a short transaction of its own, so a page that only reads need not commit."""
    cached = getattr(request.state, "console_staff", None)
    if isinstance(cached, Staff):
        return cached
    console = console_of(request)
    token = console.session_token(request)
    if not token:
        return None
    async with console.c.unit_of_work() as uow:
        found = await console.services.sessions.resolve(uow.session, token)
        if found is None:
            return None
        session, account = found
        staff = Staff(
            id=account.id,
            email=account.email,
            name=account.name,
            role=account.role,
            session_id=session.id,
        )
        await uow.commit()
    request.state.console_staff = staff
    return staff


def _here(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


async def current_staff(request: Request, staff: Staff | None = Depends(optional_staff)) -> Staff:
    """The signed-in staff member; anyone else is sent to the login page."""
    if staff is None:
        raise LoginRequired(_here(request))
    return staff


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, Staff]]:
    """A dependency: the signed-in staff member, if their role is one of `roles` (else 403)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"require_role takes roles among {ROLES}, got {roles}")
    allowed = frozenset(roles)

    async def dependency(staff: Staff = Depends(current_staff)) -> Staff:
        if staff.role not in allowed:
            raise Forbidden(f"This page is for {_roles_text(allowed)} only.")
        return staff

    return dependency


def _roles_text(roles: frozenset[str]) -> str:
    ordered = [role for role in ROLES if role in roles]
    return " and ".join(f"{role}s" for role in ordered)


async def role_guard(request: Request, staff: Staff | None = Depends(optional_staff)) -> None:
    """Runs before every console route (see the module docstring)."""
    path = request.url.path.rstrip("/") or "/"
    if path in PUBLIC_PATHS:
        return
    if staff is None:
        raise LoginRequired(_here(request) if request.method in SAFE_METHODS else PREFIX + "/")
    if request.method in SAFE_METHODS:
        return
    if not await console_of(request).csrf_ok(request):
        raise CsrfRefused()
    if path in ANY_ROLE_ACTIONS:
        return
    if staff.role == ANALYST:
        raise Forbidden(
            "Analysts have read-only access: this action needs a support or admin role."
        )
    if staff.role == SUPPORT and path.startswith(ADMIN_ONLY_CHANGES):
        raise Forbidden("Support may act on customers but not change segments or settings.")


def next_path(value: str | None) -> str:
    """A post-login destination inside the console only (no open redirect)."""
    if (
        value
        and value.startswith(PREFIX + "/")
        and not value.startswith("//")
        and "\\" not in value
        and "\n" not in value
        and "\r" not in value
    ):
        return value
    return PREFIX + "/"


def login_url(next_value: str) -> str:
    return f"{PREFIX}/login?next={quote(next_path(next_value), safe='/')}"


async def audit(
    db: AsyncSession,
    request: Request,
    staff: Staff,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "success",
) -> AuditEntry:
    """Records one staff action in `db`, the page's unit of work: it is kept only if the page
    commits, that is, with the action itself. `action` is a dotted name such as
    "customer.block"; `outcome` is "success", "failure" or "denied"."""
    return await console_of(request).services.audit.record(
        db,
        staff_id=staff.id,
        staff_email=staff.email,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
        outcome=outcome,
        ip=request_context(request).ip,
    )
