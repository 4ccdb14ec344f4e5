"""/api/v2/clients in Auth0's shape. Secrets are stored hashed, so a client_secret is shown
only when it is created or rotated (Auth0 shows it on every read; Identa cannot)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.clients.models import APP_TYPES, AUTH_METHODS, Client
from identa.container import Container
from identa.core.clock import iso
from identa.core.errors import DomainError
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, bad_request, not_found
from identa.http.management.paging import paging, select_fields

URL_LISTS = ("callbacks", "allowed_logout_urls", "web_origins", "allowed_origins")
GRANTS = {
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
}


def client_to_dict(client: Client, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "client_id": client.client_id,
        "name": client.name,
        "description": client.description or "",
        "app_type": client.app_type,
        "is_first_party": client.is_first_party,
        "oidc_conformant": True,
        "callbacks": list(client.callbacks or []),
        "allowed_logout_urls": list(client.allowed_logout_urls or []),
        "web_origins": list(client.web_origins or []),
        "allowed_origins": list(client.allowed_origins or []),
        "grant_types": list(client.grant_types or []),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "client_metadata": dict(client.client_metadata or {}),
        "logo_uri": client.logo_uri,
        "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000},
        "global": client.is_global,
        "created_at": iso(client.created_at),
    }
    if client.primary_color:
        out["branding"] = {"colors": {"primary": client.primary_color}}
    if secret is not None:
        out["client_secret"] = secret
    return {k: v for k, v in out.items() if v is not None}


def _urls(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 2048 for v in value):
        raise bad_request(f"Payload validation error: '{key}' must be an array of URLs.")
    if len(value) > 500:
        raise bad_request(f"Payload validation error: '{key}' has more than 500 entries.")
    return list(value)


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in URL_LISTS:
        urls = _urls(body, key)
        if urls is not None:
            out[key] = urls
    if "grant_types" in body:
        grants = body["grant_types"]
        if not isinstance(grants, list) or not set(grants) <= GRANTS:
            raise bad_request("Payload validation error: unknown grant type.")
        out["grant_types"] = list(grants)
    if "app_type" in body and body["app_type"] not in APP_TYPES:
        raise bad_request(
            f"Payload validation error: app_type must be one of {', '.join(APP_TYPES)}."
        )
    if (
        "token_endpoint_auth_method" in body
        and body["token_endpoint_auth_method"] not in AUTH_METHODS
    ):
        raise bad_request("Payload validation error: unknown token_endpoint_auth_method.")
    metadata = body.get("client_metadata")
    if metadata is not None:
        if (
            not isinstance(metadata, dict)
            or len(metadata) > 10
            or not all(isinstance(v, str) and len(v) <= 255 for v in metadata.values())
        ):
            raise bad_request(
                "Payload validation error: client_metadata takes at most 10 string "
                "values of at most 255 characters."
            )
        out["client_metadata"] = dict(metadata)
    return out


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    async def load(db: Any, client_id: str) -> Client:
        client = await c.clients.find(db, client_id) if len(client_id) <= 64 else None
        if client is None:
            raise not_found("The client does not exist", "inexistent_client")
        return client

    @api
    async def list_clients(request: Request) -> Response:
        await authenticate(c, request, "read:clients")
        page = paging(request)
        async with c.unit_of_work() as uow:
            db = uow.session
            total = int(await db.scalar(select(func.count()).select_from(Client)) or 0)
            rows = (
                await db.scalars(
                    select(Client)
                    .order_by(Client.created_at, Client.client_id)
                    .offset(page.offset)
                    .limit(page.per_page)
                )
            ).all()
            items = [select_fields(request, client_to_dict(row)) for row in rows]
        return JSONResponse(page.body("clients", items, total))

    @api
    async def get_client(request: Request) -> Response:
        await authenticate(c, request, "read:clients")
        async with c.unit_of_work() as uow:
            client = await load(uow.session, request.path_params["client_id"])
            return JSONResponse(select_fields(request, client_to_dict(client)))

    @api
    async def create_client(request: Request) -> Response:
        await authenticate(c, request, "create:clients")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise bad_request("Payload validation error: Missing required property: name.")
        checked = _checked(body)
        branding = body.get("branding") or {}
        colors = branding.get("colors") if isinstance(branding, dict) else None
        async with c.unit_of_work() as uow:
            try:
                made = await c.clients.create(
                    uow.session,
                    name=name,
                    app_type=body.get("app_type", "regular_web"),
                    is_first_party=body.get("is_first_party", True) is not False,
                    callbacks=checked.get("callbacks"),
                    allowed_logout_urls=checked.get("allowed_logout_urls"),
                    web_origins=checked.get("web_origins"),
                    grant_types=checked.get("grant_types"),
                    token_endpoint_auth_method=body.get("token_endpoint_auth_method"),
                    logo_uri=body.get("logo_uri"),
                    primary_color=colors.get("primary") if isinstance(colors, dict) else None,
                    description=body.get("description")
                    if isinstance(body.get("description"), str)
                    else None,
                )
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            client = made.client
            client.allowed_origins = checked.get("allowed_origins", [])
            client.client_metadata = checked.get("client_metadata", {})
            out = client_to_dict(client, made.client_secret)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def update_client(request: Request) -> Response:
        await authenticate(c, request, "update:clients")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        checked = _checked(body)
        async with c.unit_of_work() as uow:
            client = await load(uow.session, request.path_params["client_id"])
            for key, value in checked.items():
                setattr(client, key, value)
            for key in ("name", "description", "app_type", "token_endpoint_auth_method"):
                if isinstance(body.get(key), str):
                    setattr(client, key, body[key])
            if isinstance(body.get("is_first_party"), bool):
                client.is_first_party = body["is_first_party"]
            client.updated_at = c.clock.now()
            out = client_to_dict(client)
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_client(request: Request) -> Response:
        await authenticate(c, request, "delete:clients")
        async with c.unit_of_work() as uow:
            client = await load(uow.session, request.path_params["client_id"])
            await uow.session.delete(client)
            await uow.commit()
        return Response(status_code=204)

    @api
    async def rotate_secret(request: Request) -> Response:
        await authenticate(c, request, "update:client_keys")
        async with c.unit_of_work() as uow:
            client = await load(uow.session, request.path_params["client_id"])
            secret = await c.clients.rotate_secret(uow.session, client)
            out = client_to_dict(client, secret)
            await uow.commit()
        return JSONResponse(out)

    r.add_api_route("/clients", list_clients, methods=["GET"])
    r.add_api_route("/clients", create_client, methods=["POST"])
    r.add_api_route("/clients/{client_id}", get_client, methods=["GET"])
    r.add_api_route("/clients/{client_id}", update_client, methods=["PATCH"])
    r.add_api_route("/clients/{client_id}", delete_client, methods=["DELETE"])
    r.add_api_route("/clients/{client_id}/rotate-secret", rotate_secret, methods=["POST"])
    return r
