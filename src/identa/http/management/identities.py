"""/api/v2/users/{id}/identities: account linking (POST) and unlinking (DELETE), with Auth0's
semantics (identa.identity.linking)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.container import Container
from identa.core.context import RequestContext
from identa.core.errors import DomainError
from identa.http.authn.dbconnections import read_payload
from identa.http.context import request_context
from identa.http.management.auth import Caller, authenticate
from identa.http.management.common import api, string_field
from identa.http.management.errors import MANAGEMENT_MAX_BODY, ApiError, bad_request
from identa.identity.linking import IdentityAlreadyLinked, IdentityNotFound
from identa.identity.models import User
from identa.identity.profile import user_to_dict

Loader = Callable[[Any, str], Awaitable[User]]
Recorder = Callable[[Any, RequestContext, Caller, str, "User | None"], None]


def add_identity_routes(r: APIRouter, c: Container, load: Loader, sapi: Recorder) -> None:
    @api
    async def link_identity(request: Request) -> Response:
        caller = await authenticate(c, request)
        primary_id = request.path_params["user_id"]
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        link_with = body.get("link_with")
        own_account = (
            "update:current_user_identities" in caller.scopes and caller.subject == primary_id
        )
        if "update:users" not in caller.scopes and not (own_account and link_with is not None):
            raise ApiError(
                403,
                "Insufficient scope, expected any of: update:users, update:current_user_identities",
                "insufficient_scope",
            )
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            primary = await load(db, primary_id)
            try:
                if link_with is not None:
                    secondary = await _link_with_owner(db, caller, link_with)
                else:
                    provider = string_field(body, "provider", 64)
                    raw_id = body.get("user_id")
                    if not provider or raw_id is None:
                        raise bad_request(
                            "Payload validation error: send either link_with, or provider "
                            "and user_id."
                        )
                    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
                        raise bad_request(
                            "Payload validation error: 'user_id' must be a string or an integer."
                        )
                    connection_id = string_field(body, "connection_id", 64)
                    secondary = await c.linker.find_identity_owner(
                        db, provider, str(raw_id).removeprefix(f"{provider}|"), connection_id
                    )
                secondary_id = secondary.user_id
                await c.linker.link(db, primary, secondary)
            except IdentityNotFound as exc:
                raise ApiError(400, exc.message, "invalid_body") from exc
            except IdentityAlreadyLinked as exc:
                raise ApiError(409, exc.message, "identity_conflict") from exc
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            sapi(db, ctx, caller, f"Link a User Account ({secondary_id})", primary)
            identities = user_to_dict(primary)["identities"]
            await uow.commit()
        return JSONResponse(identities, status_code=201)

    async def _link_with_owner(db: Any, caller: Caller, link_with: Any) -> User:
        """The user whose ID token is `link_with`: signed here, current, and (for a caller
        linking its own account) issued to the caller's own application."""
        if not isinstance(link_with, str) or len(link_with) > 16 * 1024:
            raise bad_request("Payload validation error: 'link_with' must be a token.")
        try:
            claims = await c.oidc.signer.verify(db, link_with)
        except Exception as exc:
            raise bad_request("The link_with token is not valid.", "invalid_body") from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        exp = claims.get("exp")
        if (
            claims.get("iss") != c.settings.issuer
            or not isinstance(exp, int)
            or exp <= int(c.clock.now().timestamp())
            or not isinstance(claims.get("sub"), str)
        ):
            raise bad_request("The link_with token is not valid.", "invalid_body")
        if "update:users" not in caller.scopes and caller.client_id not in audiences:
            raise bad_request(
                "The link_with token was issued to another application.", "invalid_body"
            )
        user = await c.users.find(db, str(claims["sub"]))
        if user is None:
            raise bad_request("The secondary user does not exist.", "invalid_body")
        return user

    @api
    async def unlink_identity(request: Request) -> Response:
        caller = await authenticate(c, request)
        primary_id = request.path_params["user_id"]
        own_account = (
            "update:current_user_identities" in caller.scopes and caller.subject == primary_id
        )
        if "update:users" not in caller.scopes and not own_account:
            raise ApiError(
                403,
                "Insufficient scope, expected any of: update:users, update:current_user_identities",
                "insufficient_scope",
            )
        provider = request.path_params["provider"]
        provider_user_id = request.path_params["secondary_id"]
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            primary = await load(db, primary_id)
            try:
                standalone = await c.linker.unlink(db, primary, provider, provider_user_id)
            except IdentityNotFound as exc:
                raise ApiError(400, exc.message, "invalid_uri") from exc
            except IdentityAlreadyLinked as exc:
                raise ApiError(409, exc.message, "identity_conflict") from exc
            except DomainError as exc:
                raise bad_request(exc.message, "invalid_uri") from exc
            sapi(db, ctx, caller, f"Unlink a User Account ({standalone.user_id})", primary)
            identities = user_to_dict(primary)["identities"]
            await uow.commit()
        return JSONResponse(identities)

    r.add_api_route("/users/{user_id:path}/identities", link_identity, methods=["POST"])
    r.add_api_route(
        "/users/{user_id:path}/identities/{provider}/{secondary_id}",
        unlink_identity,
        methods=["DELETE"],
    )
