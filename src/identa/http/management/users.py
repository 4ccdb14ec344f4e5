"""/api/v2/users, /api/v2/users-by-email and /api/v2/users/{id}/logs in Auth0's shapes."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.connections.errors import ConnectionNotFound
from identa.connections.service import is_database, password_policy
from identa.container import Container
from identa.core.context import RequestContext
from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.events.models import LogEvent
from identa.events.service import EventSubject, log_event_to_dict
from identa.http.authn.dbconnections import read_payload
from identa.http.context import request_context
from identa.http.management.auth import Caller, authenticate
from identa.http.management.common import api, string_field
from identa.http.management.errors import MANAGEMENT_MAX_BODY, ApiError, bad_request, not_found
from identa.http.management.identities import add_identity_routes
from identa.http.management.idp_refresh import refresh_expired_idp_tokens
from identa.http.management.paging import (
    checkpoint_take,
    paging,
    select_fields,
)
from identa.identity.errors import PasswordPolicyError, UserExists, UsernameExists
from identa.identity.idp_tokens import IDP_TOKEN_SCOPE, user_for_caller
from identa.identity.models import User
from identa.identity.profile import NewDatabaseUser, user_to_dict
from identa.search import InvalidQuery, compile_user_query
from identa.search.service import find_users

PROFILE_FIELDS = ("given_name", "family_name", "name", "nickname", "picture")
PATCHABLE = {
    "app_metadata", "blocked", "email", "email_verified", "family_name", "given_name", "name",
    "nickname", "password", "phone_number", "phone_verified", "picture", "username",
    "user_metadata", "verify_email", "verify_phone_number", "connection", "client_id",
}  # fmt: skip


def _cursor(user_id: str) -> str:
    return base64.urlsafe_b64encode(user_id.encode()).decode().rstrip("=")


def _cursor_value(raw: str) -> str | None:
    if not raw:
        return None
    try:
        if len(raw) > 400:
            raise ValueError(raw)
        padded = raw + "=" * (-len(raw) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error) as exc:
        raise bad_request(
            "Query validation error: 'from' is not a checkpoint this API returned.",
            "invalid_query_string",
        ) from exc


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    def sapi(
        db: Any, ctx: RequestContext, caller: Caller, description: str, user: User | None
    ) -> None:
        c.events.record(
            db,
            LogType.SUCCESS_API_OPERATION,
            subject=EventSubject(
                client_id=caller.client_id,
                user_id=user.user_id if user else None,
                user_name=user.email if user else None,
            ),
            request=ctx,
            description=description,
        )

    async def load(db: Any, user_id: str) -> User:
        user = await c.users.find(db, user_id) if len(user_id) <= 255 else None
        if user is None:
            raise not_found("The user does not exist.")
        return user

    async def checkpoint_users(request: Request, q: str | None) -> Response:
        """Beyond Auth0: `from`/`take` keyset paging over any number of users, in user_id
        order, answering {users, next}; `next` is absent on the last page."""
        take = checkpoint_take(request)
        after = _cursor_value(request.query_params.get("from") or "")
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                condition = compile_user_query(q, db.get_bind().dialect.name) if q else None
            except InvalidQuery as exc:
                raise bad_request(exc.message, "invalid_query_string") from exc
            query = select(User).order_by(User.user_id.asc()).limit(take + 1)
            if condition is not None:
                query = query.where(condition)
            if after is not None:
                query = query.where(User.user_id > after)
            rows = list((await db.scalars(query)).all())
            items = [select_fields(request, user_to_dict(u)) for u in rows[:take]]
        body: dict[str, Any] = {"users": items}
        if len(rows) > take:
            body["next"] = _cursor(rows[take - 1].user_id)
        return JSONResponse(body)

    @api
    async def list_users(request: Request) -> Response:
        await authenticate(c, request, "read:users")
        q = request.query_params.get("q")
        if "from" in request.query_params or "take" in request.query_params:
            return await checkpoint_users(request, q)
        page = paging(request)
        engine = request.query_params.get("search_engine")
        if engine not in (None, "", "v3", "v2"):
            raise bad_request(
                "Query validation error: search_engine must be v3.", "invalid_query_string"
            )
        async with c.unit_of_work() as uow:
            try:
                found = await find_users(
                    uow.session,
                    q=q,
                    sort=request.query_params.get("sort") or "created_at:1",
                    offset=page.offset,
                    limit=page.per_page,
                    with_total=page.include_totals,
                    count_limit=c.settings.user_search_count_limit,
                )
            except InvalidQuery as exc:
                raise bad_request(exc.message, "invalid_query_string") from exc
            items = [select_fields(request, user_to_dict(u)) for u in found.users]
        response = JSONResponse(page.body("users", items, found.total or 0))
        if found.total_capped:
            response.headers["X-Identa-Total-Capped"] = "true"
        return response

    @api
    async def get_user(request: Request) -> Response:
        caller = await authenticate(c, request, "read:users")
        if IDP_TOKEN_SCOPE in caller.scopes:
            await refresh_expired_idp_tokens(c, request.path_params["user_id"])
        async with c.unit_of_work() as uow:
            user = await load(uow.session, request.path_params["user_id"])
            out = user_for_caller(user, caller.scopes, c.social.tokens)
            return JSONResponse(select_fields(request, out))

    @api
    async def create_user(request: Request) -> Response:
        caller = await authenticate(c, request, "create:users")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        connection_name = string_field(body, "connection", 128)
        if not connection_name:
            raise bad_request("Payload validation error: Missing required property: connection.")
        email = string_field(body, "email", 254)
        if not email:
            raise bad_request("Payload validation error: Missing required property: email.")
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                connection = await c.connections.by_name(db, connection_name)
            except ConnectionNotFound as exc:
                raise bad_request(
                    "The connection does not exist.", "inexistent_connection"
                ) from exc
            if not is_database(connection):
                raise bad_request(
                    "Users can only be created on database connections.", "operation_not_supported"
                )
            new = NewDatabaseUser(
                email=email,
                password=string_field(body, "password", 64 * 1024),
                username=string_field(body, "username", 128),
                phone_number=string_field(body, "phone_number", 32),
                user_metadata=body.get("user_metadata"),
                app_metadata=body.get("app_metadata"),
                email_verified=body.get("email_verified") is True,
                blocked=body.get("blocked") is True,
                user_id=string_field(body, "user_id", 255),
                **{k: string_field(body, k, 2048) for k in PROFILE_FIELDS},
            )
            client = await c.flows.default_client(db)
            try:
                user = await c.flows.register(
                    db,
                    client=client,
                    connection=connection,
                    new=new,
                    request=ctx,
                    send_verification=body.get("verify_email", True) is not False,
                )
            except (UserExists, UsernameExists) as exc:
                await uow.commit()
                raise ApiError(
                    409,
                    "The user already exists."
                    if isinstance(exc, UserExists)
                    else "The username provided is in use already.",
                    "auth0_idp_error",
                ) from exc
            except PasswordPolicyError as exc:
                await uow.commit()
                raise bad_request(
                    "PasswordStrengthError: Password is too weak", "invalid_password"
                ) from exc
            except DomainError as exc:
                await uow.commit()
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            sapi(db, ctx, caller, "Create a User", user)
            out = user_to_dict(user)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def update_user(request: Request) -> Response:
        caller = await authenticate(c, request, "update:users")
        body = (
            await read_payload(request, MANAGEMENT_MAX_BODY)
            if request.headers.get("content-length") != "0"
            else {}
        )
        raw_keys = set(body)
        unknown = sorted(raw_keys - PATCHABLE)
        if unknown:
            raise bad_request(
                f"Payload validation error: Additional properties not allowed: {', '.join(unknown)}"
            )
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            user = await load(db, request.path_params["user_id"])
            try:
                if "user_metadata" in body or "app_metadata" in body:
                    await c.users.patch_metadata(
                        db,
                        user,
                        user_metadata=body.get("user_metadata"),
                        app_metadata=body.get("app_metadata"),
                    )
                    # Birthdate, gender, interests or income may have changed: segments and
                    # breakdowns see them now rather than at the customer's next login.
                    await c.enrichment.refresh_demographics(db, user)
                profile = {k: body[k] for k in PROFILE_FIELDS if k in body}
                if profile:
                    await c.users.update_profile(db, user, profile)
                if "blocked" in body:
                    if not isinstance(body["blocked"], bool):
                        raise bad_request("Payload validation error: 'blocked' must be a boolean.")
                    await c.users.set_blocked(db, user, body["blocked"])
                if body.get("email_verified") is True:
                    await c.users.mark_email_verified(db, user)
                if "password" in body:
                    password = string_field(body, "password", 64 * 1024) or ""
                    connection = await c.connections.by_id(db, user.identities[0].connection_id)
                    tenant = await c.tenants.get(db)
                    await c.users.change_password(
                        db,
                        user,
                        password,
                        policy=password_policy(connection, tenant.default_password_policy),
                    )
                    await c.users.release_brute_force(db, user)
            except PasswordPolicyError as exc:
                raise bad_request(
                    "PasswordStrengthError: Password is too weak", "invalid_password"
                ) from exc
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            sapi(db, ctx, caller, "Update a User", user)
            out = user_to_dict(user)
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_user(request: Request) -> Response:
        caller = await authenticate(c, request, "delete:users")
        ctx = request_context(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            user = await load(db, request.path_params["user_id"])
            c.events.record(
                db,
                LogType.SUCCESS_USER_DELETION,
                subject=EventSubject(
                    client_id=caller.client_id, user_id=user.user_id, user_name=user.email
                ),
                request=ctx,
            )
            await c.users.delete(db, user)
            await uow.commit()
        return Response(status_code=204)

    @api
    async def users_by_email(request: Request) -> Response:
        await authenticate(c, request, "read:users")
        email = request.query_params.get("email")
        if not email:
            raise bad_request(
                "Query validation error: Missing required property: email.", "invalid_query_string"
            )
        async with c.unit_of_work() as uow:
            users = await c.users.by_email(uow.session, email[:254])
            return JSONResponse([select_fields(request, user_to_dict(u)) for u in users])

    @api
    async def user_logs(request: Request) -> Response:
        await authenticate(c, request, "read:logs")
        page = paging(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            user = await load(db, request.path_params["user_id"])
            condition = LogEvent.user_id == user.user_id
            total = int(
                await db.scalar(select(func.count()).select_from(LogEvent).where(condition)) or 0
            )
            sort = request.query_params.get("sort") or "date:-1"
            newest_first = sort != "date:1"
            rows = (
                await db.scalars(
                    select(LogEvent)
                    .where(condition)
                    .order_by(LogEvent.log_id.desc() if newest_first else LogEvent.log_id.asc())
                    .offset(page.offset)
                    .limit(page.per_page)
                )
            ).all()
            items = [log_event_to_dict(row) for row in rows]
        return JSONResponse(page.body("logs", items, total))

    r.add_api_route("/users", list_users, methods=["GET"])
    r.add_api_route("/users", create_user, methods=["POST"])
    r.add_api_route("/users/{user_id:path}/logs", user_logs, methods=["GET"])
    # Before /users/{user_id:path}: that DELETE would otherwise take the unlink path.
    add_identity_routes(r, c, load, sapi)
    r.add_api_route("/users/{user_id:path}", get_user, methods=["GET"])
    r.add_api_route("/users/{user_id:path}", update_user, methods=["PATCH"])
    r.add_api_route("/users/{user_id:path}", delete_user, methods=["DELETE"])
    r.add_api_route("/users-by-email", users_by_email, methods=["GET"])
    return r
