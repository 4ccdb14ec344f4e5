"""/api/v2/profiling/*: Identa's progressive-profiling questions and policy (no Auth0 equivalent).

Scopes: `read:tenant_settings` to read, `update:tenant_settings` to change (it is tenant
configuration, like the login prompts).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.container import Container
from identa.core.errors import DomainError
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, bad_request, not_found
from identa.profiling.models import ProfilingQuestion
from identa.profiling.service import QuestionNotFound


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2/profiling")

    async def load(db: Any, question_id: str) -> ProfilingQuestion:
        try:
            return await c.profiling.get(db, question_id)
        except QuestionNotFound as exc:
            raise not_found("The question does not exist.", "inexistent_question") from exc

    @api
    async def list_questions(request: Request) -> Response:
        await authenticate(c, request, "read:tenant_settings")
        async with c.unit_of_work() as uow:
            rows = await c.profiling.questions(uow.session)
            return JSONResponse([row.as_dict() for row in rows])

    @api
    async def create_question(request: Request) -> Response:
        await authenticate(c, request, "update:tenant_settings")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        async with c.unit_of_work() as uow:
            try:
                row = await c.profiling.create(uow.session, body)
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            out = row.as_dict()
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def get_question(request: Request) -> Response:
        await authenticate(c, request, "read:tenant_settings")
        async with c.unit_of_work() as uow:
            row = await load(uow.session, request.path_params["id"])
            return JSONResponse(row.as_dict())

    @api
    async def update_question(request: Request) -> Response:
        await authenticate(c, request, "update:tenant_settings")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        async with c.unit_of_work() as uow:
            row = await load(uow.session, request.path_params["id"])
            try:
                await c.profiling.update(uow.session, row, body)
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            out = row.as_dict()
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_question(request: Request) -> Response:
        await authenticate(c, request, "update:tenant_settings")
        async with c.unit_of_work() as uow:
            await c.profiling.delete(
                uow.session, await load(uow.session, request.path_params["id"])
            )
            await uow.commit()
        return Response(status_code=204)

    @api
    async def get_policy(request: Request) -> Response:
        await authenticate(c, request, "read:tenant_settings")
        async with c.unit_of_work() as uow:
            return JSONResponse(await c.profiling.policy(uow.session))

    @api
    async def update_policy(request: Request) -> Response:
        await authenticate(c, request, "update:tenant_settings")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        async with c.unit_of_work() as uow:
            try:
                policy = await c.profiling.set_policy(uow.session, body)
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            await uow.commit()
        return JSONResponse(policy)

    r.add_api_route("/questions", list_questions, methods=["GET"])
    r.add_api_route("/questions", create_question, methods=["POST"])
    r.add_api_route("/questions/{id}", get_question, methods=["GET"])
    r.add_api_route("/questions/{id}", update_question, methods=["PATCH"])
    r.add_api_route("/questions/{id}", delete_question, methods=["DELETE"])
    r.add_api_route("/policy", get_policy, methods=["GET"])
    r.add_api_route("/policy", update_policy, methods=["PATCH"])
    return r
