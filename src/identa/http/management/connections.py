"""/api/v2/connections in Auth0's shape, with enabled_clients."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.connections.models import Connection
from identa.connections.social.options import prepare_options, public_options
from identa.connections.social.presets import is_upstream
from identa.container import Container
from identa.core.errors import DomainError
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, ApiError, bad_request, not_found
from identa.http.management.paging import (
    checkpoint_take,
    paging,
    select_fields,
)


async def connection_to_dict(c: Container, db: Any, row: Connection) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "display_name": row.display_name or row.name,
        "strategy": row.strategy,
        "options": public_options(row.strategy, dict(row.options or {})),
        "enabled_clients": await c.connections.enabled_clients(db, row),
        "is_domain_connection": row.is_domain_connection,
        "show_as_button": row.show_as_button,
        "realms": [row.name],
        "metadata": dict(row.metadata_ or {}),
    }


def _client_ids(body: dict[str, Any]) -> list[str] | None:
    value = body.get("enabled_clients")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(
            "Payload validation error: 'enabled_clients' must be an array of client ids."
        )
    return list(value)


def _upstream_options(
    c: Container, strategy: str, options: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Checks a social/enterprise connection's options and seals its secrets."""
    if not is_upstream(strategy):
        return options
    try:
        return prepare_options(strategy, options, c.social.secrets, previous)
    except DomainError as exc:
        raise bad_request(f"Payload validation error: {exc.message}") from exc


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    async def load(db: AsyncSession, connection_id: str) -> Connection:
        row = await db.get(Connection, connection_id) if len(connection_id) <= 32 else None
        if row is None:
            raise not_found("The connection does not exist", "inexistent_connection")
        return row

    async def check_clients(db: Any, client_ids: list[str]) -> None:
        for client_id in client_ids:
            if await c.clients.find(db, client_id) is None:
                raise bad_request(f"The client {client_id} does not exist.", "inexistent_client")

    @api
    async def list_connections(request: Request) -> Response:
        await authenticate(c, request, "read:connections")
        page = paging(request)
        query = select(Connection)
        for key in ("strategy", "name"):
            value = request.query_params.get(key)
            if value:
                query = query.where(getattr(Connection, key) == value)
        params = request.query_params
        if params.get("from") is not None or params.get("take") is not None:
            # Checkpoint paging, as Auth0's SDKs page connections: ordered by id, `from` is the
            # `next` of the previous page; `next` is left out on the last page.
            take = checkpoint_take(request)
            if params.get("from"):
                query = query.where(Connection.id > params["from"][:64])
            async with c.unit_of_work() as uow:
                db = uow.session
                rows = (await db.scalars(query.order_by(Connection.id).limit(take + 1))).all()
                more = len(rows) > take
                rows = rows[:take]
                body: dict[str, Any] = {
                    "connections": [
                        select_fields(request, await connection_to_dict(c, db, row)) for row in rows
                    ]
                }
            if more:
                body["next"] = rows[-1].id
            return JSONResponse(body)
        async with c.unit_of_work() as uow:
            db = uow.session
            total = int(await db.scalar(select(func.count()).select_from(query.subquery())) or 0)
            rows = (
                await db.scalars(
                    query.order_by(Connection.name).offset(page.offset).limit(page.per_page)
                )
            ).all()
            items = [select_fields(request, await connection_to_dict(c, db, row)) for row in rows]
        return JSONResponse(page.body("connections", items, total))

    @api
    async def get_connection(request: Request) -> Response:
        await authenticate(c, request, "read:connections")
        async with c.unit_of_work() as uow:
            row = await load(uow.session, request.path_params["id"])
            return JSONResponse(
                select_fields(request, await connection_to_dict(c, uow.session, row))
            )

    @api
    async def create_connection(request: Request) -> Response:
        await authenticate(c, request, "create:connections")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        name, strategy = body.get("name"), body.get("strategy")
        if not isinstance(name, str) or not isinstance(strategy, str):
            raise bad_request(
                "Payload validation error: Missing required properties: name, strategy."
            )
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise bad_request("Payload validation error: 'options' must be an object.")
        client_ids = _client_ids(body) or []
        options = _upstream_options(c, strategy, options, None)
        async with c.unit_of_work() as uow:
            db = uow.session
            await check_clients(db, client_ids)
            try:
                row = await c.connections.create(
                    db,
                    name=name,
                    strategy=strategy,
                    options=options,
                    enabled_clients=client_ids,
                    display_name=body.get("display_name")
                    if isinstance(body.get("display_name"), str)
                    else None,
                )
            except DomainError as exc:
                status = 409 if exc.code == "conflict" else 400
                raise ApiError(
                    status, exc.message, "connection_conflict" if status == 409 else "invalid_body"
                ) from exc
            out = await connection_to_dict(c, db, row)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def update_connection(request: Request) -> Response:
        await authenticate(c, request, "update:connections")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        if "name" in body or "strategy" in body:
            raise bad_request("Payload validation error: name and strategy cannot be changed.")
        async with c.unit_of_work() as uow:
            db = uow.session
            row = await load(db, request.path_params["id"])
            if "options" in body:
                if not isinstance(body["options"], dict):
                    raise bad_request("Payload validation error: 'options' must be an object.")
                # Auth0 replaces the whole options object on PATCH (upstream secrets that are
                # not sent are kept: they are never shown, so a client cannot send them back).
                row.options = _upstream_options(
                    c, row.strategy, dict(body["options"]), dict(row.options or {})
                )
            client_ids = _client_ids(body)
            if client_ids is not None:
                await check_clients(db, client_ids)
                await c.connections.set_enabled_clients(db, row, client_ids)
            if isinstance(body.get("display_name"), str):
                row.display_name = body["display_name"]
            row.updated_at = c.clock.now()
            await db.flush()
            out = await connection_to_dict(c, db, row)
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_connection(request: Request) -> Response:
        await authenticate(c, request, "delete:connections")
        async with c.unit_of_work() as uow:
            row = await load(uow.session, request.path_params["id"])
            try:
                await uow.session.delete(row)
                await uow.session.flush()
            except IntegrityError as exc:
                raise ApiError(
                    409, "The connection still has users; delete them first.", "connection_in_use"
                ) from exc
            await uow.commit()
        return Response(status_code=204)

    r.add_api_route("/connections", list_connections, methods=["GET"])
    r.add_api_route("/connections", create_connection, methods=["POST"])
    r.add_api_route("/connections/{id}", get_connection, methods=["GET"])
    r.add_api_route("/connections/{id}", update_connection, methods=["PATCH"])
    r.add_api_route("/connections/{id}", delete_connection, methods=["DELETE"])
    return r
