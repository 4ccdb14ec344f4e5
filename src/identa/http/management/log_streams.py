"""/api/v2/log-streams in Auth0's shapes, plus Identa's delivery status and dead letters.

GET /log-streams/{id} carries a `delivery` object (an Identa extension): cursor, last delivered
id, lag, failures, dead letters, last error. GET /log-streams/{id}/dead-letters lists the events
a stream gave up on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.container import Container
from identa.core.errors import DomainError
from identa.events.streams.models import LogStream
from identa.events.streams.service import (
    StreamNotFound,
    dead_letter_to_dict,
    stream_to_dict,
)
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, bad_request, not_found
from identa.http.management.paging import paging

CREATABLE = {"name", "type", "sink", "filters", "status", "startFrom", "isPriority", "pii_config"}
PATCHABLE = {"name", "sink", "filters", "status", "isPriority", "pii_config"}


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_request(
            f"Payload validation error: Additional properties not allowed: {', '.join(unknown)}"
        )
    if body.get("isPriority") not in (None, False):
        raise bad_request("Payload validation error: 'isPriority' streams are not supported.")
    if body.get("pii_config") is not None:
        raise bad_request("Payload validation error: 'pii_config' is not supported.")


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    async def load(db: Any, stream_id: str) -> LogStream:
        try:
            return await c.streams.get(db, stream_id)
        except StreamNotFound as exc:
            raise not_found("The log stream does not exist.", "inexistent_log_stream") from exc

    @api
    async def list_streams(request: Request) -> Response:
        await authenticate(c, request, "read:log_streams")
        async with c.unit_of_work() as uow:
            streams = await c.streams.all(uow.session)
            return JSONResponse([stream_to_dict(stream) for stream in streams])

    @api
    async def get_stream(request: Request) -> Response:
        await authenticate(c, request, "read:log_streams")
        async with c.unit_of_work() as uow:
            stream = await load(uow.session, request.path_params["id"])
            out = stream_to_dict(stream)
            out["delivery"] = (await c.streams.delivery(uow.session, stream)).as_dict()
            return JSONResponse(out)

    @api
    async def create_stream(request: Request) -> Response:
        await authenticate(c, request, "create:log_streams")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        _unknown(body, CREATABLE)
        missing = [key for key in ("name", "type", "sink") if key not in body]
        if missing:
            raise bad_request(
                f"Payload validation error: Missing required properties: {', '.join(missing)}."
            )
        async with c.unit_of_work() as uow:
            try:
                stream = await c.streams.create(
                    uow.session,
                    name=body["name"],
                    type_=body["type"],
                    sink=body["sink"],
                    filters=body.get("filters"),
                    status=body.get("status"),
                    start_from=body.get("startFrom"),
                )
            except DomainError as exc:
                raise bad_request(exc.message) from exc
            out = stream_to_dict(stream)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def update_stream(request: Request) -> Response:
        await authenticate(c, request, "update:log_streams")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        _unknown(body, PATCHABLE)
        async with c.unit_of_work() as uow:
            stream = await load(uow.session, request.path_params["id"])
            try:
                await c.streams.update(uow.session, stream, body)
            except DomainError as exc:
                raise bad_request(exc.message) from exc
            out = stream_to_dict(stream)
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_stream(request: Request) -> Response:
        await authenticate(c, request, "delete:log_streams")
        async with c.unit_of_work() as uow:
            await c.streams.delete(uow.session, await load(uow.session, request.path_params["id"]))
            await uow.commit()
        return Response(status_code=204)

    @api
    async def dead_letters(request: Request) -> Response:
        await authenticate(c, request, "read:log_streams")
        page = paging(request)
        async with c.unit_of_work() as uow:
            stream = await load(uow.session, request.path_params["id"])
            rows = await c.streams.dead_letters(
                uow.session, stream, offset=page.offset, limit=page.per_page
            )
            return JSONResponse([dead_letter_to_dict(row) for row in rows])

    r.add_api_route("/log-streams", list_streams, methods=["GET"])
    r.add_api_route("/log-streams", create_stream, methods=["POST"])
    r.add_api_route("/log-streams/{id}", get_stream, methods=["GET"])
    r.add_api_route("/log-streams/{id}", update_stream, methods=["PATCH"])
    r.add_api_route("/log-streams/{id}", delete_stream, methods=["DELETE"])
    r.add_api_route("/log-streams/{id}/dead-letters", dead_letters, methods=["GET"])
    return r
