"""/api/v2/user-blocks and /api/v2/tickets: lifting brute-force blocks, e-mail links on demand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.container import Container
from identa.flows.tickets import RESET_PASSWORD, VERIFY_EMAIL
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, bad_request, not_found
from identa.identity.models import User

DEFAULT_TICKET_TTL = 432000  # Auth0: five days when ttl_sec is 0 or absent


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    async def load(db: Any, user_id: str) -> User:
        user = await c.users.find(db, user_id) if len(user_id) <= 255 else None
        if user is None:
            raise not_found("The user does not exist.")
        return user

    @api
    async def blocks_by_identifier(request: Request) -> Response:
        identifier = request.query_params.get("identifier")
        if not identifier:
            raise bad_request(
                "Query validation error: Missing required property: identifier.",
                "invalid_query_string",
            )
        if request.method == "DELETE":
            await authenticate(c, request, "update:users")
        else:
            await authenticate(c, request, "read:users")
        async with c.unit_of_work() as uow:
            db = uow.session
            users = await c.users.by_email(db, identifier[:254])
            if request.method == "DELETE":
                for user in users:
                    await c.users.release_brute_force(db, user)
                await c.users.release_brute_force_identifier(db, identifier)
                await uow.commit()
                return Response(status_code=204)
            blocked: list[dict[str, str]] = []
            for user in users:
                blocked.extend(await c.users.brute_force_blocks(db, user))
            return JSONResponse({"blocked_for": blocked})

    @api
    async def blocks_by_user(request: Request) -> Response:
        scope = "update:users" if request.method == "DELETE" else "read:users"
        await authenticate(c, request, scope)
        async with c.unit_of_work() as uow:
            db = uow.session
            user = await load(db, request.path_params["user_id"])
            if request.method == "DELETE":
                await c.users.release_brute_force(db, user)
                await uow.commit()
                return Response(status_code=204)
            return JSONResponse({"blocked_for": await c.users.brute_force_blocks(db, user)})

    async def ticket(request: Request, purpose: str) -> Response:
        await authenticate(c, request, "create:user_tickets")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        ttl = body.get("ttl_sec") or DEFAULT_TICKET_TTL
        if not isinstance(ttl, int) or ttl < 0 or ttl > 30 * 86400:
            raise bad_request("Payload validation error: 'ttl_sec' must be 0 to 2592000.")
        result_url = body.get("result_url")
        if result_url is not None and (not isinstance(result_url, str) or len(result_url) > 2048):
            raise bad_request("Payload validation error: 'result_url' must be a URL.")
        async with c.unit_of_work() as uow:
            db = uow.session
            user_id = body.get("user_id")
            if isinstance(user_id, str):
                user = await load(db, user_id)
            elif purpose == RESET_PASSWORD and isinstance(body.get("email"), str):
                matches = await c.users.by_email(db, body["email"])
                if not matches:
                    raise not_found("The user does not exist.")
                user = matches[0]
            else:
                raise bad_request("Payload validation error: Missing required property: user_id.")
            issued = await c.tickets.issue(
                db,
                purpose=purpose,
                user_id=user.user_id,
                ttl_seconds=ttl,
                client_id=body.get("client_id") if isinstance(body.get("client_id"), str) else None,
                result_url=result_url,
                mark_email_verified=body.get("mark_email_as_verified") is True,
            )
            links = c.flows.links
            url = (
                links.verify_email(issued.token)
                if purpose == VERIFY_EMAIL
                else links.reset_password(issued.token)
            )
            await uow.commit()
        return JSONResponse({"ticket": url}, status_code=201)

    @api
    async def password_change_ticket(request: Request) -> Response:
        return await ticket(request, RESET_PASSWORD)

    @api
    async def email_verification_ticket(request: Request) -> Response:
        return await ticket(request, VERIFY_EMAIL)

    r.add_api_route("/user-blocks", blocks_by_identifier, methods=["GET", "DELETE"])
    r.add_api_route("/user-blocks/{user_id:path}", blocks_by_user, methods=["GET", "DELETE"])
    r.add_api_route("/tickets/password-change", password_change_ticket, methods=["POST"])
    r.add_api_route("/tickets/email-verification", email_verification_ticket, methods=["POST"])
    return r
