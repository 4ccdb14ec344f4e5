"""/api/v2/segments (saved customer segments) and /api/v2/users/{id}/mentions (texts about the
company attached to a customer, scored for sentiment): Identa extensions of the Management API.

Scopes: read:segments / create:segments / delete:segments (or read:users for reading, and
update:users for writing); mentions take read:users / update:users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from identa.analytics import segments
from identa.container import Container
from identa.core.errors import DomainError
from identa.enrichment.service import mention_to_dict
from identa.events.streams.service import StreamNotFound
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, ApiError, bad_request, not_found
from identa.http.management.paging import paging
from identa.identity.profile import user_to_dict

EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _text(body: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(f"Payload validation error: '{key}' is required.")
        return None
    if not isinstance(value, str):
        raise bad_request(f"Payload validation error: '{key}' must be a string.")
    if len(value) > limit:
        raise bad_request(f"Payload validation error: '{key}' is longer than {limit} characters.")
    return value


def _domain(exc: DomainError) -> ApiError:
    if isinstance(exc, segments.SegmentNotFound):
        return not_found(exc.message, "inexistent_segment")
    return bad_request(exc.message, exc.code)


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2", tags=["segments"])

    async def can(request: Request, write: bool) -> None:
        caller = await authenticate(c, request)
        wanted = {"create:segments", "delete:segments", "update:users"} if write else {
            "read:segments", "read:users", "read:analytics"}  # fmt: skip
        if not caller.scopes & wanted:
            raise ApiError(
                403,
                f"Insufficient scope, expected any of: {', '.join(sorted(wanted))}",
                "insufficient_scope",
            )

    @api
    async def create_segment(request: Request) -> Response:
        await can(request, True)
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        name = _text(body, "name", 255, required=True)
        query = _text(body, "query", 2000, required=True)
        description = _text(body, "description", 2000)
        assert name is not None and query is not None
        async with c.unit_of_work() as uow:
            try:
                segment, count = await segments.create(
                    uow.session, c.clock.now(), name=name, query=query, description=description
                )
            except DomainError as exc:
                raise _domain(exc) from exc
            out = segments.segment_to_dict(segment, count)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def list_segments(request: Request) -> Response:
        await can(request, False)
        async with c.unit_of_work() as uow:
            rows = await segments.all_segments(uow.session)
            return JSONResponse([segments.segment_to_dict(s) for s in rows])

    @api
    async def get_segment(request: Request) -> Response:
        await can(request, False)
        async with c.unit_of_work() as uow:
            try:
                segment = await segments.get(uow.session, request.path_params["id"])
                count = await segments.live_count(uow.session, segment)
            except DomainError as exc:
                raise _domain(exc) from exc
            return JSONResponse(segments.segment_to_dict(segment, count))

    @api
    async def delete_segment(request: Request) -> Response:
        await can(request, True)
        async with c.unit_of_work() as uow:
            try:
                await segments.remove(uow.session, request.path_params["id"])
            except DomainError as exc:
                raise _domain(exc) from exc
            await uow.commit()
        return Response(status_code=204)

    @api
    async def segment_members(request: Request) -> Response:
        await can(request, False)
        page = paging(request)
        async with c.unit_of_work() as uow:
            try:
                segment = await segments.get(uow.session, request.path_params["id"])
                found = await segments.members(
                    uow.session, segment, page=page.offset // page.per_page, per_page=page.per_page
                )
            except DomainError as exc:
                raise _domain(exc) from exc
            users = [user_to_dict(user) for user in found.users]
        return JSONResponse(
            {"start": page.offset, "limit": page.per_page, "total": found.total, "users": users}
        )

    @api
    async def segment_trend(request: Request) -> Response:
        await can(request, False)
        async with c.unit_of_work() as uow:
            try:
                segment = await segments.get(uow.session, request.path_params["id"])
                points = await segments.trend(uow.session, segment, c.clock.now())
            except DomainError as exc:
                raise _domain(exc) from exc
        return JSONResponse({"id": segment.id, "trend": points})

    @api
    async def segment_export(request: Request) -> Response:
        await can(request, False)
        fmt = request.query_params.get("format") or "csv"
        if fmt not in EXPORT_TYPES:
            raise bad_request(
                "Query validation error: 'format' must be csv or json.", "invalid_query_string"
            )
        async with c.unit_of_work() as uow:
            try:
                segment = await segments.get(uow.session, request.path_params["id"])
                segments.condition_for(uow.session, segment.query)
            except DomainError as exc:
                raise _domain(exc) from exc

        async def body() -> Any:
            # Its own unit of work, open while the response streams.
            async with c.unit_of_work() as uow:
                async for chunk in segments.export(uow.session, segment, fmt):
                    yield chunk

        filename = f"segment-{segment.id}.{fmt}"
        return StreamingResponse(
            body(),
            media_type=EXPORT_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @api
    async def segment_handoff(request: Request) -> Response:
        await can(request, True)
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        stream_id = _text(body, "log_stream_id", 64, required=True)
        campaign = _text(body, "campaign", 255)
        assert stream_id is not None
        async with c.unit_of_work() as uow:
            db = uow.session
            try:
                segment = await segments.get(db, request.path_params["id"])
                await c.streams.get(db, stream_id)
                sent = await segments.handoff(
                    db, segment, c.clock.now(), log_stream_id=stream_id, campaign=campaign
                )
            except StreamNotFound as exc:
                raise not_found(exc.message, "inexistent_log_stream") from exc
            except DomainError as exc:
                raise _domain(exc) from exc
            await uow.commit()
        return JSONResponse(
            {"segment_id": segment.id, "log_stream_id": stream_id, "members": sent},
            status_code=202,
        )

    @api
    async def add_mention(request: Request) -> Response:
        caller = await authenticate(c, request)
        if "update:users" not in caller.scopes:
            raise ApiError(403, "Insufficient scope, expected any of: update:users",
                           "insufficient_scope")  # fmt: skip
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        text = _text(body, "text", 10_000, required=True)
        source = _text(body, "source", 64) or "api"
        url = _text(body, "url", 2048)
        created_raw = _text(body, "created_at", 64)
        created_at = None
        if created_raw:
            try:
                created_at = datetime.fromisoformat(created_raw.replace("Z", "+00:00"))
            except ValueError as exc:
                raise bad_request(
                    "Payload validation error: 'created_at' must be ISO 8601."
                ) from exc
            if created_at.tzinfo is None:
                raise bad_request("Payload validation error: 'created_at' needs a time zone.")
        assert text is not None
        async with c.unit_of_work() as uow:
            db = uow.session
            user = await c.users.find(db, request.path_params["id"][:255])
            if user is None:
                raise not_found("The user does not exist.", "inexistent_user")
            try:
                mention, profile = await c.enrichment.add_mention(
                    db, user, text=text, source=source, url=url, created_at=created_at
                )
            except DomainError as exc:
                raise bad_request(exc.message) from exc
            out = mention_to_dict(mention)
            out["customer_sentiment"] = {
                "score": profile.sentiment_score,
                "mentions": profile.sentiment_count,
            }
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def list_mentions(request: Request) -> Response:
        await authenticate(c, request, "read:users")
        async with c.unit_of_work() as uow:
            rows = await c.enrichment.mentions(uow.session, request.path_params["id"][:255])
            return JSONResponse([mention_to_dict(m) for m in rows])

    add = r.add_api_route
    add("/segments", create_segment, methods=["POST"], summary="Save a segment (a user query)")
    add("/segments", list_segments, methods=["GET"], summary="List saved segments")
    add("/segments/{id}", get_segment, methods=["GET"], summary="A segment with its live count")
    add("/segments/{id}", delete_segment, methods=["DELETE"], summary="Delete a segment")
    add("/segments/{id}/members", segment_members, methods=["GET"],
        summary="A page of a segment's members: {users, total}")  # fmt: skip
    add("/segments/{id}/trend", segment_trend, methods=["GET"],
        summary="A segment's member count per day")  # fmt: skip
    add("/segments/{id}/export", segment_export, methods=["GET"],
        summary="Every member as CSV or a JSON array, streamed")  # fmt: skip
    add("/segments/{id}/handoff", segment_handoff, methods=["POST"],
        summary="Hand the members to the log streams for a campaign")  # fmt: skip
    add("/users/{id:path}/mentions", add_mention, methods=["POST"],
        summary="Attach a text about the company to a customer; scored with VADER")  # fmt: skip
    add("/users/{id:path}/mentions", list_mentions, methods=["GET"],
        summary="A customer's mentions, newest first")  # fmt: skip
    return r
