"""/api/v2/jobs (users imports and exports, verification e-mails) in Auth0's shapes, and the
signed download links of finished exports (/jobs/exports/{id}/{file}, no bearer token).

Auth0 caps an import file at 500 KB; Identa accepts up to IDENTA_JOBS__IMPORT_MAX_BYTES
(50 MB by default) and answers 413 beyond it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Message

from identa.connections.errors import ConnectionNotFound
from identa.connections.models import Connection
from identa.container import Container
from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.events.service import EventSubject
from identa.http.authn.dbconnections import read_payload
from identa.http.context import request_context
from identa.http.forms import BadForm, read_body
from identa.http.management.auth import Caller, authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, ApiError, bad_request, not_found
from identa.jobs.errors import ImportFileTooLarge, InvalidImportFile, JobNotFound
from identa.jobs.models import FAILED, USERS_IMPORT

# Room for the multipart envelope and the small fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


def _flag(value: Any, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad_request(f"Payload validation error: '{name}' must be true or false.")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"Payload content length greater than maximum allowed: {limit}", "too_large"
    )


async def _replayed(request: Request, body: bytes) -> Request:
    """A request whose body is `body` (already read, size-checked) for the form parser."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def router(c: Container) -> APIRouter:
    r = APIRouter()

    def sapi(db: Any, request: Request, caller: Caller, description: str) -> None:
        c.events.record(
            db,
            LogType.SUCCESS_API_OPERATION,
            subject=EventSubject(client_id=caller.client_id),
            request=request_context(request),
            description=description,
        )

    async def any_scope(request: Request, *scopes: str) -> Caller:
        caller = await authenticate(c, request)
        if not caller.scopes.intersection(scopes):
            raise ApiError(
                403,
                f"Insufficient scope, expected any of: {', '.join(scopes)}",
                "insufficient_scope",
            )
        return caller

    async def connection_by_id(db: Any, connection_id: Any) -> Connection:
        if not isinstance(connection_id, str) or len(connection_id) > 64:
            raise bad_request("Payload validation error: 'connection_id' must be a string.")
        try:
            return await c.connections.by_id(db, connection_id)
        except ConnectionNotFound as exc:
            raise bad_request("The connection does not exist.", "inexistent_connection") from exc

    async def load(db: Any, job_id: str) -> Any:
        try:
            return await c.jobs.get(db, job_id)
        except JobNotFound as exc:
            raise not_found("The job does not exist.", "inexistent_job") from exc

    @api
    async def users_imports(request: Request) -> Response:
        caller = await authenticate(c, request, "create:users")
        limit = c.settings.jobs.import_max_bytes
        content_type = request.headers.get("content-type", "").lower()
        if not content_type.startswith("multipart/form-data"):
            raise bad_request("The request must be sent as multipart/form-data.")
        try:
            body = await read_body(request, limit + MULTIPART_OVERHEAD)
        except BadForm as exc:
            raise _too_large(limit) from exc
        try:
            form = await (await _replayed(request, body)).form(
                max_files=1, max_fields=20, max_part_size=limit
            )
        except MultiPartException as exc:
            raise bad_request(f"The multipart body is malformed: {exc.message}") from exc
        except HTTPException as exc:
            raise bad_request(f"The multipart body is malformed: {exc.detail}") from exc
        try:
            users = form.get("users")
            if users is None:
                raise bad_request("Payload validation error: 'Missing required property: users'.")
            data = await users.read() if isinstance(users, UploadFile) else users.encode()
            connection_id = form.get("connection_id")
            if not connection_id:
                raise bad_request(
                    "Payload validation error: 'Missing required property: connection_id'."
                )
            upsert = _flag(form.get("upsert"), "upsert", False)
            completion = _flag(form.get("send_completion_email"), "send_completion_email", True)
            external_id = form.get("external_id")
            if external_id is not None and (
                not isinstance(external_id, str) or len(external_id) > 255
            ):
                raise bad_request("Payload validation error: 'external_id' must be a string.")
        finally:
            await form.close()
        if len(data) > limit:
            raise _too_large(limit)
        async with c.unit_of_work() as uow:
            db = uow.session
            connection = await connection_by_id(db, connection_id)
            try:
                job = await c.jobs.create_import(
                    db,
                    connection=connection,
                    data=data,
                    upsert=upsert,
                    external_id=external_id or None,
                    send_completion_email=completion,
                    client_id=caller.client_id,
                )
            except ImportFileTooLarge as exc:
                raise _too_large(limit) from exc
            except InvalidImportFile as exc:
                raise bad_request(exc.message) from exc
            except DomainError as exc:
                raise bad_request(exc.message, "operation_not_supported") from exc
            sapi(db, request, caller, "Create import users job")
            out = c.jobs.describe(job)
            await uow.commit()
        c.jobs.wake()
        return JSONResponse(out, status_code=202)

    @api
    async def users_exports(request: Request) -> Response:
        caller = await authenticate(c, request, "read:users")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        fmt = body.get("format", "json")
        if fmt not in ("json", "csv"):
            raise bad_request("Payload validation error: 'format' must be json or csv.")
        async with c.unit_of_work() as uow:
            db = uow.session
            connection = None
            if body.get("connection_id") is not None:
                connection = await connection_by_id(db, body["connection_id"])
            try:
                job = await c.jobs.create_export(
                    db,
                    connection=connection,
                    format=fmt,
                    limit=body.get("limit"),
                    fields=body.get("fields"),
                    client_id=caller.client_id,
                )
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            sapi(db, request, caller, "Create export users job")
            out = c.jobs.describe(job)
            await uow.commit()
        c.jobs.wake()
        return JSONResponse(out)

    @api
    async def verification_email(request: Request) -> Response:
        caller = await authenticate(c, request, "update:users")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        user_id = body.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise bad_request("Payload validation error: 'Missing required property: user_id'.")
        client_id = body.get("client_id")
        async with c.unit_of_work() as uow:
            db = uow.session
            user = await c.users.find(db, user_id) if len(user_id) <= 255 else None
            if user is None:
                raise not_found("The user does not exist.")
            if client_id is not None:
                client = (
                    await c.clients.find(db, str(client_id)) if len(str(client_id)) <= 64 else None
                )
                if client is None:
                    raise not_found("The client does not exist.", "inexistent_client")
            else:
                client = await c.flows.default_client(db)
            try:
                await c.flows.mail.send_verification(db, user, client=client)
            except DomainError as exc:
                raise bad_request(exc.message) from exc
            job = await c.jobs.record_verification_email(db, client_id=caller.client_id)
            sapi(db, request, caller, "Send a verification email")
            out = c.jobs.describe(job)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def get_job(request: Request) -> Response:
        await any_scope(request, "create:users", "read:users")
        async with c.unit_of_work() as uow:
            job = await load(uow.session, request.path_params["job_id"])
            return JSONResponse(c.jobs.describe(job))

    @api
    async def job_errors(request: Request) -> Response:
        await any_scope(request, "create:users", "read:users")
        async with c.unit_of_work() as uow:
            job = await load(uow.session, request.path_params["job_id"])
            errors = (
                await c.jobs.import_errors(uow.session, job) if job.type == USERS_IMPORT else []
            )
        if errors:
            return JSONResponse(errors)
        if job.status == FAILED:
            described = c.jobs.describe(job)
            keys = ("status", "type", "id", "connection_id", "status_details")
            return JSONResponse({k: described[k] for k in keys if k in described})
        return Response(status_code=204)

    async def download(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        if not c.jobs.download_allowed(
            job_id, request.query_params.get("expires"), request.query_params.get("signature")
        ):
            return ApiError(
                403, "The download link is invalid or has expired.", "invalid_signature"
            ).response()
        try:
            pieces = await c.jobs.export_pieces(job_id)
        except JobNotFound:
            return not_found("The export does not exist.", "inexistent_job").response()

        async def stream() -> AsyncIterator[bytes]:
            async for piece in pieces:
                yield piece

        filename = request.path_params["filename"]
        return StreamingResponse(
            stream(),
            media_type="application/gzip",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    r.add_api_route("/api/v2/jobs/users-imports", users_imports, methods=["POST"])
    r.add_api_route("/api/v2/jobs/users-exports", users_exports, methods=["POST"])
    r.add_api_route("/api/v2/jobs/verification-email", verification_email, methods=["POST"])
    r.add_api_route("/api/v2/jobs/{job_id}/errors", job_errors, methods=["GET"])
    r.add_api_route("/api/v2/jobs/{job_id}", get_job, methods=["GET"])
    r.add_api_route("/jobs/exports/{job_id}/{filename}", download, methods=["GET"])
    return r
