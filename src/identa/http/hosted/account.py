"""Forgotten password, reset and verification links, and the self-service account page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from identa.core.errors import DomainError
from identa.flows.errors import FlowNotFound, TicketInvalid
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.http.hosted.common import CsrfFailed, Hosted, first_client, see_other
from identa.http.hosted.connected import NOTICES as CONNECTED_NOTICES
from identa.http.hosted.connected import connected_accounts
from identa.identity.errors import PasswordPolicyError, TooManyAttempts, WrongCurrentPassword

CSRF_MESSAGE = "Your session on this page expired. Please try again."
RESET_SENT = (
    "If an account exists for that email, we've just sent you an email to reset your password."
)


def router(h: Hosted) -> APIRouter:
    r = APIRouter()

    # -- forgotten password ----------------------------------------------------------------

    @r.get("/u/reset-password/request")
    async def forgot_get(request: Request) -> Response:
        async with h.c.unit_of_work() as uow:
            state = request.query_params.get("state")
            try:
                view = await h.c.flows.view(uow.session, state) if state else None
            except FlowNotFound:
                view = None
            brand = (
                h.brand(view.tenant, view.client) if view else await h.default_brand(uow.session)
            )
            return h.render(request, "forgot", brand=brand, state=view.flow.id if view else "")

    @r.post("/u/reset-password/request")
    async def forgot_post(request: Request) -> Response:
        async with h.c.unit_of_work() as uow:
            db = uow.session
            state = request.query_params.get("state")
            try:
                view = await h.c.flows.view(db, state) if state else None
            except FlowNotFound:
                view = None
            brand = h.brand(view.tenant, view.client) if view else await h.default_brand(db)
            state_id = view.flow.id if view else ""
            try:
                form = await h.form(request)
            except BadForm as exc:
                return h.render(
                    request,
                    "forgot",
                    brand=brand,
                    state=state_id,
                    error=exc.message,
                    status_code=exc.status_code,
                )
            except CsrfFailed:
                return h.render(
                    request,
                    "forgot",
                    brand=brand,
                    state=state_id,
                    error=CSRF_MESSAGE,
                    status_code=403,
                )
            email = form.get("email", "").strip()
            if not email or len(email) > 254:
                return h.render(
                    request,
                    "forgot",
                    brand=brand,
                    state=state_id,
                    status_code=400,
                    error="Enter the email address of your account.",
                    email=email,
                )
            client = view.client if view else await h.c.flows.default_client(db)
            connection = (
                view.connection if view else await h.c.flows.database_connection_for(db, client)
            )
            if connection is not None:  # an application with only social logins has none
                await h.c.account.request_password_reset(
                    db,
                    email=email,
                    client=client,
                    connection=connection,
                    request=request_context(request),
                )
            await uow.commit()
            return h.render(
                request,
                "message",
                brand=brand,
                title="Check your email",
                message=RESET_SENT,
                link=f"/u/login?state={state_id}" if state_id else "/u/login",
                link_text="Back to log in",
            )

    # -- reset link ------------------------------------------------------------------------

    @r.get("/lo/reset")
    async def reset_get(request: Request) -> Response:
        token = request.query_params.get("ticket")
        async with h.c.unit_of_work() as uow:
            try:
                user = await h.c.account.reset_ticket_user(uow.session, token)
            except TicketInvalid as exc:
                brand = await h.default_brand(uow.session)
                return h.error_page(
                    request,
                    brand,
                    exc.message,
                    title="Link expired",
                    start_over="/u/reset-password/request",
                )
            brand = await h.default_brand(uow.session)
            return h.render(request, "reset", brand=brand, ticket=token, email=user.email)

    @r.post("/lo/reset")
    async def reset_post(request: Request) -> Response:
        token = request.query_params.get("ticket")
        async with h.c.unit_of_work() as uow:
            db = uow.session
            brand = await h.default_brand(db)
            try:
                user = await h.c.account.reset_ticket_user(db, token)
            except TicketInvalid as exc:
                return h.error_page(
                    request,
                    brand,
                    exc.message,
                    title="Link expired",
                    start_over="/u/reset-password/request",
                )
            email = user.email

            def page(error: str, status: int, rules: list[str] | None = None) -> Response:
                return h.render(
                    request,
                    "reset",
                    brand=brand,
                    ticket=token,
                    email=email,
                    error=error,
                    password_rules=rules or [],
                    status_code=status,
                )

            try:
                form = await h.form(request)
            except BadForm as exc:
                return page(exc.message, exc.status_code)
            except CsrfFailed:
                return page(CSRF_MESSAGE, 403)
            password = form.get("password", "")
            if password != form.get("password_confirm", ""):
                return page("The two passwords do not match.", 400)
            try:
                _, result_url = await h.c.account.reset_password(
                    db, token=token, new_password=password, request=request_context(request)
                )
            except PasswordPolicyError as exc:
                await uow.commit()
                return page("Your password is too weak.", 400, exc.problems)
            except DomainError as exc:
                await uow.commit()
                return page(exc.message, 400)
            await uow.commit()
        response = h.render(
            request,
            "message",
            brand=brand,
            title="Password changed",
            message="Your password has been changed. You can now log in with the new one.",
            link=result_url or "/u/login",
            link_text="Log in",
        )
        h.clear_session_cookie(response)
        return response

    # -- verification link -----------------------------------------------------------------

    @r.get("/lo/verify_email")
    async def verify(request: Request) -> Response:
        async with h.c.unit_of_work() as uow:
            db = uow.session
            brand = await h.default_brand(db)
            try:
                user, result_url = await h.c.account.verify_email(
                    db, token=request.query_params.get("ticket"), request=request_context(request)
                )
            except TicketInvalid as exc:
                await uow.commit()
                return h.error_page(
                    request, brand, exc.message, title="Link expired", start_over="/u/account"
                )
            email = user.email
            await uow.commit()
        return h.render(
            request,
            "message",
            brand=brand,
            title="Email verified",
            message=f"Thank you: {email} is verified.",
            link=result_url or "/u/account",
            link_text="Continue",
        )

    # -- account page ----------------------------------------------------------------------

    async def account_page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
        async with h.c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            user = await h.c.users.get(db, sso.user_id)
            brand = await h.default_brand(db, first_client(sso))
            has_password = await h.c.users.database_credential(db, user) is not None
            apps = []
            for consent in await h.c.consents.for_user(db, user.user_id):
                client = await h.c.clients.find(db, consent.client_id)
                apps.append(
                    {
                        "client_id": consent.client_id,
                        "name": client.name if client else consent.client_id,
                        "scopes": " ".join(consent.scopes),
                    }
                )
            connected = await connected_accounts(h, db, user, sso)
            await uow.commit()
            return h.render(
                request,
                "account",
                brand=brand,
                user=user,
                status_code=status_code,
                has_password=has_password,
                apps=apps,
                **connected,
                **extra,
            )

    @r.get("/u/account")
    async def account_get(request: Request) -> Response:
        notice = {
            "profile_saved": "Your profile has been saved.",
            "verification_sent": "We've sent you a new verification email.",
            "access_revoked": "The application no longer has access to your account.",
            **CONNECTED_NOTICES,
        }.get(request.query_params.get("notice", ""))
        return await account_page(request, notice=notice)

    async def signed_in_form(request: Request) -> tuple[dict[str, str] | None, Response | None]:
        try:
            return await h.form(request), None
        except BadForm as exc:
            return None, await account_page(request, status_code=exc.status_code, error=exc.message)
        except CsrfFailed:
            return None, await account_page(request, status_code=403, error=CSRF_MESSAGE)

    @r.post("/u/account/profile")
    async def profile_post(request: Request) -> Response:
        form, failed = await signed_in_form(request)
        if failed is not None or form is None:
            return failed or see_other("/u/account")
        async with h.c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            user = await h.c.users.get(db, sso.user_id)
            changes = {
                k: form.get(k, "")
                for k in ("name", "given_name", "family_name", "nickname", "picture")
            }
            try:
                await h.c.account.update_profile(db, user, changes)
            except DomainError as exc:
                await uow.rollback()
                return await account_page(
                    request, status_code=400, profile_error=exc.message, values=changes
                )
            await uow.commit()
        return see_other("/u/account?notice=profile_saved")

    @r.post("/u/account/password")
    async def password_post(request: Request) -> Response:
        form, failed = await signed_in_form(request)
        if failed is not None or form is None:
            return failed or see_other("/u/account")
        async with h.c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            user = await h.c.users.get(db, sso.user_id)
            new_password = form.get("new_password", "")
            error: str | None = None
            rules: list[str] = []
            if new_password != form.get("new_password_confirm", ""):
                error = "The two new passwords do not match."
            else:
                try:
                    await h.c.account.change_password(
                        db,
                        user,
                        current_password=form.get("current_password", ""),
                        new_password=new_password,
                        client_id=first_client(sso),
                        request=request_context(request),
                    )
                except PasswordPolicyError as exc:
                    error, rules = "Your new password is too weak.", exc.problems
                except WrongCurrentPassword as exc:
                    error = exc.message
                except TooManyAttempts:
                    error = (
                        "Too many wrong passwords: changing the password is blocked from this "
                        "address. Use the link we emailed you, or reset your password."
                    )
                except DomainError as exc:
                    error = exc.message
            await uow.commit()
        if error is not None:
            return await account_page(
                request, status_code=400, password_error=error, password_rules=rules
            )
        response = see_other("/u/login?notice=password_changed")
        h.clear_session_cookie(response)
        return response

    @r.post("/u/account/verification")
    async def resend_post(request: Request) -> Response:
        _form, failed = await signed_in_form(request)
        if failed is not None:
            return failed
        async with h.c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            user = await h.c.users.get(db, sso.user_id)
            if not user.email_verified:
                await h.c.account.resend_verification(
                    db, user, client_id=first_client(sso), request=request_context(request)
                )
            await uow.commit()
        return see_other("/u/account?notice=verification_sent")

    @r.post("/u/account/applications/revoke")
    async def revoke_application(request: Request) -> Response:
        form, failed = await signed_in_form(request)
        if failed is not None or form is None:
            return failed or see_other("/u/account")
        async with h.c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            await h.c.consents.revoke(db, user_id=sso.user_id, client_id=form.get("client_id", ""))
            await uow.commit()
        return see_other("/u/account?notice=access_revoked")

    @r.post("/u/logout")
    async def logout_post(request: Request) -> Response:
        _form, failed = await signed_in_form(request)
        if failed is not None:
            return failed
        async with h.c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            await h.c.account.logout(
                db,
                sso,
                client_id=first_client(sso),
                request=request_context(request),
            )
            await uow.commit()
        response = see_other("/u/login?notice=logged_out")
        h.clear_session_cookie(response)
        return response

    return r
