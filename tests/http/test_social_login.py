"""Social and enterprise login through the hosted pages, against the local stand-in provider
(tests/standins/social_providers.py): the protocol checks, the refusals, profile sync and
account linking."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from identa.container import Container
from identa.events.models import LogEvent
from identa.identity.idp_tokens import add_idp_tokens
from identa.identity.models import Identity, User
from identa.identity.profile import user_to_dict
from tests.factories import GOOD_PASSWORD, create_user
from tests.standins.social_providers import StandIn


async def default_client_id(container: Container) -> str:
    async with container.unit_of_work() as uow:
        return (await container.flows.default_client(uow.session)).client_id


async def make_connection(
    api: httpx.AsyncClient,
    container: Container,
    standin: StandIn,
    strategy: str = "oidc",
    name: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    base: dict[str, Any] = {"client_id": standin.client_id, "client_secret": standin.client_secret}
    if strategy == "oidc":
        base["discovery_url"] = f"{standin.url}/.well-known/openid-configuration"
        base["scope"] = "openid profile email"
    elif strategy == "oauth2":
        base.update(
            authorizationURL=f"{standin.url}/authorize",
            tokenURL=f"{standin.url}/token",
            profileURL=f"{standin.url}/userinfo",
            scope="openid profile email",
        )
    else:
        base["endpoints"] = standin.endpoints(strategy)
    made = await api.post(
        "/api/v2/connections",
        json={
            "name": name or f"{strategy}-conn",
            "strategy": strategy,
            "options": {**base, **options},
            "enabled_clients": [await default_client_id(container)],
        },
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def to_provider(client: httpx.AsyncClient, connection: str) -> httpx.Response:
    page = await client.get("/u/login")
    assert page.status_code == 200
    match = re.search(rf'data-connection="{re.escape(connection)}" href="([^"]+)"', page.text)
    assert match, f"no button for {connection}"
    hop = await client.get(match.group(1).replace("&amp;", "&"))
    assert hop.status_code == 302, hop.text
    return hop


async def upstream_redirect(url: str) -> str:
    async with httpx.AsyncClient() as real:
        answer = await real.get(url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def social_login(client: httpx.AsyncClient, connection: str = "oidc-conn") -> httpx.Response:
    hop = await to_provider(client, connection)
    callback = await upstream_redirect(hop.headers["location"])
    return await client.get(callback)


async def users(container: Container) -> list[User]:
    async with container.unit_of_work() as uow:
        return list((await uow.session.scalars(select(User).order_by(User.created_at))).all())


async def events(container: Container) -> list[LogEvent]:
    async with container.unit_of_work() as uow:
        return list((await uow.session.scalars(select(LogEvent).order_by(LogEvent.log_id))).all())


# -- connections -------------------------------------------------------------------------------


async def test_upstream_secrets_are_sealed_and_never_returned(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    made = await make_connection(api, container, standin, set_user_root_attributes="on_each_login")
    assert "client_secret" not in made["options"]
    assert made["options"]["client_id"] == standin.client_id
    async with container.unit_of_work() as uow:
        row = await container.connections.by_id(uow.session, made["id"])
        assert row.options["client_secret"].startswith("enc:v1:")
        assert standin.client_secret not in str(row.options)
    patched = await api.patch(
        f"/api/v2/connections/{made['id']}",
        json={"options": {**made["options"], "scope": "openid email"}},
    )
    assert patched.status_code == 200, patched.text
    assert "client_secret" not in patched.json()["options"]
    assert (await social_login(api)).status_code == 303  # the kept secret still works

    bad = await api.post(
        "/api/v2/connections",
        json={"name": "x", "strategy": "oauth2", "options": {"client_id": "a"}},
    )
    assert bad.status_code == 400
    mode = await api.post(
        "/api/v2/connections",
        json={
            "name": "y",
            "strategy": "github",
            "options": {"client_id": "a", "client_secret": "b", "set_user_root_attributes": "x"},
        },
    )
    assert mode.status_code == 400


async def test_sign_up_and_login_through_an_oidc_provider_are_one_step(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    first = await social_login(api)
    assert first.status_code == 303, first.text
    assert first.headers["location"] == "/u/account"
    params = standin.authorize_params[-1]
    assert params["code_challenge_method"] == "S256" and params["nonce"]
    assert params["redirect_uri"] == "http://identa.test/login/callback"

    second = await social_login(api)
    assert second.status_code == 303
    [user] = await users(container)
    assert user.user_id == f"oidc|oidc-conn|{standin.account.sub}"
    assert user.email == "ada@example.com" and user.email_verified
    assert user.name == "Ada Lovelace" and user.logins_count == 2
    assert user.extra.get("locale") is None  # oidc has no extra attributes unless configured
    [identity] = user.identities
    assert identity.provider == "oidc" and not identity.is_social
    assert identity.profile_data and identity.profile_data["sub"] == standin.account.sub
    assert identity.idp_grant and "email" in identity.idp_grant["requested_scope"]
    assert identity.idp_tokens and identity.idp_tokens.startswith("enc:v1:")

    logged = [(e.type, e.connection, e.strategy, e.strategy_type) for e in await events(container)]
    assert ("ss", "oidc-conn", "oidc", "enterprise") in logged
    assert logged.count(("s", "oidc-conn", "oidc", "enterprise")) == 2

    shown = user_to_dict(user)
    assert "access_token" not in shown["identities"][0]
    with_tokens = add_idp_tokens(shown, user, container.social.tokens)
    assert with_tokens["identities"][0]["access_token"] in standin.tokens
    assert with_tokens["identities"][0]["refresh_token"].startswith("rt-")

    # Through the Management API: only a caller holding read:user_idp_tokens sees them.
    path = f"/api/v2/users/{user.user_id}"
    full = (await api.get(path)).json()
    assert full["identities"][0]["access_token"] in standin.tokens
    reader = (
        await api.post("/api/v2/clients", json={"name": "Reader", "app_type": "non_interactive"})
    ).json()
    granted = await api.post(
        "/api/v2/client-grants",
        json={
            "client_id": reader["client_id"],
            "audience": "http://identa.test/api/v2/",
            "scope": ["read:users"],
        },
    )
    assert granted.status_code == 201, granted.text
    token = (
        await api.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": reader["client_id"],
                "client_secret": reader["client_secret"],
                "audience": "http://identa.test/api/v2/",
            },
        )
    ).json()["access_token"]
    limited = await api.get(path, headers={"Authorization": f"Bearer {token}"})
    assert limited.status_code == 200
    assert "access_token" not in limited.json()["identities"][0]
    assert "refresh_token" not in limited.json()["identities"][0]


async def test_authorize_with_connection_goes_straight_to_the_provider(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    client_id = await default_client_id(container)
    async with container.unit_of_work() as uow:
        client = await container.clients.get(uow.session, client_id)
        callback = client.callbacks[0] if client.callbacks else None
    if callback is None:
        pytest.skip("the default application has no callback")
    answer = await api.get(
        "/authorize",
        params={
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": callback,
            "scope": "openid",
            "connection": "oidc-conn",
            "state": "xyz",
        },
    )
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("/u/login/social?")
    hop = await api.get(answer.headers["location"])
    assert hop.headers["location"].startswith(f"{standin.url}/authorize?")
    done = await api.get(await upstream_redirect(hop.headers["location"]))
    assert done.status_code == 303
    resumed = await api.get(done.headers["location"])
    assert resumed.status_code in (302, 303)
    assert resumed.headers["location"].startswith(callback)
    assert "code=" in resumed.headers["location"]


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason", "status"),
    [
        ("wrong_signature", "invalid_id_token", 400),
        ("wrong_audience", "invalid_id_token", 400),
        ("wrong_issuer", "invalid_id_token", 400),
        ("wrong_nonce", "invalid_id_token", 400),
        ("expired", "invalid_id_token", 400),
        ("no_id_token", "invalid_id_token", 400),
        ("token_error", "upstream_error", 400),
        ("slow", "timeout", 504),
    ],
)
async def test_bad_upstream_answers_are_refused_without_a_user(
    api: httpx.AsyncClient,
    container: Container,
    standin: StandIn,
    fault: str,
    reason: str,
    status: int,
) -> None:
    await make_connection(api, container, standin)
    standin.fault = fault
    standin.slow_seconds = 1.0
    container.social.upstream.timeout = 0.5
    answer = await social_login(api)
    assert answer.status_code == status, answer.text
    assert "We could not log you in" in answer.text
    assert await users(container) == []
    [failure] = [e for e in await events(container) if e.type == "f"]
    assert failure.details["error"]["reason"] == reason
    assert (failure.connection, failure.strategy) == ("oidc-conn", "oidc")


async def test_denial_missing_email_and_unreachable_provider(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    standin.deny = True
    denied = await social_login(api)
    assert denied.status_code == 400 and "did not allow" in denied.text
    standin.deny = False
    standin.account.email = None
    no_email = await social_login(api)
    assert no_email.status_code == 400 and "e-mail" in no_email.text
    await make_connection(
        api,
        container,
        standin,
        strategy="oauth2",
        name="down",
        tokenURL="http://127.0.0.1:9/token",
    )
    standin.account.email = "ada@example.com"
    down = await social_login(api, "down")
    assert down.status_code == 502 and "cannot be reached" in down.text
    assert await users(container) == []
    reasons = [e.details["error"]["reason"] for e in await events(container) if e.type == "f"]
    assert reasons == ["access_denied", "missing_email", "unreachable"]


async def test_state_mismatch_other_browser_and_replay_are_refused(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    hop = await to_provider(api, "oidc-conn")
    callback = await upstream_redirect(hop.headers["location"])
    tampered = re.sub(r"state=([^&.]+)\.[^&]+", r"state=\1.forged", callback)
    assert (await api.get(tampered)).status_code == 400

    hop = await to_provider(api, "oidc-conn")
    callback = await upstream_redirect(hop.headers["location"])
    async with httpx.AsyncClient(
        transport=api._transport, base_url="http://identa.test"
    ) as other_browser:
        elsewhere = await other_browser.get(callback)
    assert elsewhere.status_code == 400 and "another browser" in elsewhere.text

    hop = await to_provider(api, "oidc-conn")
    callback = await upstream_redirect(hop.headers["location"])
    assert (await api.get(callback)).status_code == 303
    replayed = await api.get(callback)
    assert replayed.status_code == 400 and "used already" in replayed.text
    assert len(await users(container)) == 1
    reasons = [e.details["error"]["reason"] for e in await events(container) if e.type == "f"]
    assert reasons == ["state_mismatch", "state_mismatch", "replayed"]


# -- profile sync ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"), [("on_each_login", "Ada King"), ("on_first_login", "Ada Lovelace")]
)
async def test_profile_sync_follows_set_user_root_attributes(
    api: httpx.AsyncClient, container: Container, standin: StandIn, mode: str, expected: str
) -> None:
    await make_connection(api, container, standin, set_user_root_attributes=mode)
    assert (await social_login(api)).status_code == 303
    standin.account.name = "Ada King"
    assert (await social_login(api)).status_code == 303
    [user] = await users(container)
    assert user.name == expected
    assert user.identities[0].profile_data["name"] == "Ada King"  # the raw profile is fresh


# -- presets -----------------------------------------------------------------------------------

PRESET_EXPECTATIONS = {
    "google-oauth2": ("google-oauth2|10769150350006150715113082367", True, {"locale": "en-GB"}),
    "github": ("github|107691503", True, {"followers": 42, "location": "London, United Kingdom"}),
    "facebook": (
        "facebook|10769150350006150715113082367",
        False,
        {
            "birthday": "12/10/1990",
            "location": "London, United Kingdom",
            "interests": ["Running", "Mathematics"],
        },
    ),
    "twitter": ("twitter|10769150350006150715113082367", True, {"followers": 42}),
    "linkedin": ("linkedin|10769150350006150715113082367", True, {"locale": "en-GB"}),
    "windowslive": ("windowslive|10769150350006150715113082367", False, {"locale": "en-GB"}),
    "apple": ("apple|10769150350006150715113082367", True, {}),
}


@pytest.mark.parametrize("strategy", sorted(PRESET_EXPECTATIONS))
async def test_each_preset_maps_its_provider_profile(
    api: httpx.AsyncClient, container: Container, standin: StandIn, strategy: str
) -> None:
    options: dict[str, Any] = {}
    if strategy == "apple":
        from joserfc.jwk import ECKey

        key = ECKey.generate_key("P-256")
        standin.apple_public_key = key
        options = {"app_secret": key.as_pem(private=True).decode(), "team_id": "TEAM1", "kid": "K1"}
    try:
        await make_connection(api, container, standin, strategy=strategy, **options)
        answer = await social_login(api, f"{strategy}-conn")
    finally:
        standin.apple_public_key = None
    assert answer.status_code == 303, answer.text
    user_id, verified, extra = PRESET_EXPECTATIONS[strategy]
    [user] = await users(container)
    assert user.user_id == user_id
    assert user.email == "ada@example.com"
    assert user.email_verified is verified
    for key_, value in extra.items():
        assert user.extra.get(key_) == value, (key_, user.extra)
    assert user.identities[0].is_social
    shown = user_to_dict(user)
    assert shown["identities"][0]["provider"] == strategy
    pkce = "code_challenge" in standin.authorize_params[-1]
    assert pkce is (strategy not in ("linkedin", "apple"))


# -- account linking ---------------------------------------------------------------------------


async def set_linking(api: httpx.AsyncClient, mode: str) -> None:
    answer = await api.patch("/api/v2/tenants/settings", json={"account_linking": mode})
    assert answer.status_code == 200, answer.text
    assert answer.json()["account_linking"] == mode


async def test_account_linking_setting_is_checked(api: httpx.AsyncClient) -> None:
    answer = await api.patch("/api/v2/tenants/settings", json={"account_linking": "always"})
    assert answer.status_code == 400


async def test_verified_email_links_into_one_profile_and_unlink_separates(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await set_linking(api, "verified_email")
    existing = await create_user(container, "ada@example.com", email_verified=True)
    await make_connection(api, container, standin, strategy="google-oauth2")
    answer = await social_login(api, "google-oauth2-conn")
    assert answer.status_code == 303
    [user] = await users(container)
    assert user.user_id == existing["user_id"]
    assert [i.provider for i in user.identities] == ["auth0", "google-oauth2"]
    assert user.logins_count == 1
    shown = user_to_dict(user)
    assert shown["identities"][1]["profileData"]["email"] == "ada@example.com"
    linked = [e for e in await events(container) if e.type == "s"]
    assert linked[-1].details["account_link"]["mode"] == "verified_email"
    assert linked[-1].user_id == existing["user_id"]
    # a second login through Google lands in the same profile and counts there
    assert (await social_login(api, "google-oauth2-conn")).status_code == 303
    [user] = await users(container)
    assert user.logins_count == 2

    unlinked = await api.delete(
        f"/api/v2/users/{existing['user_id']}/identities/google-oauth2/{standin.account.sub}"
    )
    assert unlinked.status_code == 200, unlinked.text
    assert len(await users(container)) == 2


async def test_unverified_email_is_never_linked(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await set_linking(api, "verified_email")
    await create_user(container, "ada@example.com", email_verified=True)
    standin.account.email_verified = False
    await make_connection(api, container, standin, strategy="google-oauth2")
    assert (await social_login(api, "google-oauth2-conn")).status_code == 303
    assert len(await users(container)) == 2

    await create_user(container, "bob@example.com")  # unverified on our side
    standin.account.email, standin.account.email_verified = "bob@example.com", True
    standin.account.sub = "222"
    assert (await social_login(api, "google-oauth2-conn")).status_code == 303
    assert len(await users(container)) == 4


async def test_prompt_links_only_after_the_existing_password(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await set_linking(api, "prompt")
    existing = await create_user(container, "ada@example.com")
    await make_connection(api, container, standin, strategy="github")
    answer = await social_login(api, "github-conn")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/u/link?")
    page = await api.get(answer.headers["location"])
    assert page.status_code == 200 and "ada@example.com" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    wrong = await api.post(
        answer.headers["location"],
        data={"csrf_token": csrf.group(1), "action": "link", "password": "Wrong-Horse-1"},
    )
    assert wrong.status_code == 401 and "Wrong password" in wrong.text
    assert len(await users(container)) == 1
    right = await api.post(
        answer.headers["location"],
        data={"csrf_token": csrf.group(1), "action": "link", "password": GOOD_PASSWORD},
    )
    assert right.status_code == 303, right.text
    [user] = await users(container)
    assert user.user_id == existing["user_id"]
    assert [i.provider for i in user.identities] == ["auth0", "github"]
    types = [e.type for e in await events(container)]
    assert "fp" in types and types[-1] == "s"


async def test_prompt_can_keep_the_accounts_apart(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await set_linking(api, "prompt")
    await create_user(container, "ada@example.com")
    await make_connection(api, container, standin)
    answer = await social_login(api)
    page = await api.get(answer.headers["location"])
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    apart = await api.post(
        answer.headers["location"], data={"csrf_token": csrf.group(1), "action": "separate"}
    )
    assert apart.status_code == 303
    assert len(await users(container)) == 2
    async with container.unit_of_work() as uow:
        count = len((await uow.session.scalars(select(Identity))).all())
    assert count == 2
