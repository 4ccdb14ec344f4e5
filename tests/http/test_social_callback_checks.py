"""Social login through the ASGI app against the stand-in provider: RFC 9207 `iss` on the
callback, prompt-mode linking into an account that has no password, upstream token refresh
for the Management API, and an application with only social connections."""

from __future__ import annotations

import logging
import re
import time

import httpx
import pytest
from sqlalchemy import select

from identa.container import Container
from identa.identity.models import Identity
from tests.conftest import PUBLIC_URL
from tests.http.test_social_login import (
    events,
    make_connection,
    set_linking,
    social_login,
    upstream_redirect,
    users,
)
from tests.standins.social_providers import StandIn

# -- RFC 9207 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("announce", "response_iss", "accepted"),
    [
        (True, "standin", True),  # the right issuer
        (False, None, True),  # a provider that neither announces nor sends it
        (False, "https://evil.example", False),  # another provider's response (mix-up)
        (True, None, False),  # announced, but missing
    ],
)
async def test_the_iss_of_the_authorization_response_is_checked(
    api: httpx.AsyncClient,
    container: Container,
    standin: StandIn,
    announce: bool,
    response_iss: str | None,
    accepted: bool,
) -> None:
    await make_connection(api, container, standin)
    standin.announce_iss = announce
    standin.response_iss = standin.url if response_iss == "standin" else response_iss
    answer = await social_login(api)
    if accepted:
        assert answer.status_code == 303, answer.text
        assert len(await users(container)) == 1
        return
    assert answer.status_code == 400
    assert "did not come from" in answer.text
    assert await users(container) == []
    [failure] = [e for e in await events(container) if e.type == "f"]
    assert failure.details["error"]["reason"] == "issuer_mismatch"
    assert not any(path == "/token" for _, path in standin.requests[-3:])


# -- prompt mode, existing account without a password ------------------------------------------


async def link_page(api: httpx.AsyncClient) -> str:
    answer = await social_login(api)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/u/link?")
    page = await api.get(answer.headers["location"])
    assert page.status_code == 200
    assert 'name="password"' not in page.text  # the existing account has none
    match = re.search(r'data-connection="github-conn" href="([^"]+)"', page.text)
    assert match
    return match.group(1).replace("&amp;", "&")


async def test_prompt_links_after_a_login_with_the_existing_accounts_provider(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin, strategy="github")
    await make_connection(api, container, standin)
    async with httpx.AsyncClient(transport=api._transport, base_url=PUBLIC_URL) as first:
        assert (await social_login(first, "github-conn")).status_code == 303
    [existing] = await users(container)
    await set_linking(api, "prompt")

    proof = await link_page(api)
    assert len(await users(container)) == 1  # nothing made before the proof
    hop = await api.get(proof)
    assert hop.status_code == 302
    assert standin.authorize_params[-1]["client_id"] == standin.client_id
    done = await api.get(await upstream_redirect(hop.headers["location"]))
    assert done.status_code == 303, done.text
    [user] = await users(container)
    assert user.user_id == existing.user_id
    assert [i.provider for i in user.identities] == ["github", "oidc"]
    last = [e for e in await events(container) if e.type == "s"][-1]
    assert last.details["account_link"]["mode"] == "prompt"
    assert last.user_id == existing.user_id
    # the linked identity now logs in to the same profile
    assert (await social_login(api)).status_code == 303
    assert len(await users(container)) == 1


async def test_prompt_refuses_a_proof_from_another_account(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin, strategy="github")
    await make_connection(api, container, standin)
    async with httpx.AsyncClient(transport=api._transport, base_url=PUBLIC_URL) as first:
        assert (await social_login(first, "github-conn")).status_code == 303
    await set_linking(api, "prompt")
    proof = await link_page(api)
    standin.account.sub = "999999999999"  # a different GitHub account answers the proof
    hop = await api.get(proof)
    refused = await api.get(await upstream_redirect(hop.headers["location"]))
    assert refused.status_code == 400
    assert "is not the one of the existing account" in refused.text
    [user] = await users(container)
    assert [i.provider for i in user.identities] == ["github"]
    failures = [e for e in await events(container) if e.type == "f"]
    assert failures[-1].details["error"]["reason"] == "link_proof_mismatch"
    # a provider the existing account does not use cannot be the proof
    other = await api.get(re.sub(r"connection=[^&]+", "connection=oidc-conn", proof))
    assert other.status_code == 400


# -- upstream token refresh --------------------------------------------------------------------


async def expire_stored_tokens(container: Container) -> str:
    """Marks the stored upstream access token as expired; returns the sealed blob."""
    box = container.social.tokens
    async with container.unit_of_work() as uow:
        [identity] = (await uow.session.scalars(select(Identity))).all()
        tokens = box.open_json(identity.idp_tokens)
        tokens["expires_at"] = int(time.time()) - 60
        identity.idp_tokens = box.seal_json(tokens)
        sealed = identity.idp_tokens
        await uow.commit()
    return sealed


async def stored_tokens(container: Container) -> tuple[str | None, dict[str, object]]:
    async with container.unit_of_work() as uow:
        [identity] = (await uow.session.scalars(select(Identity))).all()
        return identity.idp_tokens, container.social.tokens.open_json(identity.idp_tokens)


async def test_expired_upstream_tokens_are_refreshed_for_the_management_api(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    assert (await social_login(api)).status_code == 303
    [user] = await users(container)
    _, before = await stored_tokens(container)
    path = f"/api/v2/users/{user.user_id}"
    fresh = (await api.get(path)).json()["identities"][0]
    assert fresh["access_token"] == before["access_token"]  # not expired: no refresh
    assert standin.refreshes == []

    await expire_stored_tokens(container)
    shown = (await api.get(path)).json()["identities"][0]
    assert standin.refreshes == [before["refresh_token"]]
    assert shown["access_token"] != before["access_token"]
    assert shown["access_token"] in standin.tokens
    assert shown["refresh_token"] != before["refresh_token"]  # rotated by the provider
    sealed, after = await stored_tokens(container)
    assert sealed and sealed.startswith("enc:v1:") and shown["access_token"] not in sealed
    assert after["access_token"] == shown["access_token"]
    assert after["refresh_token"] == shown["refresh_token"]
    assert float(after["expires_at"]) > time.time() + 3000  # type: ignore[arg-type]


async def test_a_failed_refresh_returns_the_stored_tokens_unchanged(
    api: httpx.AsyncClient,
    container: Container,
    standin: StandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_connection(api, container, standin)
    assert (await social_login(api)).status_code == 303
    [user] = await users(container)
    sealed = await expire_stored_tokens(container)
    _, before = await stored_tokens(container)
    standin.fault = "refresh_error"
    with caplog.at_level(logging.WARNING, logger="identa.flows.social_tokens"):
        shown = (await api.get(f"/api/v2/users/{user.user_id}")).json()["identities"][0]
    assert standin.refreshes == [before["refresh_token"]]
    assert shown["access_token"] == before["access_token"]
    assert shown["refresh_token"] == before["refresh_token"]
    assert (await stored_tokens(container))[0] == sealed  # nothing written
    assert any("refresh" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


# -- an application with only social connections ----------------------------------------------


async def test_an_application_with_only_social_connections(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session, name="Social Only", callbacks=["https://shop.example/callback"]
        )
        await uow.commit()
    client_id = made.client.client_id
    made_connection = await api.post(
        "/api/v2/connections",
        json={
            "name": "only-social",
            "strategy": "oidc",
            "options": {
                "client_id": standin.client_id,
                "client_secret": standin.client_secret,
                "discovery_url": f"{standin.url}/.well-known/openid-configuration",
                "scope": "openid profile email",
            },
            "enabled_clients": [client_id],
        },
    )
    assert made_connection.status_code == 201, made_connection.text

    page = await api.get(f"/u/login?client_id={client_id}")
    assert page.status_code == 200, page.text
    assert 'data-connection="only-social"' in page.text
    assert 'name="password"' not in page.text and "/u/signup" not in page.text
    state = re.search(r"/u/login/social\?state=([^&]+)&amp;", page.text)
    assert state
    # The page has no password form; a password posted anyway (with a valid CSRF token, taken
    # from another page of this browser) is refused clearly.
    other_page = await api.get("/u/reset-password/request")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', other_page.text)
    assert csrf
    posted = await api.post(
        f"/u/login?state={state.group(1)}",
        data={"csrf_token": csrf.group(1), "username": "a@b.c", "password": "x"},
    )
    assert posted.status_code == 400 and "no password login" in posted.text
    signup = await api.get(f"/u/signup?client_id={client_id}")
    assert signup.status_code == 403

    answer = await api.get(
        "/authorize",
        params={
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": "https://shop.example/callback",
            "scope": "openid",
            "state": "s1",
        },
    )
    assert answer.status_code == 302 and answer.headers["location"].startswith("/u/login?state=")
    login = await api.get(answer.headers["location"])
    hop = await to_provider_on(api, login.text, "only-social")
    done = await api.get(await upstream_redirect(hop.headers["location"]))
    assert done.status_code == 303, done.text
    resumed = await api.get(done.headers["location"])
    assert resumed.status_code in (302, 303)
    assert resumed.headers["location"].startswith("https://shop.example/callback?code=")
    [user] = await users(container)
    assert user.user_id == f"oidc|only-social|{standin.account.sub}"
    assert [(e.type, e.client_id) for e in await events(container) if e.type == "ss"] == [
        ("ss", client_id)
    ]


async def to_provider_on(api: httpx.AsyncClient, page: str, connection: str) -> httpx.Response:
    match = re.search(rf'data-connection="{re.escape(connection)}" href="([^"]+)"', page)
    assert match, page
    hop = await api.get(match.group(1).replace("&amp;", "&"))
    assert hop.status_code == 302, hop.text
    return hop
