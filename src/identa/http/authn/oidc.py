"""OpenID Connect endpoints: discovery, JWKS, /authorize, /oauth/token, /userinfo, logout."""

from __future__ import annotations

import logging
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
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.http.hosted.common import Hosted
from identa.identity.errors import TooManyAttempts, UserBlocked, WrongCredentials
from identa.identity.profile import user_to_dict
from identa.oidc.errors import OAuthError, invalid_request, unauthorized_client
from identa.oidc.requests import AuthorizationRequest, AuthorizeError, parse_authorization_request
from identa.oidc.service import Grant
from identa.oidc.tokens import claims_for_scope, import_private_key
from identa.sessions.models import SsoSession

log = logging.getLogger("identa.oidc")
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
GRANT_EVENTS = {
    "authorization_code": (LogType.SUCCESS_EXCHANGE_CODE, LogType.FAILED_EXCHANGE_CODE),
    "refresh_token": (LogType.SUCCESS_EXCHANGE_REFRESH, LogType.FAILED_EXCHANGE_REFRESH),
    "client_credentials": (LogType.SUCCESS_EXCHANGE_CLIENT, LogType.FAILED_EXCHANGE_CLIENT),
    "password": (LogType.SUCCESS_EXCHANGE_PASSWORD, LogType.FAILED_EXCHANGE_PASSWORD),
    PASSWORD_REALM: (LogType.SUCCESS_EXCHANGE_PASSWORD, LogType.FAILED_EXCHANGE_PASSWORD),
}


def oauth_json(error: OAuthError) -> JSONResponse:
    return JSONResponse(
        error.as_dict(),
        status_code=error.status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


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
            public = import_private_key(row.private_jwk).as_dict(private=False)
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
        db: Any, req: AuthorizationRequest, sso: SsoSession, request: Request
    ) -> Response:
        user = await c.users.get(db, sso.user_id)
        if user.blocked:
            return error_redirect(req, "access_denied", "user is blocked")
        await c.sso.add_client(db, sso, req.client_id)
        code = await c.oidc.issue_code(
            db, req, user=user, session_id=sso.id, auth_time=sso.authenticated_at
        )
        return authorization_response(
            req.redirect_uri,
            req.response_mode,
            {"code": code, "state": req.state or "", "iss": issuer},
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
                return h.error_page(
                    request,
                    brand,
                    "Unknown client: the application is not registered (invalid_request).",
                    start_over=None,
                )
            try:
                req = parse_authorization_request(client, params)
            except AuthorizeError as exc:
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
                    return error_redirect(req, "login_required", "Login required")
                response = await complete(db, req, sso, request)
                await uow.commit()
                return response
            if sso is not None and "login" not in prompts and req.screen_hint != "signup":
                response = await complete(db, req, sso, request)
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
                return error_redirect(req, "invalid_request", exc.message)
            flow.return_to = f"/authorize/resume?state={flow.id}"
            await uow.commit()
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
            response = await complete(db, req, sso, request)
            await uow.commit()
        return response

    # -- /oauth/token ----------------------------------------------------------------------

    @r.post("/oauth/token")
    async def token(request: Request) -> Response:
        try:
            params = await read_payload(request)
        except BadForm as exc:
            return oauth_json(invalid_request(exc.message))
        grant_type = params.get("grant_type")
        if not isinstance(grant_type, str) or not grant_type:
            return oauth_json(invalid_request("missing grant_type parameter"))
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            client = None
            try:
                authn = await c.client_auth.authenticate(
                    db, params, request.headers.get("authorization")
                )
                client = authn.client
                if grant_type not in GRANT_EVENTS:
                    raise OAuthError(
                        "unsupported_grant_type", f"Unsupported grant type: {grant_type}", 400
                    )
                allowed = client.grant_types or []
                alias = "password" if grant_type == PASSWORD_REALM else grant_type
                if alias not in allowed and grant_type not in allowed:
                    raise unauthorized_client(
                        f"Grant type '{grant_type}' not allowed for the client."
                    )
                body = await run_grant(db, grant_type, authn.client, params, ctx, request)
            except OAuthError as exc:
                if grant_type in GRANT_EVENTS:
                    c.events.record(
                        db,
                        GRANT_EVENTS[grant_type][1],
                        subject=subject_for(client, None),
                        request=ctx,
                        description=exc.description,
                        details={"error": exc.as_dict(), "grant_type": grant_type},
                    )
                await uow.commit()
                return oauth_json(exc)
            c.events.record(
                db,
                GRANT_EVENTS[grant_type][0],
                subject=subject_for(client, None),
                request=ctx,
                details={"grant_type": grant_type},
            )
            await uow.commit()
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def run_grant(
        db: Any, grant_type: str, client: Any, params: dict[str, Any], ctx: Any, request: Request
    ) -> dict[str, Any]:
        if grant_type == "authorization_code":
            code, user = await c.oidc.redeem_code(db, client, params)
            grant = Grant(
                client=client,
                user=user,
                scope=code.scope,
                audience=code.audience,
                auth_time=code.auth_time,
                session_id=code.session_id,
                nonce=code.nonce,
            )
            tokens, refresh = await c.oidc.tokens_for(db, grant, with_refresh=True)
            if refresh is not None:
                code.issued_family_id = refresh.family_id
            return tokens.as_response()
        if grant_type == "refresh_token":
            value = params.get("refresh_token")
            if not isinstance(value, str) or not value:
                raise invalid_request("missing refresh_token parameter")
            old = await c.oidc.rotate_refresh_token(db, client, value)
            user = await c.users.get(db, old.user_id)
            if user.blocked:
                raise OAuthError("unauthorized", "user is blocked", 401)
            scope = old.scope
            requested = params.get("scope")
            if isinstance(requested, str) and requested:
                narrowed = [s for s in requested.split() if s in old.scope.split()]
                scope = " ".join(dict.fromkeys([*narrowed, "offline_access"]))
            grant = Grant(
                client=client,
                user=user,
                scope=scope,
                audience=old.audience,
                auth_time=old.auth_time,
                session_id=old.session_id,
            )
            tokens, _ = await c.oidc.tokens_for(
                db, grant, with_refresh=True, family_id=old.family_id
            )
            return tokens.as_response()
        if grant_type == "client_credentials":
            tokens = await c.oidc.client_credentials(
                db, client, params.get("audience"), params.get("scope")
            )
            return tokens.as_response()
        return await password_grant(db, grant_type, client, params, ctx)

    async def password_grant(
        db: Any, grant_type: str, client: Any, params: dict[str, Any], ctx: Any
    ) -> dict[str, Any]:
        username, password = params.get("username"), params.get("password")
        if not isinstance(username, str) or not username:
            raise invalid_request("missing username parameter")
        if not isinstance(password, str) or not password:
            raise invalid_request("missing password parameter")
        realm = params.get("realm") if grant_type == PASSWORD_REALM else None
        try:
            connection = await c.flows.database_connection_for(
                db, client, realm if isinstance(realm, str) else None
            )
        except DomainError as exc:
            raise invalid_request(exc.message) from exc
        tenant = await c.tenants.get(db)
        try:
            result = await c.users.authenticate_password(
                db,
                connection,
                username,
                password,
                ip=ctx.ip or "unknown",
                brute_force=tenant.brute_force,
            )
        except WrongCredentials as exc:
            raise OAuthError("invalid_grant", "Wrong email or password.", 403) from exc
        except TooManyAttempts as exc:
            raise OAuthError("too_many_attempts", exc.message, 429) from exc
        except UserBlocked as exc:
            raise OAuthError("unauthorized", "user is blocked", 401) from exc
        except DomainError as exc:
            raise invalid_request(exc.message) from exc
        user = result.user
        c.users.record_login(user, ctx.ip)
        c.events.record(
            db,
            LogType.SUCCESS_LOGIN,
            subject=subject_for(client, connection, user),
            request=ctx,
            details={"prompts": [{"name": "password", "connection": connection.name}]},
        )
        scope = params.get("scope") if isinstance(params.get("scope"), str) else "openid"
        grant = Grant(
            client=client,
            user=user,
            scope=scope or "openid",
            audience=params.get("audience"),
            auth_time=c.clock.now(),
            session_id=None,
        )
        tokens, _ = await c.oidc.tokens_for(db, grant, with_refresh=True)
        return tokens.as_response()

    # -- /userinfo, revoke, logout ---------------------------------------------------------

    async def userinfo(request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if not authorization.lower().startswith("bearer "):
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Missing bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="identa"'},
            )
        async with c.unit_of_work() as uow:
            try:
                claims = await c.oidc.access_token_claims(uow.session, authorization[7:].strip())
            except OAuthError as exc:
                return JSONResponse(
                    exc.as_dict(),
                    status_code=401,
                    headers={"WWW-Authenticate": f'Bearer error="{exc.error}"'},
                )
            user = await c.users.find(uow.session, str(claims.get("sub")))
            if user is None:
                return JSONResponse(
                    {"error": "invalid_token", "error_description": "The user no longer exists."},
                    status_code=401,
                )
            profile = user_to_dict(user)
            scopes = str(claims.get("scope", "")).split()
            body = {"sub": user.user_id, **claims_for_scope(profile, scopes)}
        return JSONResponse(body)

    r.add_api_route("/userinfo", userinfo, methods=["GET", "POST"])

    @r.post("/oauth/revoke")
    async def revoke(request: Request) -> Response:
        try:
            params = await read_payload(request)
        except BadForm as exc:
            return oauth_json(invalid_request(exc.message))
        token_value = params.get("token")
        async with c.unit_of_work() as uow:
            try:
                authn = await c.client_auth.authenticate(
                    uow.session, params, request.headers.get("authorization")
                )
            except OAuthError as exc:
                return oauth_json(exc)
            if not isinstance(token_value, str) or not token_value:
                return oauth_json(invalid_request("missing token parameter"))
            if await c.oidc.revoke_refresh_token(uow.session, authn.client, token_value):
                c.events.record(
                    uow.session,
                    LogType.REFRESH_TOKEN_REVOKED,
                    subject=subject_for(authn.client, None),
                    request=request_context(request),
                )
            await uow.commit()
        return Response(status_code=200)

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

    return r
