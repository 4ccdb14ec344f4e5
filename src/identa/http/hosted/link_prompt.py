"""The prompt-mode linking page: an account with the incoming identity's e-mail exists, and the
customer proves it is theirs before the identity joins it: with its password, or by logging in
through one of its own providers (/u/link/social, back through /login/callback); or keeps the
two accounts apart."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from identa.connections.social.upstream import UpstreamFailed, display_name
from identa.core.errors import DomainError
from identa.flows.errors import FlowNotFound
from identa.flows.models import FlowView
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.http.hosted.common import CsrfFailed, Hosted, see_other
from identa.http.hosted.rules_pages import RULE_ERRORS, rules_response
from identa.http.hosted.upstream_hop import (
    BROWSER_COOKIE,
    CALLBACK_PATH,
    LINK_COOKIE,
    LINK_PATH,
    upstream_redirect,
)
from identa.identity.errors import TooManyAttempts, WrongCredentials

OTHER_BROWSER = "This page belongs to a login in another browser. Please log in again."


def router(h: Hosted) -> APIRouter:
    r = APIRouter()
    c = h.c

    async def link_page(
        request: Request, view: FlowView, *, error: str | None = None, status_code: int = 200
    ) -> Response:
        async with c.unit_of_work() as uow:
            db = uow.session
            user, _, connection = await c.social.prompts.pending_link(db, view)
            has_password = await c.social.prompts.has_password(db, user)
            providers = await c.social.prompts.proof_providers(db, view, user)
        return h.render(
            request,
            "link",
            brand=h.brand(view.tenant, view.client),
            returns_to=view.client.callbacks or [],
            status_code=status_code,
            state=view.flow.id,
            email=user.email,
            provider=display_name(connection),
            has_password=has_password,
            providers=[(b.connection, b.label) for b in providers],
            error=error,
        )

    def other_browser(request: Request, view: FlowView) -> Response | None:
        """A 403 page unless this browser holds the flow's link cookie."""
        if c.social.prompts.held_by(view, request.cookies.get(LINK_COOKIE)):
            return None
        return h.error_page(
            request, h.brand(view.tenant, view.client), OTHER_BROWSER, status_code=403
        )

    @r.get("/u/link")
    async def link_get(request: Request) -> Response:
        async with c.unit_of_work() as uow:
            try:
                view = await c.flows.view(uow.session, request.query_params.get("state"))
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(uow.session), exc.message)
        refused = other_browser(request, view)
        if refused is not None:
            return refused
        try:
            return await link_page(request, view)
        except DomainError as exc:
            return h.error_page(request, h.brand(view.tenant, view.client), exc.message)

    @r.get("/u/link/social")
    async def link_by_provider(request: Request) -> Response:
        """Proves the existing account by logging in through one of its own providers."""
        q = request.query_params
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                view = await c.flows.view(db, q.get("state"))
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            brand = h.brand(view.tenant, view.client)
            refused = other_browser(request, view)
            if refused is not None:
                return refused
            try:
                begun = await c.social.prompts.begin_proof(db, view, q.get("connection") or "")
            except UpstreamFailed as exc:
                return h.error_page(request, brand, exc.message, status_code=502)
            except DomainError as exc:
                return h.error_page(request, brand, exc.message)
            await uow.commit()
        return upstream_redirect(h, begun)

    @r.post("/u/link")
    async def link_post(request: Request) -> Response:
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                view = await c.flows.view(db, request.query_params.get("state"))
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            refused = other_browser(request, view)
            if refused is not None:
                return refused
            try:
                form = await h.form(request)
            except (BadForm, CsrfFailed):
                return await link_page(
                    request, view, error="Your session on this page expired.", status_code=403
                )
            try:
                if form.get("action") == "separate":
                    outcome = await c.social.prompts.keep_separate(
                        db, view, request=ctx, previous_session_token=h.session_token(request)
                    )
                else:
                    outcome = await c.social.prompts.link_with_password(
                        db,
                        view,
                        password=form.get("password", ""),
                        request=ctx,
                        previous_session_token=h.session_token(request),
                    )
            except (WrongCredentials, TooManyAttempts) as exc:
                await uow.commit()  # failed attempts and their events are kept
                message = "Wrong password." if isinstance(exc, WrongCredentials) else exc.message
                return await link_page(request, view, error=message, status_code=401)
            except RULE_ERRORS as exc:
                await uow.commit()
                return rules_response(h, request, view.flow, h.brand(view.tenant, view.client), exc)
            except DomainError as exc:
                await uow.rollback()
                return h.error_page(request, h.brand(view.tenant, view.client), exc.message)
            await uow.commit()
        response = see_other(outcome.redirect_to)
        h.set_session_cookie(response, outcome.session.token)
        response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
        response.delete_cookie(LINK_COOKIE, path=LINK_PATH)
        return response

    return r
