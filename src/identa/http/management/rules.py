"""/api/v2/rules and /api/v2/rules-configs in Auth0's shapes (plus Identa's `runtime`)."""

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
from identa.http.management.errors import MANAGEMENT_MAX_BODY, ApiError, bad_request, not_found
from identa.http.management.paging import flag, paging, select_fields
from identa.rules.models import Rule
from identa.rules.service import RuleNotFound


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "script": rule.script,
        "order": rule.order,
        "enabled": rule.enabled,
        "stage": rule.stage,
        "runtime": rule.runtime,
        "fail_open": rule.fail_open,
    }


def _domain_error(exc: DomainError) -> ApiError:
    if exc.code == "conflict":
        return ApiError(409, exc.message, "conflict")
    return bad_request(f"Payload validation error: {exc.message}")


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    async def load(db: Any, rule_id: str) -> Rule:
        try:
            return await c.rules.get(db, rule_id)
        except RuleNotFound as exc:
            raise not_found("The rule does not exist.", "inexistent_rule") from exc

    @api
    async def list_rules(request: Request) -> Response:
        await authenticate(c, request, "read:rules")
        page = paging(request)
        enabled = flag(request, "enabled", True) if request.query_params.get("enabled") else None
        async with c.unit_of_work() as uow:
            rows = list(await c.rules.all(uow.session, enabled=enabled))
        items = [
            select_fields(request, rule_to_dict(row))
            for row in rows[page.offset : page.offset + page.per_page]
        ]
        return JSONResponse(page.body("rules", items, len(rows)))

    @api
    async def get_rule(request: Request) -> Response:
        await authenticate(c, request, "read:rules")
        async with c.unit_of_work() as uow:
            rule = await load(uow.session, request.path_params["id"])
            return JSONResponse(select_fields(request, rule_to_dict(rule)))

    @api
    async def create_rule(request: Request) -> Response:
        await authenticate(c, request, "create:rules")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        name, script = body.get("name"), body.get("script")
        if not isinstance(name, str) or not isinstance(script, str):
            raise bad_request(
                "Payload validation error: Missing required properties: name, script."
            )
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad_request("Payload validation error: 'enabled' must be a boolean.")
        fail_open = body.get("fail_open", False)
        if not isinstance(fail_open, bool):
            raise bad_request("Payload validation error: 'fail_open' must be a boolean.")
        async with c.unit_of_work() as uow:
            try:
                rule = await c.rules.create(
                    uow.session,
                    name=name,
                    script=script,
                    order=body.get("order"),
                    enabled=enabled,
                    runtime=body.get("runtime"),
                    stage=body.get("stage", "login_success"),
                    fail_open=fail_open,
                )
            except DomainError as exc:
                raise _domain_error(exc) from exc
            out = rule_to_dict(rule)
            await uow.commit()
        return JSONResponse(out, status_code=201)

    @api
    async def update_rule(request: Request) -> Response:
        await authenticate(c, request, "update:rules")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        unknown = sorted(set(body) - {"name", "script", "order", "enabled", "runtime", "fail_open"})
        if unknown:
            raise bad_request(
                f"Payload validation error: Additional properties not allowed: {', '.join(unknown)}"
            )
        for key in ("enabled", "fail_open"):
            if key in body and not isinstance(body[key], bool):
                raise bad_request(f"Payload validation error: '{key}' must be a boolean.")
        async with c.unit_of_work() as uow:
            rule = await load(uow.session, request.path_params["id"])
            try:
                await c.rules.update(
                    uow.session,
                    rule,
                    name=body.get("name"),
                    script=body.get("script"),
                    order=body.get("order"),
                    enabled=body.get("enabled"),
                    runtime=body.get("runtime"),
                    fail_open=body.get("fail_open"),
                )
            except DomainError as exc:
                raise _domain_error(exc) from exc
            out = rule_to_dict(rule)
            await uow.commit()
        return JSONResponse(out)

    @api
    async def delete_rule(request: Request) -> Response:
        await authenticate(c, request, "delete:rules")
        async with c.unit_of_work() as uow:
            await c.rules.delete(uow.session, await load(uow.session, request.path_params["id"]))
            await uow.commit()
        return Response(status_code=204)

    @api
    async def list_configs(request: Request) -> Response:
        await authenticate(c, request, "read:rules_configs")
        async with c.unit_of_work() as uow:
            return JSONResponse([{"key": key} for key in await c.rules.config_keys(uow.session)])

    @api
    async def put_config(request: Request) -> Response:
        await authenticate(c, request, "update:rules_configs")
        body = await read_payload(request, MANAGEMENT_MAX_BODY)
        value = body.get("value")
        if not isinstance(value, str):
            raise bad_request("Payload validation error: Missing required property: value.")
        key = request.path_params["key"]
        async with c.unit_of_work() as uow:
            try:
                await c.rules.set_config(uow.session, key, value)
            except DomainError as exc:
                raise _domain_error(exc) from exc
            await uow.commit()
        return JSONResponse({"key": key, "value": value})

    @api
    async def delete_config(request: Request) -> Response:
        await authenticate(c, request, "update:rules_configs")
        async with c.unit_of_work() as uow:
            await c.rules.delete_config(uow.session, request.path_params["key"])
            await uow.commit()
        return Response(status_code=204)

    r.add_api_route("/rules", list_rules, methods=["GET"])
    r.add_api_route("/rules", create_rule, methods=["POST"])
    r.add_api_route("/rules/{id}", get_rule, methods=["GET"])
    r.add_api_route("/rules/{id}", update_rule, methods=["PATCH"])
    r.add_api_route("/rules/{id}", delete_rule, methods=["DELETE"])
    r.add_api_route("/rules-configs", list_configs, methods=["GET"])
    r.add_api_route("/rules-configs/{key}", put_config, methods=["PUT"])
    r.add_api_route("/rules-configs/{key}", delete_config, methods=["DELETE"])
    return r
