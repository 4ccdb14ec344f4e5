"""The consent page: a third-party application asks for access; the person allows or denies."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from identa.flows.errors import FlowNotFound
from identa.http.authn.responses import authorization_response
from identa.http.forms import BadForm
from identa.http.hosted.common import CsrfFailed, Hosted, see_other
from identa.oidc.requests import AuthorizationRequest


def router(h: Hosted) -> APIRouter:
    r = APIRouter()
    c = h.c

    async def page(
        request: Request, *, error: str | None = None, status_code: int = 200
    ) -> Response:
        async with c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            brand = await h.default_brand(db)
            if sso is None:
                return see_other("/u/login")
            try:
                flow = await c.flows.open_consent(
                    db, request.query_params.get("state"), sso.user_id
                )
            except FlowNotFound as exc:
                return h.error_page(request, brand, exc.message)
            req = AuthorizationRequest.from_dict(flow.request["authorize"])
            client = await c.clients.get(db, req.client_id)
            user = await c.users.get(db, sso.user_id)
            lines = await c.consents.describe(
                db, c.oidc.canonical_audience(req.audience), req.scopes
            )
            return h.render(
                request,
                "consent",
                returns_to=[req.redirect_uri],
                brand=h.brand(await c.tenants.get(db), client),
                status_code=status_code,
                state=flow.id,
                application=client.name,
                scopes=lines,
                user=user,
                error=error,
            )

    @r.get("/u/consent")
    async def consent_get(request: Request) -> Response:
        return await page(request)

    @r.post("/u/consent")
    async def consent_post(request: Request) -> Response:
        try:
            form = await h.form(request)
        except BadForm as exc:
            return await page(request, error=exc.message, status_code=exc.status_code)
        except CsrfFailed:
            return await page(
                request,
                error="Your session on this page expired. Please try again.",
                status_code=403,
            )
        async with c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            try:
                flow = await c.flows.open_consent(
                    db, request.query_params.get("state"), sso.user_id
                )
            except FlowNotFound as exc:
                return h.error_page(request, await h.default_brand(db), exc.message)
            req = AuthorizationRequest.from_dict(flow.request["authorize"])
            c.flows.finish_consent(flow)
            if form.get("decision") != "allow":
                flow.request = {**flow.request, "resumed": True}
                await uow.commit()
                return authorization_response(
                    req.redirect_uri,
                    req.response_mode,
                    {
                        "error": "access_denied",
                        "error_description": "User did not authorize the request",
                        "state": req.state or "",
                        "iss": c.settings.issuer,
                    },
                )
            await c.consents.grant(
                db,
                user_id=sso.user_id,
                client_id=req.client_id,
                audience=c.oidc.canonical_audience(req.audience),
                scopes=req.scopes,
            )
            await uow.commit()
        return see_other(f"/authorize/resume?state={flow.id}")

    return r
