"""The rules pipeline at real logins: hosted login (code flow), /continue, the password grant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import select

from identa.container import Container
from identa.events.models import LogEvent
from identa.rules.runtime import Limits, RuleRunner
from tests.factories import GOOD_PASSWORD, Page, Visitor, create_user
from tests.http.test_oidc import CALLBACK, key_set, make_app
from tests.standins.fullcontact import API_KEY, FullContactStandin
from tests.standins.sentiment import SentimentStandin
from tests.unit.rules.test_innovashoes import AGE_RULE, FULLCONTACT_RULE, SENTIMENT_RULE

CLAIMS_RULE = """
def rule(user, context, configuration, api):
    context["idToken"]["https://shop.example/plan"] = "gold"
    context["idToken"]["email"] = "forged@example.com"
    context["idToken"]["favourite_colour"] = "green"
    context["accessToken"]["https://shop.example/roles"] = ["buyer"]
    context["accessToken"]["sub"] = "someone-else"
    api.users.update_app_metadata(user["user_id"], {"plan": "gold"})
    print("plan set for", user["email"], context["protocol"], context["stats"]["loginsCount"])
    return user, context
"""
DENY_RULE = """
def rule(user, context, configuration, api):
    if context["request"]["ip"] == "203.0.113.10":
        raise api.UnauthorizedError("Logins from this network are not allowed")
    return user, context
"""
REDIRECT_RULE = """function (user, context, callback) {
  if (context.protocol !== 'redirect-callback') {
    context.redirect = { url: 'https://forms.example/terms?lang=en' };
  }
  callback(null, user, context);
}"""
AFTER_REDIRECT_RULE = """function (user, context, callback) {
  context.idToken['https://shop.example/terms'] = context.request.body.confirm || 'none';
  context.idToken['https://shop.example/protocol'] = context.protocol;
  callback(null, user, context);
}"""
FAILING_RULE = """
def rule(user, context, configuration, api):
    raise ValueError("the CRM is down")
"""
SLOW_RULE = """
def rule(user, context, configuration, api):
    while True:
        pass
"""


@pytest.fixture(scope="module")
def shared_runner() -> Iterator[RuleRunner]:
    runner = RuleRunner(workers=2, limits=Limits(grace_s=0.5, memory_bytes=384 << 20))
    yield runner
    runner.close()


@pytest.fixture(autouse=True)
def _use_shared_runner(container: Container, shared_runner: RuleRunner) -> None:
    container.pipeline.runner = shared_runner


@pytest.fixture(scope="module")
def fullcontact() -> Iterator[FullContactStandin]:
    server = FullContactStandin(known={"john.doe@innovashoes.example"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sentiment() -> Iterator[SentimentStandin]:
    server = SentimentStandin().start()
    yield server
    server.stop()


@pytest.fixture
async def shop(container: Container) -> AsyncIterator[dict[str, Any]]:
    yield await make_app(
        container,
        grant_types=["authorization_code", "refresh_token", "password"],
    )


async def add_rule(
    api: httpx.AsyncClient, name: str, script: str, order: int, **extra: Any
) -> dict[str, Any]:
    response = await api.post(
        "/api/v2/rules", json={"name": name, "script": script, "order": order, **extra}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def allow_hosts(container: Container, *hosts: str) -> None:
    async with container.unit_of_work() as uow:
        tenant = await container.tenants.get(uow.session)
        await container.tenants.update(
            uow.session, extra={**tenant.extra, "rules_allowed_hosts": list(hosts)}
        )
        await uow.commit()


async def login(
    client: httpx.AsyncClient, app: dict[str, Any], email: str = "ada@example.com"
) -> httpx.Response:
    """Starts /authorize and posts the login form; returns the response to the form."""
    visitor = Visitor(client)
    response = await client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid profile email",
            "state": "st-1",
            "nonce": "n-1",
        },
    )
    assert response.status_code == 302, response.text
    page = Page(await client.get(response.headers["location"]))
    del visitor
    return await client.post(
        page.action(),
        data={"csrf_token": page.csrf, "username": email, "password": GOOD_PASSWORD},
    )


async def code_from(client: httpx.AsyncClient, response: httpx.Response) -> str:
    """Follows the hosted pages' redirects up to the application's callback."""
    for _ in range(5):
        location = response.headers.get("location", "")
        if location.startswith(CALLBACK):
            query = parse_qs(urlsplit(location).query)
            assert "code" in query, query
            return query["code"][0]
        assert response.status_code in (302, 303), response.text
        response = await client.get(location)
    raise AssertionError("no redirect to the callback")


async def tokens(client: httpx.AsyncClient, app: dict[str, Any], code: str) -> dict[str, Any]:
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "code": code,
            "redirect_uri": CALLBACK,
        },
    )
    assert response.status_code == 200, response.text
    keys = await key_set(client)
    body = response.json()
    return {
        "id": jwt.decode(body["id_token"], keys).claims,
        "access": jwt.decode(body["access_token"], keys).claims,
        "raw": body,
    }


async def events(container: Container, type_: str) -> list[LogEvent]:
    async with container.unit_of_work() as uow:
        query = select(LogEvent).where(LogEvent.type == type_).order_by(LogEvent.log_id)
        return list((await uow.session.scalars(query)).all())


async def test_innovashoes_rules_and_claims_at_a_hosted_login(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
    fullcontact: FullContactStandin,
    sentiment: SentimentStandin,
) -> None:
    user = await create_user(container, "john.doe@innovashoes.example")
    await allow_hosts(container, fullcontact.host, sentiment.host)
    await api.put("/api/v2/rules-configs/FULLCONTACT_KEY", json={"value": API_KEY})
    fullcontact_url = fullcontact.url + "/v2/person.json"
    await add_rule(api, "fullcontact", FULLCONTACT_RULE % {"FULLCONTACT_URL": fullcontact_url}, 1)
    # The seed's sentiment rule reads fullContactInfo: a tiny rule copies the enrichment there.
    await add_rule(
        api,
        "copy-fullcontact",
        "def rule(user, context, configuration, api):\n"
        "    user['app_metadata']['fullContactInfo'] = user['user_metadata'].get('fullcontact')\n"
        "    return user, context\n",
        2,
    )
    await add_rule(
        api, "sentiment", SENTIMENT_RULE % {"SENTIMENT_URL": sentiment.url + "/analyze"}, 3
    )
    await add_rule(api, "age", AGE_RULE, 4, runtime="javascript")
    await add_rule(api, "claims", CLAIMS_RULE, 5)
    api.headers.pop("Authorization")

    answer = await login(app_client, shop, user["email"])
    claims = await tokens(app_client, shop, await code_from(app_client, answer))
    assert claims["id"]["https://innovashoes.example/age"] >= 30
    assert claims["id"]["https://shop.example/plan"] == "gold"
    assert claims["id"]["favourite_colour"] == "green"  # not a standard claim: kept
    assert claims["id"]["email"] == user["email"]  # a standard claim: a rule cannot change it
    assert claims["access"]["https://shop.example/roles"] == ["buyer"]
    assert claims["access"]["sub"] == user["user_id"]

    async with container.unit_of_work() as uow:
        stored = await container.users.get(uow.session, user["user_id"])
        assert stored.user_metadata["fullcontact"]["demographics"]["gender"] == "Male"
        assert stored.app_metadata["sentiment_initialized"] is True
        assert stored.app_metadata["plan"] == "gold"
    assert sentiment.requests[-1].json()["twitterHandle"] == "john.doe"
    [success] = await events(container, "s")
    runs = success.details["rules"]["runs"]
    assert [r["name"] for r in runs] == [
        "fullcontact", "copy-fullcontact", "sentiment", "age", "claims"
    ]  # fmt: skip
    assert {r["outcome"] for r in runs} == {"continue"}
    assert "plan set for john.doe@innovashoes.example oidc-basic-profile 1" in runs[-1]["console"]
    assert sorted(success.details["rules"]["dropped_claims"]) == ["email", "sub"]


async def test_deny_reaches_the_application_as_access_denied(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await create_user(container, "ada@example.com")
    await add_rule(api, "deny-network", DENY_RULE, 1)
    api.headers.pop("Authorization")
    response = await login(app_client, shop)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(CALLBACK)
    assert query["error"] == ["access_denied"]
    assert query["error_description"] == ["Logins from this network are not allowed"]
    assert query["state"] == ["st-1"]
    [failed] = await events(container, "f")
    assert failed.description == "Logins from this network are not allowed"
    assert failed.details["rules"]["runs"][0]["outcome"] == "deny"
    assert await events(container, "s") == []


async def test_redirect_rule_resumes_at_continue_once(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await create_user(container, "ada@example.com")
    await add_rule(api, "terms", REDIRECT_RULE, 1)
    await add_rule(api, "after-terms", AFTER_REDIRECT_RULE, 2)
    api.headers.pop("Authorization")
    response = await login(app_client, shop)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert (target.netloc, target.path) == ("forms.example", "/terms")
    state = parse_qs(target.query)["state"][0]
    assert parse_qs(target.query)["lang"] == ["en"]
    assert await events(container, "s") == []  # not logged in until the rules finish

    tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    refused = await app_client.get("/continue", params={"state": tampered})
    assert refused.status_code == 400 and "invalid_request" in refused.text

    resumed = await app_client.post("/continue", data={"state": state, "confirm": "yes"})
    assert resumed.status_code == 303, [
        (e.description, e.details) for e in await events(container, "f")
    ]
    claims = await tokens(app_client, shop, await code_from(app_client, resumed))
    assert claims["id"]["https://shop.example/terms"] == "yes"
    assert claims["id"]["https://shop.example/protocol"] == "redirect-callback"

    replay = await app_client.get("/continue", params={"state": state})
    assert replay.status_code == 400 and "invalid_request" in replay.text
    [success] = await events(container, "s")
    assert [r["name"] for r in success.details["rules_before_redirect"]["runs"]] == ["terms"]
    assert [r["name"] for r in success.details["rules"]["runs"]] == ["after-terms"]


async def test_a_failing_rule_fails_closed_unless_fail_open(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await create_user(container, "ada@example.com")
    crm = await add_rule(api, "crm", FAILING_RULE, 1)
    await add_rule(api, "claims", CLAIMS_RULE, 2)
    response = await login(app_client, shop)
    assert response.status_code == 500
    assert "A rule configured for this application failed" in response.text
    [failed] = await events(container, "f")
    assert "the CRM is down" in failed.description
    assert failed.details["rules"]["runs"][0]["reason"] == "exception"

    patched = await api.patch(f"/api/v2/rules/{crm['id']}", json={"fail_open": True})
    assert patched.json()["fail_open"] is True
    answer = await login(app_client, shop)
    claims = await tokens(app_client, shop, await code_from(app_client, answer))
    assert claims["id"]["https://shop.example/plan"] == "gold"
    [success] = await events(container, "s")
    first = success.details["rules"]["runs"][0]
    assert first["outcome"] == "error" and first["fail_open"] is True


async def test_a_rule_past_the_budget_fails_the_login(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await create_user(container, "ada@example.com")
    container.pipeline.budget_s = 1.0
    await add_rule(api, "slow", SLOW_RULE, 1)
    response = await login(app_client, shop)
    assert response.status_code == 500
    [failed] = await events(container, "f")
    assert failed.details["rules"]["runs"][0]["reason"] == "timeout"


async def password_grant(
    client: httpx.AsyncClient, app: dict[str, Any], email: str = "ada@example.com"
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": email,
            "password": GOOD_PASSWORD,
            "scope": "openid",
        },
    )


async def test_password_grant_runs_the_rules(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await create_user(container, "ada@example.com")
    await add_rule(api, "claims", CLAIMS_RULE, 1)
    response = await password_grant(app_client, shop)
    assert response.status_code == 200, response.text
    keys = await key_set(app_client)
    access = jwt.decode(response.json()["access_token"], keys).claims
    assert access["https://shop.example/roles"] == ["buyer"]
    [success] = await events(container, "s")
    assert "oauth2-password" in success.details["rules"]["runs"][0]["console"]

    deny = await add_rule(api, "deny-network", DENY_RULE, 2)
    denied = await password_grant(app_client, shop)
    assert denied.status_code == 403
    assert denied.json() == {
        "error": "access_denied",
        "error_description": "Logins from this network are not allowed",
    }
    await api.delete(f"/api/v2/rules/{deny['id']}")
    await add_rule(api, "terms", REDIRECT_RULE, 3)
    refused = await password_grant(app_client, shop)
    assert refused.status_code == 400 and refused.json()["error"] == "interaction_required"


async def test_many_concurrent_logins(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    emails = [f"user{i}@example.com" for i in range(8)]
    for email in emails:
        await create_user(container, email)
    await add_rule(api, "claims", CLAIMS_RULE, 1)
    await add_rule(
        api,
        "count",
        "function (user, context, callback) {\n"
        "  context.accessToken['https://shop.example/email'] = user.email;\n"
        "  callback(null, user, context);\n}",
        2,
    )
    responses = await asyncio.gather(*(password_grant(app_client, shop, e) for e in emails))
    keys = await key_set(app_client)
    for email, response in zip(emails, responses, strict=True):
        assert response.status_code == 200, response.text
        access = jwt.decode(response.json()["access_token"], keys).claims
        assert access["https://shop.example/email"] == email


async def test_rules_api_checks_syntax_and_runtime(api: httpx.AsyncClient) -> None:
    bad_python = await api.post(
        "/api/v2/rules",
        json={"name": "bad", "script": "def rule(user:\n  pass", "runtime": "python"},
    )
    assert bad_python.status_code == 400 and "SyntaxError" in bad_python.json()["message"]
    bad_js = await api.post(
        "/api/v2/rules", json={"name": "bad", "script": "function (user, context, callback) {"}
    )
    assert bad_js.status_code == 400
    made = await add_rule(api, "ok", REDIRECT_RULE, 1)
    assert made["runtime"] == "javascript" and made["fail_open"] is False
