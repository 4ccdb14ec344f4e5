"""Against the real upstream (node oidc-provider 9.13.3, see test_social_upstream.py): connecting
an account from the self-service account page, headless and in Chromium, and RFC 9207 on the
callback (oidc-provider announces `authorization_response_iss_parameter_supported` and sends
`iss`: a response stripped of it, or carrying the other provider's issuer, is refused)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.peers.conftest import LiveServer, UserSpec, html_forms, page_text
from tests.peers.test_social_upstream import (
    GOOGLE_LIKE,
    PASSWORD,
    Upstreams,
    login_name,
    management,
    provider_round_trip,
    set_linking,
    started_upstreams,
    users_by_email,
)


@pytest.fixture(scope="module")
def providers(live_server: LiveServer) -> Iterator[Upstreams]:
    with started_upstreams(live_server) as started:
        yield started


def password_login(server: LiveServer, identa: httpx.Client, email: str) -> None:
    page = identa.get(f"{server.url}/u/login")
    form = next(f for f in html_forms(page.text) if "password" in f.fields)
    done = identa.post(
        urljoin(str(page.url), form.action),
        data={**form.fields, "username": email, "password": PASSWORD},
    )
    assert done.status_code == 303, page_text(done.text)


def connect_hop(server: LiveServer, identa: httpx.Client, connection: str) -> str:
    page = identa.get(f"{server.url}/u/account")
    match = re.search(rf'data-connect="{re.escape(connection)}" href="([^"]+)"', page.text)
    assert match, page_text(page.text)
    hop = identa.get(urljoin(server.url, match.group(1).replace("&amp;", "&")))
    assert hop.status_code == 302, page_text(hop.text)
    return str(hop.headers["location"])


def with_iss(url: str, iss: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "iss"]
    if iss is not None:
        query.append(("iss", iss))
    return urlunsplit(parts._replace(query=urlencode(query)))


def failure_reasons(server: LiveServer) -> list[str]:
    with management(server) as api:
        logs = api.get("/api/v2/logs", params={"q": "type:f", "per_page": 100}).json()
    return [str((e.get("details") or {}).get("error", {}).get("reason")) for e in logs]


# -- headless ----------------------------------------------------------------------------------


def test_connect_from_the_account_page_headless(server: LiveServer, providers: Upstreams) -> None:
    set_linking(server, "off")
    email = f"{login_name()}@example.com"
    [existing] = server.provision(users=[UserSpec(email=email, password=PASSWORD)]).users
    upstream_account = login_name()
    with httpx.Client(timeout=15.0) as identa:
        password_login(server, identa, email)
        callback = provider_round_trip(
            server, connect_hop(server, identa, GOOGLE_LIKE), upstream_account
        )
        assert "iss=" in callback
        done = identa.get(callback)
        assert done.status_code == 303, page_text(done.text)
        assert done.headers["location"] == "/u/account?notice=account_connected"
    [user] = users_by_email(server, email)
    assert user["user_id"] == existing.user_id
    assert [i["connection"] for i in user["identities"]] == [
        "Username-Password-Authentication",
        GOOGLE_LIKE,
    ]
    assert user["identities"][1]["user_id"] == f"{GOOGLE_LIKE}|{upstream_account}"
    # The upstream account's own address did not become a profile of its own.
    assert users_by_email(server, f"{upstream_account}@upstream.test") == []


def test_connect_refuses_an_upstream_account_of_another_profile(
    server: LiveServer, providers: Upstreams
) -> None:
    set_linking(server, "off")
    taken = login_name()
    with httpx.Client(timeout=15.0) as someone:
        page = someone.get(f"{server.url}/u/login")
        match = re.search(rf'data-connection="{GOOGLE_LIKE}" href="([^"]+)"', page.text)
        assert match
        hop = someone.get(urljoin(server.url, match.group(1).replace("&amp;", "&")))
        assert someone.get(provider_round_trip(server, hop.headers["location"], taken)).is_redirect
    email = f"{login_name()}@example.com"
    server.provision(users=[UserSpec(email=email, password=PASSWORD)])
    with httpx.Client(timeout=15.0) as identa:
        password_login(server, identa, email)
        callback = provider_round_trip(server, connect_hop(server, identa, GOOGLE_LIKE), taken)
        refused = identa.get(callback)
    assert refused.status_code == 409 and "already belongs to another account" in refused.text
    [user] = users_by_email(server, email)
    assert len(user["identities"]) == 1
    [other] = users_by_email(server, f"{taken}@upstream.test")
    assert len(other["identities"]) == 1
    assert "identity_taken" in failure_reasons(server)


@pytest.mark.parametrize("tamper", ["missing", "other_provider"])
def test_rfc9207_iss_is_checked_on_the_callback(
    server: LiveServer, providers: Upstreams, tamper: str
) -> None:
    set_linking(server, "off")
    name = login_name()
    with httpx.Client(timeout=15.0) as identa:
        page = identa.get(f"{server.url}/u/login")
        match = re.search(rf'data-connection="{GOOGLE_LIKE}" href="([^"]+)"', page.text)
        assert match
        hop = identa.get(urljoin(server.url, match.group(1).replace("&amp;", "&")))
        callback = provider_round_trip(server, hop.headers["location"], name)
        assert dict(parse_qsl(urlsplit(callback).query))["iss"] == providers.google
        # A mix-up: the response claims to come from the other provider; or says nothing.
        iss = providers.oauth2 if tamper == "other_provider" else None
        refused = identa.get(with_iss(callback, iss))
    assert refused.status_code == 400, page_text(refused.text)
    assert "did not come from" in refused.text
    assert users_by_email(server, f"{name}@upstream.test") == []
    assert "issuer_mismatch" in failure_reasons(server)


# -- Chromium ----------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_person_connects_and_disconnects_an_account_in_chromium(
    server: LiveServer, providers: Upstreams, page: Page
) -> None:
    set_linking(server, "off")
    email = f"{login_name()}@example.com"
    [existing] = server.provision(users=[UserSpec(email=email, password=PASSWORD)]).users
    upstream_account = login_name()
    page.goto(f"{server.url}/u/login")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name="Connected accounts")).to_be_visible()

    page.get_by_role("link", name="Connect Upstream Google").click()
    page.locator("input[name=login]").fill(upstream_account)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # the provider's consent page
    expect(page).to_have_url(f"{server.url}/u/account?notice=account_connected")
    expect(page.get_by_text("Your account is connected")).to_be_visible()
    expect(page.get_by_role("button", name="Disconnect Upstream Google")).to_be_visible()
    [user] = users_by_email(server, email)
    assert [i["connection"] for i in user["identities"]][1] == GOOGLE_LIKE

    page.get_by_role("button", name="Disconnect Upstream Google").click()
    expect(page).to_have_url(f"{server.url}/u/account?notice=account_disconnected")
    expect(page.get_by_role("link", name="Connect Upstream Google")).to_be_visible()
    [user] = users_by_email(server, email)
    assert user["user_id"] == existing.user_id and len(user["identities"]) == 1
