"""Connected accounts on the self-service account page, through the ASGI app against the
stand-in provider: connect (bound to the signed-in session), refuse an identity that belongs to
another profile, disconnect a secondary identity (CSRF-checked, never the primary)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from identa.container import Container
from identa.events.models import OutboxMessage
from tests.conftest import PUBLIC_URL
from tests.factories import GOOD_PASSWORD, create_user
from tests.http.test_social_login import (
    events,
    make_connection,
    social_login,
    upstream_redirect,
    users,
)
from tests.standins.social_providers import StandIn

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def password_login(client: httpx.AsyncClient, email: str) -> None:
    page = await client.get("/u/login")
    state = re.search(r'action="/u/login\?state=([^"]+)"', page.text)
    csrf = CSRF.search(page.text)
    assert state and csrf, page.text
    done = await client.post(
        f"/u/login?state={state.group(1)}",
        data={"csrf_token": csrf.group(1), "username": email, "password": GOOD_PASSWORD},
    )
    assert done.status_code == 303, done.text


def connect_link(page: str, connection: str) -> str:
    match = re.search(rf'data-connect="{re.escape(connection)}" href="([^"]+)"', page)
    assert match, f"no Connect button for {connection}"
    return match.group(1).replace("&amp;", "&")


async def start_connect(client: httpx.AsyncClient, connection: str = "oidc-conn") -> str:
    """Account page → Connect → the provider; returns the provider's callback URL."""
    page = await client.get("/u/account")
    assert page.status_code == 200
    hop = await client.get(connect_link(page.text, connection))
    assert hop.status_code == 302, hop.text
    assert hop.headers["referrer-policy"] == "no-referrer"
    return await upstream_redirect(hop.headers["location"])


async def outbox_types(container: Container) -> list[str]:
    async with container.unit_of_work() as uow:
        rows = await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [m.event_type for m in rows]


async def test_connect_links_into_the_signed_in_profile_and_disconnect_separates(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    existing = await create_user(container, "grace@example.com")
    await make_connection(api, container, standin)
    await password_login(api, "grace@example.com")
    page = await api.get("/u/account")
    assert "Connected accounts" in page.text
    assert "Username-Password-Authentication" in page.text
    assert 'action="/u/account/disconnect"' not in page.text  # the only (primary) identity
    assert 'data-connect="oidc-conn"' in page.text

    done = await api.get(await start_connect(api))
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/u/account?notice=account_connected"
    [user] = await users(container)  # the stand-in's ada@example.com joined grace's profile
    assert user.user_id == existing["user_id"] and user.email == "grace@example.com"
    assert [i.provider for i in user.identities] == ["auth0", "oidc"]
    assert user.identities[1].idp_tokens and user.identities[1].profile_data
    [linked] = [e for e in await events(container) if e.type == "sapi"]
    assert linked.user_id == existing["user_id"]
    assert linked.description.startswith(
        f"Link a User Account (oidc|oidc-conn|{standin.account.sub})"
    )
    assert (linked.connection, linked.strategy) == ("oidc-conn", "oidc")
    assert "user.linked" in await outbox_types(container)

    page = await api.get("/u/account?notice=account_connected")
    assert "Your account is connected" in page.text
    assert 'data-connect="oidc-conn"' not in page.text  # one identity per connection
    assert f'data-identity="oidc|oidc-conn|{standin.account.sub}"' in page.text
    csrf = CSRF.search(page.text)
    assert csrf

    forged = await api.post(
        "/u/account/disconnect",
        data={"provider": "oidc", "user_id": f"oidc-conn|{standin.account.sub}"},
    )
    assert forged.status_code == 403
    primary = await api.post(
        "/u/account/disconnect",
        data={
            "csrf_token": csrf.group(1),
            "provider": "auth0",
            "user_id": existing["user_id"].removeprefix("auth0|"),
        },
    )
    assert primary.status_code == 400 and "main identity" in primary.text
    assert len((await users(container))[0].identities) == 2

    gone = await api.post(
        "/u/account/disconnect",
        data={
            "csrf_token": csrf.group(1),
            "provider": "oidc",
            "user_id": f"oidc-conn|{standin.account.sub}",
        },
    )
    assert gone.status_code == 303
    assert gone.headers["location"] == "/u/account?notice=account_disconnected"
    found = {u.user_id: u for u in await users(container)}
    assert len(found) == 2
    assert [i.provider for i in found[existing["user_id"]].identities] == ["auth0"]
    assert "user.unlinked" in await outbox_types(container)
    # the account page works again and offers Connect once more
    page = await api.get("/u/account")
    assert 'data-connect="oidc-conn"' in page.text


async def test_an_identity_of_another_profile_is_refused_and_nothing_changes(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    async with httpx.AsyncClient(transport=api._transport, base_url=PUBLIC_URL) as other:
        assert (await social_login(other)).status_code == 303  # ada's own profile
    existing = await create_user(container, "grace@example.com")
    await password_login(api, "grace@example.com")
    refused = await api.get(await start_connect(api))
    assert refused.status_code == 409
    assert "already belongs to another account" in refused.text
    assert "nothing was changed" in refused.text
    found = {u.user_id: u for u in await users(container)}
    assert len(found) == 2
    assert [i.provider for i in found[existing["user_id"]].identities] == ["auth0"]
    assert len(found[f"oidc|oidc-conn|{standin.account.sub}"].identities) == 1
    [failure] = [e for e in await events(container) if e.type == "f"]
    assert failure.details["error"]["reason"] == "identity_taken"
    assert failure.user_id == existing["user_id"]
    assert "sapi" not in [e.type for e in await events(container)]


async def test_a_link_started_by_one_session_cannot_complete_in_another(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    grace = await create_user(container, "grace@example.com")
    await create_user(container, "alan@example.com")
    await make_connection(api, container, standin)
    await password_login(api, "grace@example.com")
    callback = await start_connect(api)
    # Same browser (its upstream cookie still matches), but now signed in as someone else.
    await password_login(api, "alan@example.com")
    refused = await api.get(callback)
    assert refused.status_code == 409 and "another session" in refused.text
    assert all(len(u.identities) == 1 for u in await users(container))
    reasons = [e.details["error"]["reason"] for e in await events(container) if e.type == "f"]
    assert reasons == ["session_mismatch"]

    # And without the page's CSRF token, Connect does not even start.
    await password_login(api, "grace@example.com")
    page = await api.get("/u/account")
    link = connect_link(page.text, "oidc-conn")
    forged = await api.get(re.sub(r"&csrf_token=[^&]+", "&csrf_token=forged", link))
    assert forged.status_code == 403
    assert grace["user_id"] in {u.user_id for u in await users(container)}


async def test_connect_needs_a_signed_in_session(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    await make_connection(api, container, standin)
    answer = await api.get("/u/account/connect?connection=oidc-conn&csrf_token=x")
    assert answer.status_code == 303 and answer.headers["location"] == "/u/login"
    assert await users(container) == []


async def test_connect_buttons_follow_the_connections_enabled_on_the_application(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    strategy = "github"
    await create_user(container, "grace@example.com")
    await make_connection(api, container, standin, strategy=strategy)
    other = await api.post(
        "/api/v2/connections",
        json={
            "name": "elsewhere",
            "strategy": "google-oauth2",
            "options": {"client_id": "a", "client_secret": "b"},
            "enabled_clients": [],
        },
    )
    assert other.status_code == 201, other.text
    await password_login(api, "grace@example.com")
    page = await api.get("/u/account")
    assert f'data-connect="{strategy}-conn"' in page.text
    assert 'data-connect="elsewhere"' not in page.text
    refused = await api.get(
        re.sub(r"connection=[^&]+", "connection=elsewhere", connect_link(page.text, "github-conn"))
    )
    assert refused.status_code == 400 and "disabled" in refused.text
    [user] = await users(container)
    assert len(user.identities) == 1
