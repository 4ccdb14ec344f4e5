"""Social and enterprise login against a real upstream: node oidc-provider 9.13.3.

One node process (tests/peers/node/upstream_op.mjs) runs two providers: a Google-like one used
through Identa's generic `oidc` strategy (discovery, PKCE, ID token with a verified e-mail), and
one used as a plain `oauth2` provider through its userinfo endpoint. Flows run headless (httpx
through Identa's hosted pages and the provider's dev login and consent pages) and once in
Chromium. Needs node and tests/peers/node_modules (`npm ci`); without them the tests skip
(fail with IDENTA_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.peers.conftest import (
    LiveServer,
    UserSpec,
    free_port,
    html_forms,
    page_text,
    skip_or_fail,
)

PEERS = Path(__file__).parent
SCRIPT = PEERS / "node" / "upstream_op.mjs"
PASSWORD = "Correct-Horse-9"
GOOGLE_LIKE = "upstream-google"
PLAIN_OAUTH2 = "upstream-oauth2"


@dataclass
class Upstreams:
    google: str
    oauth2: str
    process: subprocess.Popen[bytes]


def node_binary() -> str:
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        skip_or_fail("node and npm are needed for the oidc-provider upstream")
    assert node_bin is not None and npm_bin is not None
    if not (PEERS / "node_modules" / "oidc-provider" / "package.json").exists():
        done = subprocess.run(
            [npm_bin, "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=PEERS,
            capture_output=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            skip_or_fail(f"`npm ci` in {PEERS} failed:\n{done.stderr.decode(errors='replace')}")
    return node_bin


@pytest.fixture(scope="module")
def upstreams(live_server: LiveServer) -> Iterator[Upstreams]:
    with started_upstreams(live_server) as started:
        yield started


@contextmanager
def started_upstreams(live_server: LiveServer) -> Iterator[Upstreams]:
    """The two providers on free ports, with Identa's /login/callback registered at both."""
    node = node_binary()
    callback = f"{live_server.url}/login/callback"
    ports = [free_port(), free_port()]
    config = [
        {
            "port": port,
            "clients": [
                {"client_id": f"identa-{i}", "client_secret": f"secret-{i}-{uuid.uuid4().hex}"}
                | {"redirect_uris": [callback]}
            ],
        }
        for i, port in enumerate(ports)
    ]
    process = subprocess.Popen(
        [node, str(SCRIPT)],
        cwd=PEERS,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(config).encode())
    process.stdin.close()
    line = process.stdout.readline().decode()
    if '"ready"' not in line:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
        pytest.fail(f"oidc-provider did not start: {line!r}")
    issuers = json.loads(line)["ready"]
    api = management(live_server)
    for name, strategy, issuer, client in (
        (GOOGLE_LIKE, "oidc", issuers[0], config[0]["clients"][0]),
        (PLAIN_OAUTH2, "oauth2", issuers[1], config[1]["clients"][0]),
    ):
        options: dict[str, Any] = {
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "scope": "openid profile email",
        }
        if strategy == "oidc":
            options["discovery_url"] = f"{issuer}/.well-known/openid-configuration"
        else:
            options.update(
                authorizationURL=f"{issuer}/auth",
                tokenURL=f"{issuer}/token",
                profileURL=f"{issuer}/me",
                token_endpoint_auth_method="client_secret_basic",
                profile_map={"user_id": "sub", "email_verified": "email_verified"},
            )
        made = api.post(
            "/api/v2/connections",
            json={
                "name": name,
                "display_name": "Upstream Google" if strategy == "oidc" else "Upstream OAuth2",
                "strategy": strategy,
                "options": options,
                "enabled_clients": [live_server.default_client_id],
            },
        )
        assert made.status_code == 201, made.text
    try:
        yield Upstreams(google=issuers[0], oauth2=issuers[1], process=process)
    finally:
        api.close()
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def management(server: LiveServer) -> httpx.Client:
    token = httpx.post(
        f"{server.url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": server.management_client_id,
            "client_secret": server.management_client_secret,
            "audience": server.management_audience,
        },
    ).json()["access_token"]
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10.0
    )


def set_linking(server: LiveServer, mode: str) -> None:
    with management(server) as api:
        answer = api.patch("/api/v2/tenants/settings", json={"account_linking": mode})
        assert answer.status_code == 200, answer.text


def users_by_email(server: LiveServer, email: str) -> list[dict[str, Any]]:
    with management(server) as api:
        answer = api.get("/api/v2/users-by-email", params={"email": email})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found


def upstream_login(
    server: LiveServer, connection: str, login: str, identa: httpx.Client | None = None
) -> httpx.Response:
    """Identa's login page → the provider's button → the provider's login and consent pages →
    Identa's callback; returns Identa's answer to the callback."""
    own = identa is None
    identa = identa or httpx.Client(timeout=15.0)
    try:
        page = identa.get(f"{server.url}/u/login")
        match = re.search(rf'data-connection="{re.escape(connection)}" href="([^"]+)"', page.text)
        assert match, f"no {connection} button on the login page:\n{page_text(page.text)}"
        hop = identa.get(urljoin(server.url, match.group(1).replace("&amp;", "&")))
        assert hop.status_code == 302, hop.text
        return identa.get(provider_round_trip(server, hop.headers["location"], login))
    finally:
        if own:
            identa.close()


def provider_round_trip(server: LiveServer, authorize_url: str, login: str) -> str:
    """Drives the provider's dev login and consent pages; returns the URL it sends the browser
    back to (Identa's callback), without following it."""
    with httpx.Client(timeout=15.0) as browser_at_upstream:
        response = browser_at_upstream.get(authorize_url)
        for _ in range(12):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(server.url):
                    return target
                response = browser_at_upstream.get(target)
                continue
            [form] = html_forms(response.text)
            data = dict(form.fields)
            if "login" in data:
                data.update(login=login, password="anything")
            response = browser_at_upstream.post(urljoin(str(response.url), form.action), data=data)
    raise AssertionError("the provider never sent the browser back")


def login_name() -> str:
    return f"peer-{uuid.uuid4().hex[:10]}"


# -- headless ----------------------------------------------------------------------------------


def test_google_like_oidc_sign_up_and_login(server: LiveServer, upstreams: Upstreams) -> None:
    set_linking(server, "off")
    name = login_name()
    first = upstream_login(server, GOOGLE_LIKE, name)
    assert first.status_code == 303, page_text(first.text)
    assert first.headers["location"] == "/u/account"
    second = upstream_login(server, GOOGLE_LIKE, name)
    assert second.status_code == 303
    [user] = users_by_email(server, f"{name}@upstream.test")
    assert user["user_id"] == f"oidc|{GOOGLE_LIKE}|{name}"
    assert user["email_verified"] is True
    assert user["name"] == f"User {name}"
    assert user["logins_count"] == 2
    assert user["identities"][0]["provider"] == "oidc"
    assert "access_token" not in user["identities"][0]
    with management(server) as api:
        logs = api.get(f"/api/v2/users/{user['user_id']}/logs").json()
    kinds = sorted((e["type"], e.get("connection"), e.get("strategy")) for e in logs)
    assert ("ss", GOOGLE_LIKE, "oidc") in kinds
    assert kinds.count(("s", GOOGLE_LIKE, "oidc")) == 2


def test_plain_oauth2_through_the_userinfo_endpoint(
    server: LiveServer, upstreams: Upstreams
) -> None:
    set_linking(server, "off")
    name = login_name()
    answer = upstream_login(server, PLAIN_OAUTH2, name)
    assert answer.status_code == 303, page_text(answer.text)
    [user] = users_by_email(server, f"{name}@upstream.test")
    assert user["user_id"] == f"oauth2|{PLAIN_OAUTH2}|{name}"
    assert user["family_name"] == name
    assert user["identities"][0]["isSocial"] is True


def test_same_verified_email_links_and_unlink_separates(
    server: LiveServer, upstreams: Upstreams
) -> None:
    set_linking(server, "verified_email")
    email = f"{login_name()}@example.com"
    [existing] = server.provision(users=[UserSpec(email=email, password=PASSWORD)]).users
    assert upstream_login(server, GOOGLE_LIKE, email).status_code == 303
    assert upstream_login(server, PLAIN_OAUTH2, email).status_code == 303
    [user] = users_by_email(server, email)
    assert user["user_id"] == existing.user_id
    assert [i["connection"] for i in user["identities"]] == [
        "Username-Password-Authentication",
        GOOGLE_LIKE,
        PLAIN_OAUTH2,
    ]
    assert user["logins_count"] == 2
    with management(server) as api:
        unlinked = api.delete(
            f"/api/v2/users/{existing.user_id}/identities/oidc/{GOOGLE_LIKE}|{email}"
        )
    assert unlinked.status_code == 200, unlinked.text
    assert len(users_by_email(server, email)) == 2


def test_unverified_email_is_not_linked(server: LiveServer, upstreams: Upstreams) -> None:
    set_linking(server, "verified_email")
    email = f"{login_name()}@example.com"
    server.provision(users=[UserSpec(email=email, password=PASSWORD)])
    answer = upstream_login(server, GOOGLE_LIKE, f"unverified:{email}")
    assert answer.status_code == 303
    found = users_by_email(server, email)
    assert len(found) == 2
    assert all(len(u["identities"]) == 1 for u in found)


def test_prompt_links_after_the_existing_password(server: LiveServer, upstreams: Upstreams) -> None:
    set_linking(server, "prompt")
    email = f"{login_name()}@example.com"
    [existing] = server.provision(users=[UserSpec(email=email, password=PASSWORD)]).users
    with httpx.Client(timeout=15.0) as identa:
        answer = upstream_login(server, GOOGLE_LIKE, email, identa)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/u/link?")
        page = identa.get(urljoin(server.url, answer.headers["location"]))
        form = html_forms(page.text)[0]
        assert len(users_by_email(server, email)) == 1
        done = identa.post(
            urljoin(str(page.url), form.action), data={**form.fields, "password": PASSWORD}
        )
        assert done.status_code == 303, page_text(done.text)
    [user] = users_by_email(server, email)
    assert user["user_id"] == existing.user_id
    assert [i["provider"] for i in user["identities"]] == ["auth0", "oidc"]
    set_linking(server, "off")


# -- Chromium ----------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_person_logs_in_with_the_upstream_in_chromium(
    server: LiveServer, upstreams: Upstreams, page: Page
) -> None:
    set_linking(server, "off")
    name = login_name()
    page.goto(f"{server.url}/u/login")
    page.get_by_role("link", name="Continue with Upstream Google").click()
    page.locator("input[name=login]").fill(name)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").click()  # the provider's consent page
    expect(page).to_have_url(f"{server.url}/u/account")
    expect(page.get_by_text(f"{name}@upstream.test").first).to_be_visible()
