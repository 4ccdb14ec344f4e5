"""Rules on every authentication: SSO reuse of the session, silent authentication
(`prompt=none`) and the refresh-token exchange; never on client credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt

from identa.container import Container
from identa.provisioning import initialise
from identa.rules.runtime import Limits, RuleRunner
from tests.conftest import PUBLIC_URL
from tests.factories import Visitor, create_user
from tests.http.test_oidc import CALLBACK, authorize, key_set, make_app
from tests.http.test_rules_pipeline import AFTER_REDIRECT_RULE, REDIRECT_RULE, add_rule, events

PROTOCOL_RULE = """
def rule(user, context, configuration, api):
    context["idToken"]["https://shop.example/protocol"] = context["protocol"]
    context["idToken"]["https://shop.example/logins"] = context["stats"]["loginsCount"]
    context["accessToken"]["https://shop.example/protocol"] = context["protocol"]
    context["accessToken"]["https://shop.example/session"] = bool(context.get("sessionID"))
    print("ran for", context["protocol"])
    return user, context
"""
DENY_ALWAYS = """function (user, context, callback) {
  callback(new UnauthorizedError('Account suspended: ' + context.protocol));
}"""


@pytest.fixture(scope="module")
def shared_runner() -> Iterator[RuleRunner]:
    runner = RuleRunner(workers=2, limits=Limits(grace_s=0.5, memory_bytes=384 << 20))
    yield runner
    runner.close()


@pytest.fixture(autouse=True)
def _use_shared_runner(container: Container, shared_runner: RuleRunner) -> None:
    container.pipeline.runner = shared_runner


@pytest.fixture
async def shop(container: Container) -> AsyncIterator[dict[str, Any]]:
    await create_user(container, "ada@example.com")
    yield await make_app(container, grant_types=["authorization_code", "refresh_token"])


async def exchange(client: httpx.AsyncClient, app: dict[str, Any], **data: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"client_id": app["client_id"], "client_secret": app["client_secret"], **data},
    )


async def redeem(client: httpx.AsyncClient, app: dict[str, Any], code: str) -> dict[str, Any]:
    response = await exchange(
        client, app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK
    )
    assert response.status_code == 200, response.text
    return decoded(response.json(), await key_set(client))


def decoded(body: dict[str, Any], keys: Any) -> dict[str, Any]:
    return {
        "id": jwt.decode(body["id_token"], keys).claims if "id_token" in body else {},
        "access": jwt.decode(body["access_token"], keys).claims,
        "raw": body,
    }


async def logins_count(container: Container) -> int:
    async with container.unit_of_work() as uow:
        [user] = await container.users.by_email(uow.session, "ada@example.com")
        return int(user.logins_count or 0)


async def test_sso_reuse_and_silent_authentication_run_the_rules(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await add_rule(api, "protocol", PROTOCOL_RULE, 1)
    api.headers.pop("Authorization")
    visitor = Visitor(app_client)
    first = await redeem(app_client, shop, (await authorize(visitor, shop))["code"][0])
    assert first["id"]["https://shop.example/protocol"] == "oidc-basic-profile"
    assert first["id"]["https://shop.example/logins"] == 1

    silent = await authorize(visitor, shop, login=False, prompt="none")
    claims = await redeem(app_client, shop, silent["code"][0])
    assert claims["id"]["https://shop.example/protocol"] == "oidc-basic-profile"
    assert claims["access"]["https://shop.example/session"] is True
    assert claims["id"]["https://shop.example/logins"] == 1  # silent auth is not a login

    again = await authorize(visitor, shop, login=False)
    claims = await redeem(app_client, shop, again["code"][0])
    assert claims["access"]["https://shop.example/protocol"] == "oidc-basic-profile"
    assert claims["id"]["https://shop.example/logins"] == 1
    assert await logins_count(container) == 1  # nor is the reuse of the session (Auth0)

    [ssa] = await events(container, "ssa")
    assert [r["name"] for r in ssa.details["rules"]["runs"]] == ["protocol"]
    assert ssa.details["session_id"]
    first_login, reuse = await events(container, "s")
    assert "sso" not in first_login.details and reuse.details["sso"] is True
    assert reuse.details["stats"] == {"loginsCount": 1}
    assert "ran for oidc-basic-profile" in reuse.details["rules"]["runs"][0]["console"]


async def test_a_rule_denies_silent_and_sso_authentication(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    visitor = Visitor(app_client)
    await authorize(visitor, shop)
    await add_rule(api, "deny", DENY_ALWAYS, 1)
    api.headers.pop("Authorization")

    silent = await authorize(visitor, shop, login=False, prompt="none")
    assert silent["error"] == ["access_denied"]
    assert silent["error_description"] == ["Account suspended: oidc-basic-profile"]
    assert silent["state"] == ["st-1"]
    [fsa] = await events(container, "fsa")
    assert fsa.details["error"]["oauthError"] == "access_denied"
    assert fsa.details["rules"]["runs"][0]["outcome"] == "deny"
    assert await events(container, "ssa") == []

    interactive = await authorize(visitor, shop, login=False)
    assert interactive["error"] == ["access_denied"]
    failed = await events(container, "f")
    assert failed[-1].description == "Account suspended: oidc-basic-profile"
    assert len(await events(container, "s")) == 1  # only the first, real login


async def test_a_redirect_rule_needs_interaction(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    visitor = Visitor(app_client)
    await authorize(visitor, shop)
    await add_rule(api, "terms", REDIRECT_RULE, 1)
    await add_rule(api, "after-terms", AFTER_REDIRECT_RULE, 2)
    api.headers.pop("Authorization")

    silent = await authorize(visitor, shop, login=False, prompt="none")
    assert silent["error"] == ["interaction_required"]
    [fsa] = await events(container, "fsa")
    assert fsa.details["error"]["oauthError"] == "interaction_required"

    response = await app_client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": shop["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": "st-2",
        },
    )
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["location"])
    assert (target.netloc, target.path) == ("forms.example", "/terms")
    resumed = await app_client.post(
        "/continue", data={"state": parse_qs(target.query)["state"][0], "confirm": "yes"}
    )
    assert resumed.status_code == 303, resumed.text
    location = resumed.headers["location"]
    for _ in range(4):
        if location.startswith(CALLBACK):
            break
        location = (await app_client.get(location)).headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st-2"]
    claims = await redeem(app_client, shop, query["code"][0])
    assert claims["id"]["https://shop.example/terms"] == "yes"
    assert claims["id"]["https://shop.example/protocol"] == "redirect-callback"


async def test_the_refresh_token_exchange_runs_the_rules(
    app_client: httpx.AsyncClient,
    api: httpx.AsyncClient,
    container: Container,
    shop: dict[str, Any],
) -> None:
    await add_rule(api, "protocol", PROTOCOL_RULE, 1)
    visitor = Visitor(app_client)
    first = await redeem(app_client, shop, (await authorize(visitor, shop))["code"][0])
    refresh_token = first["raw"]["refresh_token"]

    refreshed = await exchange(
        app_client, shop, grant_type="refresh_token", refresh_token=refresh_token
    )
    assert refreshed.status_code == 200, refreshed.text
    claims = decoded(refreshed.json(), await key_set(app_client))
    assert claims["access"]["https://shop.example/protocol"] == "oauth2-refresh-token"
    assert claims["id"]["https://shop.example/protocol"] == "oauth2-refresh-token"
    assert claims["access"]["https://shop.example/session"] is True
    [sertft] = await events(container, "sertft")
    assert "ran for oauth2-refresh-token" in sertft.details["rules"]["runs"][0]["console"]
    assert await logins_count(container) == 1
    refresh_token = refreshed.json()["refresh_token"]

    deny = await add_rule(api, "deny", DENY_ALWAYS, 2)
    denied = await exchange(
        app_client, shop, grant_type="refresh_token", refresh_token=refresh_token
    )
    assert denied.status_code == 403
    assert denied.json() == {
        "error": "access_denied",
        "error_description": "Account suspended: oauth2-refresh-token",
    }
    [fertft] = await events(container, "fertft")
    assert fertft.details["rules"]["runs"][-1]["outcome"] == "deny"
    assert await events(container, "f") == []  # a refused exchange is not a failed login

    await api.delete(f"/api/v2/rules/{deny['id']}")
    await add_rule(api, "terms", REDIRECT_RULE, 3)
    # The denied exchange did not use the token up.
    refused = await exchange(
        app_client, shop, grant_type="refresh_token", refresh_token=refresh_token
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "interaction_required"
    assert "refresh-token exchange" in refused.json()["error_description"]


async def test_client_credentials_never_run_the_rules(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    await add_rule(api, "deny", DENY_ALWAYS, 1)
    report = await initialise(container, migrate=False)
    response = await app_client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": report.management_client_id,
            "client_secret": report.management_client_secret,
            "audience": f"{PUBLIC_URL}/api/v2/",
        },
    )
    assert response.status_code == 200, response.text
    [seccft, *_] = [e for e in await events(container, "seccft") if e.details]
    assert "rules" not in seccft.details


async def test_implicit_flow_on_the_session_is_the_implicit_profile(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container, extra={"implicit_enabled": True})
    await add_rule(api, "protocol", PROTOCOL_RULE, 1)
    api.headers.pop("Authorization")
    visitor = Visitor(app_client)
    await authorize(visitor, app)
    for prompt in ({"prompt": "none"}, {}):
        response = await app_client.get(
            "/authorize",
            params={
                "response_type": "id_token token",
                "client_id": app["client_id"],
                "redirect_uri": CALLBACK,
                "scope": "openid",
                "nonce": "n-2",
                "state": "s",
                **prompt,
            },
        )
        assert response.status_code == 302, response.text
        fragment = parse_qs(urlsplit(response.headers["location"]).fragment)
        keys = await key_set(app_client)
        id_claims = jwt.decode(fragment["id_token"][0], keys).claims
        access = jwt.decode(fragment["access_token"][0], keys).claims
        assert id_claims["https://shop.example/protocol"] == "oidc-implicit-profile", prompt
        assert access["https://shop.example/protocol"] == "oidc-implicit-profile"
