"""Login, sign-up and forgotten-password pages."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from identa.core.errors import DomainError, InvalidInput
from identa.flows.errors import FlowNotFound
from identa.flows.service import FlowView
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.http.hosted.common import CsrfFailed, Hosted, see_other
from identa.http.hosted.render import Brand
from identa.http.hosted.rules_pages import RULE_ERRORS, rules_response
from identa.http.hosted.social import social_start_url
from identa.identity.errors import (
    PasswordPolicyError,
    TooManyAttempts,
    UserBlocked,
    UserExists,
    UsernameExists,
    WrongCredentials,
)
from identa.identity.service import NewDatabaseUser

CSRF_MESSAGE = "Your session on this page expired. Please try again."
NOTICES = {
    "password_changed": "Your password has been changed. Please log in again.",
    "logged_out": "You have been logged out.",
}


def _flow_query(request: Request) -> str | None:
    return request.query_params.get("state")


def router(h: Hosted) -> APIRouter:
    r = APIRouter()

    async def start_flow(request: Request, screen: str) -> Response:
        """A page opened without a flow starts one and shows it at once (no redirect hop)."""
        q = request.query_params
        async with h.c.unit_of_work() as uow:
            try:
                flow = await h.c.flows.start(
                    uow.session,
                    client_id=q.get("client_id"),
                    connection=q.get("connection"),
                    screen=screen,
                )
                view = await h.c.flows.view(uow.session, flow.id)
            except DomainError as exc:
                brand = await h.default_brand(uow.session)
                return h.error_page(request, brand, exc.message, start_over=None)
            await uow.commit()
        upstream = flow.request.get("upstream_connection")
        if upstream:
            return see_other(social_start_url(view.flow.id, str(upstream)))
        brand = h.brand(view.tenant, view.client)
        if screen == "signup":
            return signup_or_refusal(request, view, brand)
        return login_page(request, view, brand, notice=NOTICES.get(q.get("notice", "")))

    def login_page(
        request: Request,
        view: FlowView,
        brand: Brand,
        *,
        error: str | None = None,
        identifier: str = "",
        status_code: int = 200,
        notice: str | None = None,
    ) -> Response:
        return h.render(
            request,
            "login",
            returns_to=view.client.callbacks or [],
            brand=brand,
            status_code=status_code,
            state=view.flow.id,
            error=error,
            identifier=identifier,
            notice=notice,
            requires_username=view.requires_username,
            signup_allowed=view.signup_allowed,
            password_login=view.password_login,
            buttons=view.buttons,
        )

    def signup_or_refusal(request: Request, view: FlowView, brand: Brand) -> Response:
        if not view.signup_allowed:
            return h.error_page(
                request,
                brand,
                "Sign-up is disabled for this application.",
                status_code=403,
                start_over=f"/u/login?state={view.flow.id}",
            )
        return signup_page(request, view, brand)

    def signup_page(
        request: Request,
        view: FlowView,
        brand: Brand,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
        password_rules: list[str] | None = None,
    ) -> Response:
        return h.render(
            request,
            "signup",
            returns_to=view.client.callbacks or [],
            brand=brand,
            status_code=status_code,
            state=view.flow.id,
            errors=errors or {},
            values=values or {},
            requires_username=view.requires_username,
            password_rules=password_rules or [],
        )

    @r.get("/u/login")
    async def login_get(request: Request) -> Response:
        state = _flow_query(request)
        if not state:
            return await start_flow(request, "login")
        async with h.c.unit_of_work() as uow:
            try:
                view = await h.c.flows.view(uow.session, state)
            except FlowNotFound as exc:
                brand = await h.default_brand(uow.session)
                return h.error_page(request, brand, exc.message, status_code=400)
            notice = NOTICES.get(request.query_params.get("notice", ""))
            hint = (view.flow.request.get("authorize") or {}).get("login_hint") or ""
            return login_page(
                request,
                view,
                h.brand(view.tenant, view.client),
                notice=notice,
                identifier=str(hint)[:254],
            )

    @r.post("/u/login")
    async def login_post(request: Request) -> Response:
        async with h.c.unit_of_work() as uow:
            db = uow.session
            try:
                view = await h.c.flows.view(db, _flow_query(request))
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            brand = h.brand(view.tenant, view.client)
            try:
                form = await h.form(request)
            except BadForm as exc:
                return login_page(
                    request, view, brand, error=exc.message, status_code=exc.status_code
                )
            except CsrfFailed:
                return login_page(request, view, brand, error=CSRF_MESSAGE, status_code=403)
            identifier = form.get("username", form.get("email", "")).strip()
            password = form.get("password", "")
            if not identifier or not password:
                return login_page(
                    request,
                    view,
                    brand,
                    identifier=identifier,
                    status_code=400,
                    error="Enter your email and your password.",
                )
            try:
                outcome = await h.c.flows.login(
                    db,
                    view,
                    identifier=identifier,
                    password=password,
                    request=request_context(request),
                    previous_session_token=h.session_token(request),
                )
            except RULE_ERRORS as exc:
                await uow.commit()  # the rules' metadata changes and their `f` event are kept
                return rules_response(h, request, view.flow, brand, exc)
            except (WrongCredentials, TooManyAttempts, UserBlocked, InvalidInput) as exc:
                await uow.commit()  # failed attempts and their events are kept
                status = 429 if isinstance(exc, TooManyAttempts) else 401
                if isinstance(exc, InvalidInput):
                    status = 400
                message = exc.message
                if isinstance(exc, UserBlocked):
                    message = "Your account has been blocked. Contact support for help."
                return login_page(
                    request,
                    view,
                    brand,
                    error=message,
                    identifier=identifier,
                    status_code=status,
                )
            await uow.commit()
        response = see_other(outcome.redirect_to)
        h.set_session_cookie(response, outcome.session.token)
        return response

    @r.get("/u/signup")
    async def signup_get(request: Request) -> Response:
        state = _flow_query(request)
        if not state:
            return await start_flow(request, "signup")
        async with h.c.unit_of_work() as uow:
            try:
                view = await h.c.flows.view(uow.session, state)
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(uow.session), exc.message)
            brand = h.brand(view.tenant, view.client)
            return signup_or_refusal(request, view, brand)

    @r.post("/u/signup")
    async def signup_post(request: Request) -> Response:
        async with h.c.unit_of_work() as uow:
            db = uow.session
            try:
                view = await h.c.flows.view(db, _flow_query(request))
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            brand = h.brand(view.tenant, view.client)
            try:
                form = await h.form(request)
            except BadForm as exc:
                return signup_page(
                    request, view, brand, errors={"form": exc.message}, status_code=exc.status_code
                )
            except CsrfFailed:
                return signup_page(
                    request, view, brand, errors={"form": CSRF_MESSAGE}, status_code=403
                )
            values = {k: form.get(k, "").strip() for k in ("email", "username", "name")}
            password = form.get("password", "")
            errors: dict[str, str] = {}
            if not values["email"]:
                errors["email"] = "Enter your email address."
            if not password:
                errors["password"] = "Choose a password."
            if view.requires_username and not values["username"]:
                errors["username"] = "Choose a username."
            if errors:
                return signup_page(
                    request, view, brand, errors=errors, values=values, status_code=400
                )
            view_id = view.flow.id
            new = NewDatabaseUser(
                email=values["email"],
                password=password,
                username=values["username"] or None,
                name=values["name"] or None,
            )
            try:
                outcome = await h.c.flows.signup(
                    db,
                    view,
                    new=new,
                    request=request_context(request),
                    previous_session_token=h.session_token(request),
                )
            except RULE_ERRORS as exc:
                await uow.commit()
                return rules_response(h, request, view.flow, brand, exc)
            except (UserExists, UsernameExists) as exc:
                await uow.commit()
                # The failed insert rolled the transaction back: read the flow afresh.
                async with h.c.unit_of_work() as fresh:
                    view = await h.c.flows.view(fresh.session, view_id)
                    field = "username" if isinstance(exc, UsernameExists) else "email"
                    message = (
                        "This username is already taken."
                        if field == "username"
                        else "An account with this email already exists. Log in instead, or "
                        "reset your password."
                    )
                    return signup_page(
                        request,
                        view,
                        brand,
                        values=values,
                        status_code=409,
                        errors={field: message},
                    )
            except PasswordPolicyError as exc:
                await uow.commit()
                return signup_page(
                    request,
                    view,
                    brand,
                    values=values,
                    status_code=400,
                    errors={"password": "Your password is too weak."},
                    password_rules=exc.problems,
                )
            except DomainError as exc:
                await uow.commit()
                field = str(exc.details.get("field") or "")
                if exc.code == "invalid_email":
                    field = "email"
                elif exc.code == "invalid_username":
                    field = "username"
                elif exc.code == "password_too_long":
                    field = "password"
                return signup_page(
                    request,
                    view,
                    brand,
                    values=values,
                    status_code=400,
                    errors={field or "form": exc.message},
                )
            await uow.commit()
        response = see_other(outcome.redirect_to)
        h.set_session_cookie(response, outcome.session.token)
        return response

    return r
