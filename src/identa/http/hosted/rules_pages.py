"""What the rules and progressive profiling add to the hosted login: refusals, `/continue` after
a redirect rule (Auth0 §5.4), and the profiling form shown before the redirect to the app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.flows.errors import FlowNotFound
from identa.flows.models import LoginFlow, subject_for
from identa.flows.post_login import RulesDenied, RulesFailed, RulesRedirect
from identa.http.authn.responses import authorization_response
from identa.http.context import request_context
from identa.http.forms import BadForm, read_form
from identa.http.hosted.common import CsrfFailed, Hosted, see_other
from identa.http.hosted.render import Brand
from identa.oidc.requests import AuthorizationRequest
from identa.rules.pipeline import LoginFacts
from identa.rules.redirects import BadState

RULE_ERRORS = (RulesDenied, RulesFailed, RulesRedirect)


def rules_response(
    h: Hosted, request: Request, flow: LoginFlow, brand: Brand, exc: DomainError
) -> Response:
    """The browser's answer to a rule's redirect, deny or failure (the caller has committed)."""
    if isinstance(exc, RulesRedirect):
        return see_other(exc.url)
    authorize = flow.request.get("authorize")
    if isinstance(exc, RulesDenied) and isinstance(authorize, dict):
        req = AuthorizationRequest.from_dict(authorize)
        return authorization_response(
            req.redirect_uri,
            req.response_mode,
            {
                "error": "access_denied",
                "error_description": exc.message,
                "state": req.state or "",
                "iss": h.c.settings.issuer,
            },
        )
    if isinstance(exc, RulesDenied):
        return h.error_page(
            request, brand, exc.message, status_code=403, title="Access denied", start_over=None
        )
    return h.error_page(
        request,
        brand,
        "A rule configured for this application failed, so you could not be logged in. "
        "Please try again later, or contact support.",
        status_code=500,
        title="We could not log you in",
        start_over=None,
    )


def router(h: Hosted) -> APIRouter:
    r = APIRouter()
    c = h.c

    async def resume(request: Request) -> Response:
        """`/continue?state=…` (GET, or a POSTed form the rules see as `context.request.body`)."""
        body: dict[str, Any] = {}
        state = request.query_params.get("state")
        if request.method == "POST":
            try:
                body = dict(await read_form(request))
            except BadForm as exc:
                async with c.unit_of_work() as uow:
                    brand = await h.default_brand(uow.session)
                return h.error_page(request, brand, exc.message, start_over=None)
            state = state or body.pop("state", None)
            body.pop("state", None)
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            brand = await h.default_brand(db)
            try:
                flow = await c.post_login.take_pending(db, state)
                view = await c.flows.view(db, flow.id)
            except BadState as exc:
                return h.error_page(
                    request, brand, f"{exc.message} (invalid_request)", start_over=None
                )
            except FlowNotFound as exc:
                return h.error_page(request, brand, exc.message)
            brand = h.brand(view.tenant, view.client)
            pending = flow.request["rules_resumed"]
            connection = view.connection
            named = pending.get("connection")
            if named and (connection is None or named != connection.name):
                connection = await c.connections.by_name(db, named)
            if connection is None:
                return h.error_page(request, brand, "This login has expired. Please start again.")
            user = await c.users.get(db, str(pending["user_id"]))
            query = {k: v for k, v in request.query_params.items() if k != "state"}
            facts = LoginFacts(
                client=view.client,
                connection=connection,
                protocol="redirect-callback",
                request=ctx,
                query=query,
                body=body,
                methods=tuple(pending.get("methods") or ("pwd",)),
            )
            after = pending.get("after") or [0, ""]
            try:
                passed = await c.post_login.run(
                    db,
                    user,
                    facts,
                    flow=flow,
                    resume_after=(int(after[0]), str(after[1])),
                    resume_context=pending.get("context") or {},
                )
            except RULE_ERRORS as exc:
                await uow.commit()
                return rules_response(h, request, flow, brand, exc)
            outcome = await c.flows.establish(
                db,
                view,
                connection,
                passed,
                ctx,
                h.session_token(request),
                details={"rules_before_redirect": pending.get("records")},
            )
            await uow.commit()
        response = see_other(outcome.redirect_to)
        h.set_session_cookie(response, outcome.session.token)
        return response

    r.add_api_route("/continue", resume, methods=["GET", "POST"])

    # -- progressive profiling -------------------------------------------------------------

    def profile_page(
        request: Request,
        flow: LoginFlow,
        questions: list[Any],
        brand: Brand,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        return h.render(
            request,
            "profile",
            brand=brand,
            status_code=status_code,
            state=flow.id,
            questions=questions,
            errors=errors or {},
            error="Please check your answers." if errors else None,
        )

    async def load(request: Request, db: Any) -> tuple[LoginFlow, list[Any], Brand]:
        sso = await h.current_session(db, request)
        flow, questions = await c.post_login.profiling_flow(
            db, request.query_params.get("state"), sso.user_id if sso else None
        )
        tenant = await c.tenants.get(db)
        client = await c.clients.find(db, flow.client_id)
        return flow, questions, h.brand(tenant, client)

    @r.get("/u/profile")
    async def profile_get(request: Request) -> Response:
        async with c.unit_of_work() as uow:
            try:
                flow, questions, brand = await load(request, uow.session)
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(uow.session), exc.message)
            return profile_page(request, flow, questions, brand)

    @r.post("/u/profile")
    async def profile_post(request: Request) -> Response:
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                flow, questions, brand = await load(request, db)
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            try:
                form = await h.form(request)
            except (BadForm, CsrfFailed):
                return profile_page(
                    request,
                    flow,
                    questions,
                    brand,
                    errors={"form": "Your session on this page expired. Please try again."},
                    status_code=403,
                )
            skip = form.get("action") == "skip"
            answers: dict[str, str | list[str]] = {}
            for question in questions:
                if question.type == "multi-choice":
                    answers[question.id] = [
                        option
                        for index, option in enumerate(question.options or [])
                        if form.get(f"q_{question.id}_{index}") == option
                    ]
                else:
                    answers[question.id] = form.get(f"q_{question.id}", "")
            declined = {q.id for q in questions} if skip else set()
            user = await c.users.get(db, str(flow.user_id))
            saved, errors = await c.profiling.answer(db, user, questions, answers, declined)
            if errors:
                return profile_page(request, flow, questions, brand, errors=errors, status_code=400)
            if saved:
                await c.enrichment.refresh_demographics(db, user)
            client = await c.clients.find(db, flow.client_id)
            c.events.record(
                db,
                LogType.SUCCESS_API_OPERATION,
                subject=subject_for(client, None, user),
                request=request_context(request),
                description="Progressive profiling answers",
                details={
                    "profiling": {
                        "answered": sorted(saved),
                        "declined": sorted(q.path for q in questions if q.path not in saved),
                    }
                },
            )
            target = c.post_login.finish_profiling(flow)
            await uow.commit()
        return see_other(target)

    return r
