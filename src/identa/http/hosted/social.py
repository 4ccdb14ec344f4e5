"""Hosted pages of a login through an upstream identity provider: the hop to the provider and
its callback at /login/callback (the redirect URI registered at every provider, as with Auth0).
The callback also ends the round trips of prompt-mode linking (hosted.link_prompt) and of
connecting an account from the account page (hosted.connected)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from identa.connections.social.upstream import UpstreamFailed, display_name
from identa.core.errors import DomainError
from identa.flows.errors import FlowNotFound
from identa.flows.models import LoginOutcome
from identa.flows.social import CONNECT, CallbackRefused, NeedsLinkPrompt, Pending
from identa.http.context import request_context
from identa.http.forms import BadForm, read_form
from identa.http.hosted import connected, link_prompt
from identa.http.hosted.common import Hosted, see_other
from identa.http.hosted.connected import finish_connect
from identa.http.hosted.rules_pages import RULE_ERRORS, rules_response
from identa.http.hosted.upstream_hop import (
    BROWSER_COOKIE,
    CALLBACK_PATH,
    set_link_cookie,
    upstream_redirect,
)
from identa.identity.errors import UserBlocked

CALLBACK_PARAMS = ("state", "code", "error", "error_description", "user", "iss")

REFUSALS = {
    "access_denied": "You did not allow {provider} to share your account. Nothing was changed.",
    "upstream_error": "{provider} could not log you in: {detail}",
    "timeout": "{provider} did not answer in time. Please try again in a moment.",
    "unreachable": "{provider} cannot be reached right now. Please try again later.",
    "invalid_id_token": "{provider} sent a login response that failed our security checks.",
    "invalid_profile": "{provider} sent a profile we cannot use.",
    "missing_email": "{provider} did not share your e-mail address, which this application needs.",
    "misconfigured": "The {provider} connection is not set up correctly.",
    "issuer_mismatch": "The login response did not come from {provider}, so it was refused.",
}


def social_start_url(flow_id: str, connection: str) -> str:
    return "/u/login/social?" + urlencode({"state": flow_id, "connection": connection})


def router(h: Hosted) -> APIRouter:
    r = APIRouter()
    c = h.c

    def refusal_page(request: Request, brand: Any, message: str, status_code: int) -> Response:
        response = h.error_page(
            request, brand, message, status_code=status_code, title="We could not log you in"
        )
        response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
        return response

    def logged_in(outcome: LoginOutcome) -> Response:
        response = see_other(outcome.redirect_to)
        h.set_session_cookie(response, outcome.session.token)
        response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
        return response

    @r.get("/u/login/social")
    async def start(request: Request) -> Response:
        """Leaves for the provider; a browser-bound cookie ties the callback to this browser."""
        q = request.query_params
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                view = await c.flows.view(db, q.get("state"))
                connection = await c.social.connection_for(db, view, q.get("connection") or "")
            except DomainError as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            try:
                begun = await c.social.begin(db, view, connection)
            except UpstreamFailed as exc:
                c.social.record_failure(
                    db,
                    client=view.client,
                    connection=connection,
                    reason=exc.reason,
                    message=exc.message,
                    request=request_context(request),
                )
                await uow.commit()
                template = REFUSALS.get(exc.reason, "{provider}: {detail}")
                message = template.format(provider=display_name(connection), detail=exc.message)
                return refusal_page(request, h.brand(view.tenant, view.client), message, 502)
            await uow.commit()
        return upstream_redirect(h, begun)

    @r.post(CALLBACK_PATH)
    async def callback_post(request: Request) -> Response:
        """response_mode=form_post (Apple): continue as a same-site GET, so that the
        SameSite=Lax browser cookie comes along with it."""
        try:
            form = await read_form(request)
        except BadForm as exc:
            return h.error_page(request, await _brand(), exc.message)
        params = {k: form[k] for k in CALLBACK_PARAMS if form.get(k)}
        return see_other(f"{CALLBACK_PATH}?{urlencode(params)}")

    @r.get(CALLBACK_PATH)
    async def callback(request: Request) -> Response:
        q = request.query_params
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                pending = await c.social.take_callback(
                    db, q.get("state"), request.cookies.get(BROWSER_COOKIE)
                )
            except CallbackRefused as exc:
                c.social.record_failure(
                    db,
                    client=exc.client,
                    connection=exc.connection,
                    reason=exc.reason,
                    message=exc.message,
                    request=ctx,
                )
                await uow.commit()
                brand = await h.default_brand(db, exc.client.client_id if exc.client else None)
                return refusal_page(request, brand, exc.message, 400)
            brand = await h.default_brand(db, pending.client.client_id)
            error = q.get("error")
            if error or not q.get("code"):
                reason = "access_denied" if error == "access_denied" else "upstream_error"
                detail = (q.get("error_description") or error or "no authorization code")[:300]
                c.social.record_failure(
                    db,
                    client=pending.client,
                    connection=pending.connection,
                    reason=reason,
                    message=f"{error or 'invalid_response'}: {detail}",
                    request=ctx,
                )
                await uow.commit()
                message = REFUSALS[reason].format(
                    provider=display_name(pending.connection), detail=detail
                )
                return refusal_page(request, brand, message, 400 if error else 502)
            await uow.commit()
        try:
            result = await c.social.exchange(
                pending, q["code"], q.get("user"), response_issuer=q.get("iss")
            )
        except UpstreamFailed as exc:
            return await failed(request, pending, brand, exc.reason, exc.message)
        if pending.purpose == CONNECT:
            response = await finish_connect(h, request, pending, result, brand)
            response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
            return response
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                outcome = await c.social.complete(
                    db,
                    pending,
                    result,
                    request=ctx,
                    previous_session_token=h.session_token(request),
                )
            except UserBlocked:
                await uow.commit()
                return refusal_page(
                    request,
                    brand,
                    "Your account has been blocked. Contact support for help.",
                    401,
                )
            except FlowNotFound as exc:
                return refusal_page(request, brand, exc.message, 400)
            except RULE_ERRORS as exc:
                flow = await c.post_login.flow(db, pending.flow_id)
                await uow.commit()
                response = rules_response(h, request, flow, brand, exc)
                response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
                return response
            except DomainError as exc:
                await uow.rollback()
                return await failed(request, pending, brand, exc.code, exc.message)
            await uow.commit()
        if isinstance(outcome, NeedsLinkPrompt):
            response = see_other(f"/u/link?state={outcome.flow_id}")
            response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
            set_link_cookie(h, response, outcome.browser_token)
            return response
        return logged_in(outcome)

    async def failed(
        request: Request, pending: Pending, brand: Any, reason: str, message: str
    ) -> Response:
        async with c.unit_of_work() as uow:
            c.social.record_failure(
                uow.session,
                client=pending.client,
                connection=pending.connection,
                reason=reason,
                message=message,
                request=request_context(request),
            )
            await uow.commit()
        template = REFUSALS.get(reason, "{provider} could not log you in: {detail}")
        text = template.format(provider=display_name(pending.connection), detail=message)
        status = 504 if reason == "timeout" else 502 if reason == "unreachable" else 400
        return refusal_page(request, brand, text, status)

    async def _brand() -> Any:
        async with c.unit_of_work() as uow:
            return await h.default_brand(uow.session)

    r.include_router(link_prompt.router(h))
    r.include_router(connected.router(h))
    return r
