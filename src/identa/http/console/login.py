"""The console's login and logout: CSRF-checked forms, attempt limits, audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from identa.console.errors import StaffDisabled, WrongStaffCredentials
from identa.http.console.auth import Staff, current_staff, next_path, optional_staff
from identa.http.console.common import PREFIX, Console
from identa.http.context import request_context
from identa.http.forms import BadForm

CSRF_MESSAGE = "Your session on this page expired. Please try again."
LOGGED_OUT = "You have been logged out."
MAX_EMAIL = 320


def router(console: Console) -> APIRouter:
    r = APIRouter()

    def login_page(
        request: Request,
        *,
        error: str | None = None,
        email: str = "",
        status_code: int = 200,
        notice: str | None = None,
    ) -> Response:
        return console.render(
            request,
            "console/login.html",
            status_code=status_code,
            staff=None,
            error=error,
            email=email,
            notice=notice,
            next=next_path(request.query_params.get("next")),
        )

    @r.get(f"{PREFIX}/login")
    async def login_get(
        request: Request, staff: Staff | None = Depends(optional_staff)
    ) -> Response:
        if staff is not None:
            return RedirectResponse(next_path(request.query_params.get("next")), 303)
        notice = LOGGED_OUT if request.query_params.get("logged_out") else None
        return login_page(request, notice=notice)

    @r.post(f"{PREFIX}/login")
    async def login_post(request: Request) -> Response:
        try:
            form = await console.form(request)
        except BadForm as exc:
            return login_page(request, error=exc.message, status_code=exc.status_code)
        if not await console.csrf_ok(request):
            return login_page(request, error=CSRF_MESSAGE, status_code=403)
        email = form.get("email", "").strip()[:MAX_EMAIL]
        password = form.get("password", "")
        if not email or not password:
            return login_page(
                request, email=email, error="Enter your email and your password.", status_code=400
            )
        ctx = request_context(request)
        ip = ctx.ip or "unknown"
        per_ip = console.login_per_ip.hit_now(ip)
        per_account = console.login_per_account.hit_now(f"{email.lower()}|{ip}")
        services = console.services
        async with console.c.unit_of_work() as uow:
            db = uow.session
            if not (per_ip.allowed and per_account.allowed):
                wait = max(per_ip.retry_after, per_account.retry_after)
                await services.audit.record(
                    db,
                    staff_id=None,
                    staff_email=email,
                    action="console.login",
                    outcome="denied",
                    details={"reason": "too_many_attempts"},
                    ip=ctx.ip,
                )
                await uow.commit()
                minutes = max(1, (wait + 59) // 60)
                response = login_page(
                    request,
                    email=email,
                    status_code=429,
                    error=f"Too many login attempts. Try again in {minutes} minute(s).",
                )
                response.headers["Retry-After"] = str(wait)
                return response
            try:
                account = await services.staff.authenticate(db, email, password)
            except (WrongStaffCredentials, StaffDisabled) as exc:
                disabled = isinstance(exc, StaffDisabled)
                await services.audit.record(
                    db,
                    staff_id=None,
                    staff_email=email,
                    action="console.login",
                    outcome="failure",
                    details={"reason": "disabled" if disabled else "wrong_credentials"},
                    ip=ctx.ip,
                )
                await uow.commit()
                return login_page(
                    request, email=email, error=exc.message, status_code=403 if disabled else 401
                )
            issued = await services.sessions.start(
                db,
                account,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                replaces_token=console.session_token(request),
            )
            await services.audit.record(
                db,
                staff_id=account.id,
                staff_email=account.email,
                action="console.login",
                outcome="success",
                ip=ctx.ip,
            )
            await uow.commit()
        response = RedirectResponse(next_path(form.get("next")), 303)
        console.set_session_cookie(response, issued.token)
        return response

    @r.post(f"{PREFIX}/logout")
    async def logout(request: Request, staff: Staff = Depends(current_staff)) -> Response:
        token = console.session_token(request)
        async with console.c.unit_of_work() as uow:
            if token:
                await console.services.sessions.revoke_token(uow.session, token)
            await console.services.audit.record(
                uow.session,
                staff_id=staff.id,
                staff_email=staff.email,
                action="console.logout",
                ip=request_context(request).ip,
            )
            await uow.commit()
        response = RedirectResponse(f"{PREFIX}/login?logged_out=1", 303)
        console.clear_session_cookie(response)
        return response

    return r
