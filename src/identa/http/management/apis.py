"""/api/v2/resource-servers and /api/v2/client-grants in Auth0's shapes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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
from identa.oidc.models import ClientGrant, ResourceServer


def api_to_dict(row: ResourceServer) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "identifier": row.identifier,
        "scopes": list(row.scopes or []),
        "signing_alg": row.signing_alg,
        "token_lifetime": row.token_lifetime,
        "allow_offline_access": row.allow_offline_access,
        "skip_consent_for_verifiable_first_party_clients": (
            row.skip_consent_for_verifiable_first_party_clients
        ),
        "is_system": row.is_system,
    }


def grant_to_dict(row: ClientGrant) -> dict[str, Any]:
    return {
        "id": row.id,
        "client_id": row.client_id,
        "audience": row.audience,
        "scope": list(row.scope or []),
    }


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    async def load_api(db: AsyncSession, api_id: str) -> ResourceServer:
        row = await db.get(ResourceServer, api_id) if len(api_id) <= 32 else None
        if row is None:
            row = await c.oidc.resource_server(db, api_id)  # Auth0 also accepts the identifier
        if row is None:
            raise not_found("The resource server does not exist", "inexistent_resource_server")
        return row

    @api
    async def list_apis(request: Request) -> Response:
        await authenticate(c, request, "read:resource_servers")
        page = paging(request)
        # `identifiers` filters by audience (repeated, as Auth0's SDKs send a list).
        wanted = {
            c.oidc.canonical_audience(value) or value
            for value in request.query_params.getlist("identifiers")
            if value
        }
        async with c.unit_of_work() as uow:
            rows = [
                row
                for row in await c.oidc.all_apis(uow.session)
                if not wanted or row.identifier in wanted
            ]
        items = [
            select_fields(request, api_to_dict(row))
            for row in rows[page.offset : page.offset + page.per_page]
        ]
        return JSONResponse(page.body("resource_servers", items, len(rows)))

    @api
    async def get_api(request: Request) -> Response:
        await authenticate(c, request, "read:resource_servers")
        async with c.unit_of_work() as uow:
            return JSONResponse(api_to_dict(await load_api(uow.session, request.path_params["id"])))

    @api
    async def create_api(request: Request) -> Response:
        await authenticate(c, request, "create:resource_servers")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        if not isinstance(body.get("identifier"), str):
            raise bad_request("Payload validation error: Missing required property: identifier.")
        async with c.unit_of_work() as uow:
            try:
                row = await c.oidc.create_api(
                    uow.session,
                    identifier=body["identifier"],
                    name=body.get("name"),
                    scopes=body.get("scopes"),
                    signing_alg=body.get("signing_alg", "RS256"),
                    token_lifetime=body.get("token_lifetime", 86400),
                    allow_offline_access=body.get("allow_offline_access") is True,
                )
            except DomainError as exc:
                raise ApiError(
                    409 if exc.code == "conflict" else 400,
                    exc.message,
                    "resource_server_conflict" if exc.code == "conflict" else "invalid_body",
                ) from exc
            out = api_to_dict(row)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def update_api(request: Request) -> Response:
        await authenticate(c, request, "update:resource_servers")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        async with c.unit_of_work() as uow:
            row = await load_api(uow.session, request.path_params["id"])
            try:
                c.oidc.configure_api(
                    row,
                    scopes=body.get("scopes"),
                    signing_alg=body.get("signing_alg"),
                    token_lifetime=body.get("token_lifetime"),
                )
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            if isinstance(body.get("name"), str):
                row.name = body["name"]
            if isinstance(body.get("allow_offline_access"), bool):
                row.allow_offline_access = body["allow_offline_access"]
            out = api_to_dict(row)
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_api(request: Request) -> Response:
        await authenticate(c, request, "delete:resource_servers")
        async with c.unit_of_work() as uow:
            row = await load_api(uow.session, request.path_params["id"])
            if row.is_system:
                raise bad_request(
                    "The Management API cannot be deleted.", "operation_not_supported"
                )
            await uow.session.delete(row)
            await uow.commit()
        return Response(status_code=204)

    @api
    async def list_grants(request: Request) -> Response:
        await authenticate(c, request, "read:client_grants")
        params = request.query_params
        audience = c.oidc.canonical_audience(params.get("audience") or None)
        async with c.unit_of_work() as uow:
            rows = [
                row
                for row in await c.oidc.grants(uow.session, params.get("client_id"))
                if audience is None or row.audience == audience
            ]
        if params.get("from") is not None or params.get("take") is not None:
            # Checkpoint paging, as Auth0's SDKs page client grants: ordered by id, `from` is
            # the previous page's `next`, which is left out on the last page.
            take = checkpoint_take(request)
            after = params.get("from") or ""
            ordered = sorted((row for row in rows if row.id > after), key=lambda row: row.id)
            chosen = ordered[:take]
            body: dict[str, Any] = {"client_grants": [grant_to_dict(row) for row in chosen]}
            if len(ordered) > take:
                body["next"] = chosen[-1].id
            return JSONResponse(body)
        page = paging(request)
        items = [grant_to_dict(row) for row in rows[page.offset : page.offset + page.per_page]]
        return JSONResponse(page.body("client_grants", items, len(rows)))

    @api
    async def create_grant(request: Request) -> Response:
        await authenticate(c, request, "create:client_grants")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        client_id, audience, scope = body.get("client_id"), body.get("audience"), body.get("scope")
        if (
            not isinstance(client_id, str)
            or not isinstance(audience, str)
            or not isinstance(scope, list)
        ):
            raise bad_request(
                "Payload validation error: client_id, audience and scope are required."
            )
        async with c.unit_of_work() as uow:
            db = uow.session
            if await c.clients.find(db, client_id) is None:
                raise not_found("The client does not exist", "inexistent_client")
            row_api = await c.oidc.resource_server(db, audience)
            if row_api is None:
                raise not_found("The resource server does not exist", "inexistent_resource_server")
            known = {s["value"] for s in row_api.scopes}
            unknown = [s for s in scope if s not in known]
            if unknown:
                raise bad_request(f"Scopes not defined by the API: {', '.join(map(str, unknown))}")
            grant = await c.oidc.grant_client(db, client_id, row_api.identifier, list(scope))
            out = grant_to_dict(grant)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def delete_grant(request: Request) -> Response:
        await authenticate(c, request, "delete:client_grants")
        async with c.unit_of_work() as uow:
            row = await uow.session.get(ClientGrant, request.path_params["id"][:32])
            if row is None:
                raise not_found("The client grant does not exist", "inexistent_client_grant")
            await uow.session.delete(row)
            await uow.commit()
        return Response(status_code=204)

    r.add_api_route("/resource-servers", list_apis, methods=["GET"])
    r.add_api_route("/resource-servers", create_api, methods=["POST"])
    r.add_api_route("/resource-servers/{id:path}", get_api, methods=["GET"])
    r.add_api_route("/resource-servers/{id:path}", update_api, methods=["PATCH"])
    r.add_api_route("/resource-servers/{id:path}", delete_api, methods=["DELETE"])
    r.add_api_route("/client-grants", list_grants, methods=["GET"])
    r.add_api_route("/client-grants", create_grant, methods=["POST"])
    r.add_api_route("/client-grants/{id}", delete_grant, methods=["DELETE"])
    return r
