"""One warm rule runner for the whole module set, and local stand-in servers."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from identa.rules.runtime import Limits, RuleRunner, RuleSpec, RunOutcome
from tests.standins.server import Reply, Request, StandinServer

USER: dict[str, Any] = {
    "user_id": "auth0|u1",
    "email": "john.doe@innovashoes.example",
    "email_verified": True,
    "name": "John Doe",
    "user_metadata": {},
    "app_metadata": {},
    "identities": [{"provider": "auth0", "user_id": "u1", "connection": "db", "isSocial": False}],
}
CONTEXT: dict[str, Any] = {
    "tenant": "identa",
    "clientID": "client1",
    "clientName": "Store",
    "connection": "db",
    "connectionStrategy": "auth0",
    "protocol": "oidc-basic-profile",
    "stats": {"loginsCount": 3},
    "request": {"ip": "203.0.113.5", "userAgent": "test", "query": {}},
    "idToken": {},
    "accessToken": {},
}


@pytest.fixture(scope="session")
def runner() -> Iterator[RuleRunner]:
    rules_runner = RuleRunner(workers=3, limits=Limits(grace_s=0.5, memory_bytes=384 << 20))
    rules_runner.pool.warm()
    yield rules_runner
    rules_runner.close()


def _enrich(request: Request) -> Reply:
    return Reply(200, {"email": request.query.get("email"), "company": "InnovaShoes", "score": 7})


def _echo(request: Request) -> Reply:
    return Reply(
        201, {"received": request.json(), "auth": request.headers.get("authorization"),
              "host": request.headers.get("host")}
    )  # fmt: skip


@pytest.fixture(scope="session")
def api_server() -> Iterator[StandinServer]:
    server = StandinServer()
    server.route("GET", "/enrich", _enrich)
    server.route("POST", "/echo", _echo)
    server.route("GET", "/slow", lambda _: Reply(200, {"slow": True}, delay_s=3))
    server.route(
        "GET", "/to-private", lambda _: Reply(302, "", {"location": "http://10.0.0.1/admin"})
    )
    server.route("GET", "/to-enrich", lambda _: Reply(302, "", {"location": "/enrich?email=r"}))
    server.start()
    yield server
    server.stop()


async def run(
    runner: RuleRunner,
    *scripts: str,
    user: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    configuration: dict[str, str] | None = None,
    budget_s: float = 5.0,
    allowed_hosts: list[str] | None = None,
    runtime: str | None = None,
) -> RunOutcome:
    rules = [
        RuleSpec(id=f"rul_{i}", name=f"rule-{i}", script=script, runtime=runtime)
        for i, script in enumerate(scripts)
    ]
    return await runner.run(
        rules,
        copy.deepcopy(USER if user is None else user),
        copy.deepcopy(CONTEXT if context is None else context),
        configuration or {},
        budget_s=budget_s,
        allowed_hosts=allowed_hosts,
    )
