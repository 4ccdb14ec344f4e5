"""The token endpoint and what uses its tokens: /oauth/token, /userinfo, /oauth/revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.container import Container
from identa.core.errors import DomainError
from identa.enrichment.service import enrich_login
from identa.events.catalog import LogType
from identa.flows.post_login import RulesDenied, RulesFailed
from identa.flows.service import subject_for
from identa.http.authn.dbconnections import read_payload
from identa.http.authn.refresh_rules import rules_on_refresh
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.identity.errors import TooManyAttempts, UserBlocked, WrongCredentials
from identa.identity.profile import user_to_dict
from identa.oidc.errors import OAuthError, invalid_request, unauthorized_client
from identa.oidc.service import Grant
from identa.oidc.tokens import claims_for_scope
from identa.rules.pipeline import LoginFacts

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


def router(c: Container) -> APIRouter:
    r = APIRouter()
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
            logged: dict[str, Any] = {}
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
                body = await run_grant(db, grant_type, authn.client, params, ctx, logged)
            except OAuthError as exc:
                if grant_type in GRANT_EVENTS:
                    c.events.record(
                        db,
                        GRANT_EVENTS[grant_type][1],
                        subject=subject_for(client, None),
                        request=ctx,
                        description=exc.description,
                        details={"error": exc.as_dict(), "grant_type": grant_type, **exc.details},
                    )
                await uow.commit()
                return oauth_json(exc)
            c.events.record(
                db,
                GRANT_EVENTS[grant_type][0],
                subject=subject_for(client, None),
                request=ctx,
                details={"grant_type": grant_type, **logged},
            )
            await uow.commit()
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def run_grant(
        db: Any,
        grant_type: str,
        client: Any,
        params: dict[str, Any],
        ctx: Any,
        logged: dict[str, Any],
    ) -> dict[str, Any]:
        """The token response; `logged` receives details for the success event."""
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
                **Grant.claims_from(code.extra_claims),
            )
            tokens, refresh = await c.oidc.tokens_for(db, grant, with_refresh=True)
            if refresh is not None:
                code.issued_family_id = refresh.family_id
            return tokens.as_response()
        if grant_type == "refresh_token":
            value = params.get("refresh_token")
            if not isinstance(value, str) or not value:
                raise invalid_request("missing refresh_token parameter")
            old = await c.oidc.usable_refresh_token(db, client, value)
            user = await c.users.get(db, old.user_id)
            if user.blocked:
                raise OAuthError("unauthorized", "user is blocked", 401)
            ruled = await rules_on_refresh(c, db, client, user, old, params, ctx)
            claims = old.extra_claims
            if ruled is not None:
                user, claims = ruled.user, ruled.claims
                logged.update(ruled.details)
            # Rotated only now: a refusal by the rules leaves the refresh token usable.
            old = await c.oidc.rotate_refresh_token(db, client, value)
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
                **Grant.claims_from(claims),
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
        facts = LoginFacts(
            client=client,
            connection=connection,
            protocol="oauth2-password" if grant_type == "password" else "oauth2-resource-owner",
            request=ctx,
            query={},
            body={
                k: v
                for k, v in params.items()
                if isinstance(v, str) and k not in ("password", "client_secret", "client_assertion")
            },
            interactive=False,
        )
        try:
            passed = await c.post_login.run(db, user, facts)
        except RulesDenied as exc:
            raise OAuthError("access_denied", exc.message, 403) from exc
        except RulesFailed as exc:
            if exc.code == "interaction_required":
                raise OAuthError(
                    "interaction_required",
                    "A rule asked for a redirect, which the password grant cannot follow.",
                    400,
                ) from exc
            raise OAuthError("server_error", f"Rule error: {exc.message}", 500) from exc
        user = passed.user
        event = c.events.record(
            db,
            LogType.SUCCESS_LOGIN,
            subject=subject_for(client, connection, user),
            request=ctx,
            details={
                "prompts": [{"name": "password", "connection": connection.name}],
                **passed.details,
            },
        )
        await enrich_login(c.enrichment, db, user, event)
        scope = params.get("scope") if isinstance(params.get("scope"), str) else "openid"
        grant = Grant(
            client=client,
            user=user,
            scope=scope or "openid",
            audience=params.get("audience"),
            auth_time=c.clock.now(),
            session_id=None,
            **Grant.claims_from(passed.claims),
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

    return r
