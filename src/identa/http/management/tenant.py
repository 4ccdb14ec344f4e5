"""/api/v2/tenants/settings and /api/v2/attack-protection/brute-force-protection."""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.connections.database.policy import POLICY_LEVELS
from identa.container import Container
from identa.core.errors import DomainError
from identa.flows.social import LINKING_MODES
from identa.http.authn.dbconnections import read_payload
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import MANAGEMENT_MAX_BODY, bad_request
from identa.tenants.service import TenantSettings

# Settings Identa keeps beside Auth0's (later issues give them meaning).
EXTRA_SETTINGS = ("account_linking", "rules_allowed_hosts")


def settings_to_dict(tenant: TenantSettings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "friendly_name": tenant.friendly_name,
        "support_email": tenant.support_email,
        "support_url": tenant.support_url,
        "default_directory": tenant.default_connection,
        "password_policy": tenant.default_password_policy,
    }
    for key in EXTRA_SETTINGS:
        if key in tenant.extra:
            out[key] = tenant.extra[key]
    return {k: v for k, v in out.items() if v is not None}


def brute_force_to_dict(tenant: TenantSettings) -> dict[str, Any]:
    guard = tenant.brute_force
    return {
        "enabled": guard.enabled,
        "shields": ["block", "user_notification"],
        "mode": "count_per_identifier_and_ip",
        "allowlist": list(guard.allowlist),
        "max_attempts": guard.max_attempts,
    }


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    @api
    async def get_settings(request: Request) -> Response:
        await authenticate(c, request, "read:tenant_settings")
        async with c.unit_of_work() as uow:
            return JSONResponse(settings_to_dict(await c.tenants.get(uow.session)))

    @api
    async def patch_settings(request: Request) -> Response:
        await authenticate(c, request, "update:tenant_settings")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        changes: dict[str, Any] = {}
        for key, column in (
            ("friendly_name", "friendly_name"),
            ("support_email", "support_email"),
            ("support_url", "support_url"),
            ("default_directory", "default_connection"),
        ):
            if key in body:
                if not isinstance(body[key], str) or len(body[key]) > 2048:
                    raise bad_request(f"Payload validation error: '{key}' must be a string.")
                changes[column] = body[key]
        if "password_policy" in body:
            if body["password_policy"] not in POLICY_LEVELS:
                raise bad_request("Payload validation error: unknown password_policy.")
            changes["default_password_policy"] = body["password_policy"]
        async with c.unit_of_work() as uow:
            tenant = await c.tenants.get(uow.session)
            extra = dict(tenant.extra)
            for key in EXTRA_SETTINGS:
                if key in body:
                    extra[key] = body[key]
            if "account_linking" in body and body["account_linking"] not in LINKING_MODES:
                raise bad_request(
                    "Payload validation error: 'account_linking' must be one of "
                    + ", ".join(LINKING_MODES)
                    + "."
                )
            if extra != tenant.extra:
                changes["extra"] = extra
            try:
                updated = await c.tenants.update(uow.session, **changes) if changes else tenant
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            await uow.commit()
        return JSONResponse(settings_to_dict(updated))

    @api
    async def brute_force(request: Request) -> Response:
        if request.method == "GET":
            await authenticate(c, request, "read:attack_protection")
            async with c.unit_of_work() as uow:
                return JSONResponse(brute_force_to_dict(await c.tenants.get(uow.session)))
        await authenticate(c, request, "update:attack_protection")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        changes: dict[str, Any] = {}
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise bad_request("Payload validation error: 'enabled' must be a boolean.")
            changes["brute_force_enabled"] = body["enabled"]
        if "max_attempts" in body:
            changes["brute_force_max_attempts"] = body["max_attempts"]
        if "allowlist" in body:
            allowlist = body["allowlist"]
            if not isinstance(allowlist, list) or not all(
                isinstance(entry, str) and _valid_network(entry) for entry in allowlist
            ):
                raise bad_request(
                    "Payload validation error: 'allowlist' takes IP addresses or CIDR ranges."
                )
            changes["brute_force_allowlist"] = list(allowlist)
        async with c.unit_of_work() as uow:
            try:
                updated = await c.tenants.update(uow.session, **changes)
            except DomainError as exc:
                raise bad_request(f"Payload validation error: {exc.message}") from exc
            await uow.commit()
        return JSONResponse(brute_force_to_dict(updated))

    r.add_api_route("/tenants/settings", get_settings, methods=["GET"])
    r.add_api_route("/tenants/settings", patch_settings, methods=["PATCH"])
    r.add_api_route(
        "/attack-protection/brute-force-protection", brute_force, methods=["GET", "PATCH"]
    )
    return r


def _valid_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True
