"""POST /dbconnections/signup and /dbconnections/change_password, in Auth0's shapes.

Errors here use Auth0's `{name, code, description, statusCode}` body, not the OAuth one.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from identa.clients.models import Client
from identa.connections.errors import ConnectionDisabled, ConnectionNotFound
from identa.connections.models import Connection
from identa.connections.service import is_database
from identa.container import Container
from identa.core.errors import DomainError
from identa.flows.errors import SignupDisabled
from identa.http.context import request_context
from identa.http.forms import BadForm, read_body
from identa.identity.errors import PasswordPolicyError, UserExists, UsernameExists
from identa.identity.service import NewDatabaseUser

MAX_BODY = 64 * 1024
CHANGE_PASSWORD_SENT = "We've just sent you an email to reset your password."


def db_error(
    status: int, code: str, description: Any, name: str = "BadRequestError"
) -> JSONResponse:
    return JSONResponse(
        {"name": name, "code": code, "description": description, "statusCode": status},
        status_code=status,
    )


async def read_payload(request: Request, limit: int = MAX_BODY) -> dict[str, Any]:
    """JSON or form body; JSON nulls are treated as absent, as Auth0's SDKs send them."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, limit)
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadForm("The body is not valid UTF-8.") from exc
        return dict(pairs)
    try:
        data = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm("The body must be a JSON object in UTF-8.") from exc
    if not isinstance(data, dict):
        raise BadForm("The body must be a JSON object.")
    return {key: value for key, value in data.items() if value is not None}


def _string(data: dict[str, Any], key: str, *, max_len: int = 1024) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadForm(f"{key} must be a string.")
    if len(value) > max_len:
        raise BadForm(f"{key} is too long.")
    return value


def router(c: Container) -> APIRouter:
    r = APIRouter()

    async def resolve(db: Any, data: dict[str, Any]) -> tuple[Client, Connection] | JSONResponse:
        client_id = _string(data, "client_id", max_len=64)
        if not client_id:
            return db_error(400, "invalid_request", "missing client_id parameter")
        client = await c.clients.find(db, client_id)
        if client is None:
            return db_error(401, "unauthorized", "Unknown client.", "UnauthorizedError")
        name = _string(data, "connection", max_len=128)
        if not name:
            return db_error(400, "invalid_request", "missing connection parameter")
        try:
            connection = await c.connections.by_name(db, name)
            await c.connections.require_enabled(db, connection, client.client_id)
        except ConnectionNotFound:
            return db_error(400, "invalid_connection", "Connection does not exist")
        except ConnectionDisabled:
            return db_error(400, "invalid_connection", "the connection was disabled")
        if not is_database(connection):
            return db_error(400, "invalid_connection", "Connection is not a database connection")
        return client, connection

    @r.post("/dbconnections/signup")
    async def signup(request: Request) -> Response:
        try:
            data = await read_payload(request)
            email = _string(data, "email", max_len=1024) or ""
            password = _string(data, "password", max_len=64 * 1024)
            username = _string(data, "username", max_len=1024)
            fields = {
                k: _string(data, k, max_len=4096)
                for k in (
                    "given_name",
                    "family_name",
                    "name",
                    "nickname",
                    "picture",
                    "phone_number",
                )
            }
            user_metadata = data.get("user_metadata")
            if user_metadata is not None:
                _check_signup_metadata(user_metadata)
        except BadForm as exc:
            return db_error(exc.status_code, "invalid_signup", exc.message)
        if not email:
            return db_error(400, "invalid_signup", "missing email parameter")
        if not password:
            return db_error(400, "invalid_password", "missing password parameter")
        async with c.unit_of_work() as uow:
            resolved = await resolve(uow.session, data)
            if isinstance(resolved, JSONResponse):
                return resolved
            client, connection = resolved
            new = NewDatabaseUser(
                email=email,
                password=password,
                username=username,
                user_metadata=user_metadata,
                given_name=fields["given_name"],
                family_name=fields["family_name"],
                name=fields["name"],
                nickname=fields["nickname"],
                picture=fields["picture"],
                phone_number=fields["phone_number"],
            )
            try:
                user = await c.flows.register(
                    uow.session,
                    client=client,
                    connection=connection,
                    new=new,
                    request=request_context(request),
                )
            except PasswordPolicyError as exc:
                await uow.commit()
                return db_error(400, "invalid_password", exc.description, "PasswordStrengthError")
            except UserExists:
                await uow.commit()
                return db_error(400, "user_exists", "The user already exists.")
            except UsernameExists:
                await uow.commit()
                return db_error(400, "username_exists", "The username provided is in use already.")
            except SignupDisabled as exc:
                await uow.commit()
                return db_error(403, "operation_not_allowed", exc.message, "UnauthorizedError")
            except DomainError as exc:
                await uow.commit()
                return db_error(400, "invalid_signup", exc.message)
            out = {
                "_id": user.user_id.removeprefix("auth0|"),
                "email": user.email,
                "email_verified": user.email_verified,
                "username": user.username,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "name": user.name,
                "nickname": user.nickname,
                "picture": user.picture,
            }
            await uow.commit()
        return JSONResponse({k: v for k, v in out.items() if v is not None})

    @r.post("/dbconnections/change_password")
    async def change_password(request: Request) -> Response:
        try:
            data = await read_payload(request)
            email = _string(data, "email", max_len=1024)
        except BadForm as exc:
            return db_error(exc.status_code, "invalid_request", exc.message)
        if not email:
            return db_error(400, "invalid_request", "missing email parameter")
        async with c.unit_of_work() as uow:
            resolved = await resolve(uow.session, data)
            if isinstance(resolved, JSONResponse):
                return resolved
            client, connection = resolved
            await c.account.request_password_reset(
                uow.session,
                email=email,
                client=client,
                connection=connection,
                request=request_context(request),
            )
            await uow.commit()
        return PlainTextResponse(CHANGE_PASSWORD_SENT)

    return r


def _check_signup_metadata(value: Any) -> None:
    """Auth0 allows at most 10 string fields of at most 500 characters at sign-up."""
    if not isinstance(value, dict):
        raise BadForm("user_metadata must be an object.")
    if len(value) > 10:
        raise BadForm("user_metadata may have at most 10 fields at sign-up.")
    for key, inner in value.items():
        if not isinstance(inner, str) or len(inner) > 500:
            raise BadForm(f"user_metadata.{key} must be a string of at most 500 characters.")
