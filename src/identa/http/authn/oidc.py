"""OpenID Connect endpoints: discovery, JWKS, /authorize, /oauth/token, /userinfo, logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from identa.container import Container
from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.flows.errors import FlowNotFound
from identa.flows.service import subject_for
from identa.http.authn.dbconnections import read_payload
from identa.http.authn.responses import authorization_response
from identa.http.authn.sso_rules import Refused, record_sso_login, rules_on_session
from identa.http.authn.token import PASSWORD_REALM
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.http.hosted.common import Hosted
from identa.http.hosted.social import social_start_url
from identa.oidc.requests import AuthorizationRequest, AuthorizeError, parse_authorization_request
from identa.oidc.service import Grant
from identa.oidc.tokens import key_for
from identa.sessions.models import SsoSession


def router(h: Hosted) -> APIRouter:
    c: Container = h.c
    r = APIRouter()
    issuer = c.settings.issuer
    base = c.settings.public_url

    @r.get("/.well-known/openid-configuration")
    @r.get("/.well-known/oauth-authorization-server")
    async def discovery() -> JSONResponse:
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/oauth/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "revocation_endpoint": f"{base}/oauth/revoke",
                "end_session_endpoint": f"{base}/oidc/logout",
                "scopes_supported": [
                    "openid",
                    "profile",
                    "offline_access",
                    "name",
                    "given_name",
                    "family_name",
                    "nickname",
                    "email",
                    "email_verified",
                    "picture",
                    "created_at",
                    "identities",
                    "phone",
                    "address",
                ],
                "response_types_supported": ["code", "id_token", "id_token token"],
                "response_modes_supported": ["query", "fragment", "form_post", "web_message"],
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                    "password",
                    PASSWORD_REALM,
                ],
                "code_challenge_methods_supported": ["S256"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "private_key_jwt",
                    "none",
                ],
                "token_endpoint_auth_signing_alg_values_supported": [
                    "RS256",
                    "RS384",
                    "PS256",
                    "PS384",
                    "ES256",
                    "ES384",
                ],
                "claims_supported": [
                    "aud",
                    "auth_time",
                    "created_at",
                    "email",
                    "email_verified",
                    "exp",
                    "family_name",
                    "given_name",
                    "iat",
                    "identities",
                    "iss",
                    "name",
                    "nickname",
                    "phone_number",
                    "picture",
                    "sub",
                    "sid",
                ],
                "request_uri_parameter_supported": False,
                "request_parameter_supported": False,
                "authorization_response_iss_parameter_supported": True,
            },
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    @r.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        async with c.unit_of_work() as uow:
            rows = await c.keys.published(uow.session)
        keys = []
        for row in rows:
            public = key_for(row.kid, row.private_jwk).as_dict(private=False)
            keys.append({**public, "kid": row.kid, "alg": row.alg, "use": "sig"})
        return JSONResponse(
            {"keys": keys},
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    # -- /authorize ------------------------------------------------------------------------

    def error_redirect(req: AuthorizationRequest, error: str, description: str) -> Response:
        return authorization_response(
            req.redirect_uri,
            req.response_mode,
            {
                "error": error,
                "error_description": description,
                "state": req.state or "",
                "iss": issuer,
            },
        )

    async def complete(
        db: Any,
        req: AuthorizationRequest,
        sso: SsoSession,
        request: Request,
        *,
        consented: bool = False,
        claims: dict[str, Any] | None = None,
    ) -> Response:
        user = await c.users.get(db, sso.user_id)
        if user.blocked:
            return error_redirect(req, "access_denied", "user is blocked")
        client = await c.clients.get(db, req.client_id)
        prompts = set((req.prompt or "").split())
        missing = await c.consents.missing(
            db,
            user_id=user.user_id,
            client=client,
            audience=c.oidc.canonical_audience(req.audience),
            scopes=req.scopes,
        )
        must_ask = not client.is_first_party and "consent" in prompts and not consented
        if missing or must_ask:
            if "none" in prompts:
                return error_redirect(req, "consent_required", "Consent required")
            flow = await c.flows.start_consent(
                db,
                client_id=client.client_id,
                user_id=user.user_id,
                request={"kind": "authorize", "authorize": req.as_dict(), "rules_claims": claims},
            )
            return RedirectResponse(f"/u/consent?state={flow.id}", status_code=302)
        await c.sso.add_client(db, sso, req.client_id)
        if req.response_type != "code":
            # Implicit flow, only for applications that enabled it (OIDC Core §3.2).
            grant = Grant(
                client=await c.clients.get(db, req.client_id),
                user=user,
                scope=req.scope,
                audience=req.audience,
                auth_time=sso.authenticated_at,
                session_id=sso.id,
                nonce=req.nonce,
                **Grant.claims_from(claims),
            )
            with_token = "token" in req.response_type.split()
            tokens, _ = await c.oidc.tokens_for(
                db, grant, with_refresh=False, with_at_hash=with_token
            )
            params = {"id_token": tokens.id_token or "", "state": req.state or "", "iss": issuer}
            if with_token:
                params.update(
                    access_token=tokens.access_token,
                    token_type="Bearer",
                    expires_in=str(tokens.expires_in),
                )
            return authorization_response(req.redirect_uri, req.response_mode, params)
        code = await c.oidc.issue_code(
            db,
            req,
            user=user,
            session_id=sso.id,
            auth_time=sso.authenticated_at,
            extra_claims=claims,
        )
        return authorization_response(
            req.redirect_uri,
            req.response_mode,
            {"code": code, "state": req.state or "", "iss": issuer},
        )

    async def failed(
        db: Any,
        request: Request,
        client: Any,
        error: str,
        description: str,
        params: dict[str, str],
        *,
        silent: bool = False,
    ) -> None:
        """Every refused authorization request is logged (f, or fsa for prompt=none)."""
        c.events.record(
            db,
            LogType.FAILED_SILENT_AUTH if silent else LogType.FAILED_LOGIN,
            subject=subject_for(client, None),
            request=request_context(request),
            description=description,
            details={
                "error": {"message": description, "oauthError": error},
                "qs": {k: v[:256] for k, v in params.items() if k != "login_hint"},
            },
        )

    @r.get("/authorize")
    async def authorize(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}
        async with c.unit_of_work() as uow:
            db = uow.session
            client_id = params.get("client_id", "")
            client = await c.clients.find(db, client_id) if 0 < len(client_id) <= 64 else None
            brand = await h.default_brand(db)
            if client is None:
                await failed(db, request, None, "invalid_request", "unknown client", params)
                await uow.commit()
                return h.error_page(
                    request,
                    brand,
                    "Unknown client: the application is not registered (invalid_request).",
                    start_over=None,
                )
            try:
                req = parse_authorization_request(client, params)
            except AuthorizeError as exc:
                await failed(db, request, client, exc.error, exc.description, params)
                await uow.commit()
                if not exc.redirectable:
                    return h.error_page(
                        request,
                        h.brand(await c.tenants.get(db), client),
                        f"{exc.description} ({exc.error})",
                        start_over=None,
                    )
                fallback = AuthorizationRequest(
                    client_id=client.client_id,
                    redirect_uri=params.get("redirect_uri") or client.callbacks[0],
                    response_type="code",
                    response_mode=params.get("response_mode", "query")
                    if params.get("response_mode")
                    in ("query", "fragment", "form_post", "web_message")
                    else "query",
                    scope="openid",
                    state=params.get("state"),
                )
                return error_redirect(fallback, exc.error, exc.description)
            sso = await h.current_session(db, request)
            prompts = set((req.prompt or "").split())
            if sso is not None and req.max_age is not None:
                age = (c.clock.now() - sso.authenticated_at).total_seconds()
                if age > req.max_age:
                    sso = None
            if "none" in prompts:
                if sso is None:
                    await failed(
                        db, request, client, "login_required", "Login required", params, silent=True
                    )
                    await uow.commit()
                    return error_redirect(req, "login_required", "Login required")
                ruled = await rules_on_session(h, db, request, client, req, sso, silent=True)
                if isinstance(ruled, Refused):
                    # The rules logged fsa with their runs.
                    await uow.commit()
                    return ruled.response
                response = await complete(db, req, sso, request, claims=ruled.claims)
                location = response.headers.get("location", "")
                if "error=" not in location and not location.startswith("/u/consent"):
                    c.events.record(
                        db,
                        LogType.SUCCESS_SILENT_AUTH,
                        subject=subject_for(client, None, await c.users.find(db, sso.user_id)),
                        request=request_context(request),
                        details={"session_id": sso.id, **ruled.details},
                    )
                else:
                    await failed(
                        db,
                        request,
                        client,
                        "consent_required",
                        "Consent required",
                        params,
                        silent=True,
                    )
                await uow.commit()
                return response
            if sso is not None and "login" not in prompts and req.screen_hint != "signup":
                ruled = await rules_on_session(h, db, request, client, req, sso, silent=False)
                if isinstance(ruled, Refused):
                    await uow.commit()
                    return ruled.response
                record_sso_login(h, db, request, client, sso, ruled)
                response = await complete(db, req, sso, request, claims=ruled.claims)
                await uow.commit()
                return response
            try:
                flow = await c.flows.start(
                    db,
                    client_id=client.client_id,
                    connection=req.connection,
                    screen="signup" if req.screen_hint == "signup" else "login",
                    request={"kind": "authorize", "authorize": req.as_dict()},
                )
            except DomainError as exc:
                await failed(db, request, client, "invalid_request", exc.message, params)
                await uow.commit()
                return error_redirect(req, "invalid_request", exc.message)
            flow.return_to = f"/authorize/resume?state={flow.id}"
            await uow.commit()
        upstream = flow.request.get("upstream_connection")
        if upstream:
            # connection=NAME of a social or enterprise connection: straight to the provider.
            return RedirectResponse(social_start_url(flow.id, str(upstream)), status_code=302)
        screen = "signup" if req.screen_hint == "signup" else "login"
        return RedirectResponse(f"/u/{screen}?state={flow.id}", status_code=302)

    @r.get("/authorize/resume")
    async def resume(request: Request) -> Response:
        async with c.unit_of_work() as uow:
            db = uow.session
            brand = await h.default_brand(db)
            try:
                flow = await c.flows.take_completed(db, request.query_params.get("state"))
            except FlowNotFound as exc:
                return h.error_page(request, brand, exc.message)
            sso = await h.current_session(db, request)
            if sso is None or sso.user_id != flow.user_id or "authorize" not in flow.request:
                return h.error_page(request, brand, "This login has expired. Please start again.")
            req = AuthorizationRequest.from_dict(flow.request["authorize"])
            response = await complete(
                db,
                req,
                sso,
                request,
                consented=flow.screen == "consent",
                claims=flow.request.get("rules_claims"),
            )
            await uow.commit()
        return response

    # -- logout ---------------------------------------------------------------------------

    @r.get("/v2/logout")
    async def logout(request: Request) -> Response:
        q = request.query_params
        return_to = q.get("returnTo")
        client_id = q.get("client_id")
        async with c.unit_of_work() as uow:
            db = uow.session
            client = (
                await c.clients.find(db, client_id) if client_id and len(client_id) <= 64 else None
            )
            allowed = list(client.allowed_logout_urls) if client else []
            sso = await h.current_session(db, request)
            await c.account.logout(
                db,
                sso,
                client_id=client.client_id if client else None,
                request=request_context(request),
                details={"return_to": return_to, "allowed_logout_url": allowed},
            )
            brand = await h.default_brand(db, client.client_id if client else None)
            await uow.commit()
        if return_to and return_to in allowed:
            response: Response = RedirectResponse(return_to, status_code=302)
        elif return_to:
            response = h.error_page(
                request,
                brand,
                "The returnTo URL is not in the application's allowed logout URLs.",
                start_over=None,
            )
        else:
            response = RedirectResponse(
                "/u/login?" + urlencode({"notice": "logged_out"}), status_code=302
            )
        h.clear_session_cookie(response)
        return response

    @r.get("/oidc/logout")
    @r.post("/oidc/logout")
    async def rp_logout(request: Request) -> Response:
        """OpenID Connect RP-Initiated Logout 1.0 §2-3."""
        q = dict(request.query_params)
        if request.method == "POST":
            try:
                q.update({k: str(v) for k, v in (await read_payload(request)).items()})
            except BadForm as exc:
                return h.error_page(request, await _brand(), exc.message, start_over=None)
        hint, target, state = (
            q.get("id_token_hint"),
            q.get("post_logout_redirect_uri"),
            q.get("state"),
        )
        async with c.unit_of_work() as uow:
            db = uow.session
            client_id = q.get("client_id")
            if hint:
                try:
                    claims = await c.oidc.signer.verify(db, hint)
                except Exception:
                    claims = {}
                audience = claims.get("aud")
                if claims.get("iss") != issuer or not audience:
                    return h.error_page(
                        request,
                        await h.default_brand(db),
                        "The id_token_hint is not valid.",
                        start_over=None,
                    )
                hinted = audience[0] if isinstance(audience, list) else str(audience)
                if client_id and client_id != hinted:
                    return h.error_page(
                        request,
                        await h.default_brand(db),
                        "client_id does not match the id_token_hint.",
                        start_over=None,
                    )
                client_id = hinted
            client = (
                await c.clients.find(db, client_id) if client_id and len(client_id) <= 64 else None
            )
            allowed = list(client.allowed_logout_urls) if client else []
            if target and target not in allowed:
                return h.error_page(
                    request,
                    await h.default_brand(db),
                    "The post_logout_redirect_uri is not in the application's allowed logout URLs.",
                    start_over=None,
                )
            sso = await h.current_session(db, request)
            await c.account.logout(
                db,
                sso,
                client_id=client.client_id if client else None,
                request=request_context(request),
                details={"return_to": target, "allowed_logout_url": allowed},
            )
            await uow.commit()
        if target:
            joiner = "&" if "?" in target else "?"
            location = target + (joiner + urlencode({"state": state}) if state else "")
            response: Response = RedirectResponse(location, status_code=302)
        else:
            response = RedirectResponse("/u/login?notice=logged_out", status_code=302)
        h.clear_session_cookie(response)
        return response

    async def _brand() -> Any:
        async with c.unit_of_work() as uow:
            return await h.default_brand(uow.session)

    return r
