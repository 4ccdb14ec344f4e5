"""openid-client v6 (node, panva) as a relying party of the live server.

The node script tests/peers/node/openid_client_rp.mjs does discovery, builds the authorization
URL (PKCE S256, state, nonce), and later redeems the callback: authorizationCodeGrant (which
checks state, the RFC 9207 `iss`, the ID token and its nonce), fetchUserInfo, refreshTokenGrant,
tokenRevocation and buildEndSessionUrl. This test walks the login page in between, with httpx.
Needs node and npm; the packages come from tests/peers/package-lock.json (`npm ci`, run here
when node_modules is missing). Without node the test skips (fails with IDENTA_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.peers.conftest import (
    App,
    AppSpec,
    HostedLogin,
    LiveServer,
    User,
    UserSpec,
    callback_params,
    skip_or_fail,
    unique_email,
)

PEERS = Path(__file__).parent
SCRIPT = PEERS / "node" / "openid_client_rp.mjs"
CALLBACK = "http://127.0.0.1:9/openid-client/callback"
LOGGED_OUT = "http://127.0.0.1:9/openid-client/logged-out"
PASSWORD = "Correct-Horse-9"
SCOPE = "openid profile email offline_access"


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with tests/peers/node_modules installed from the lock file."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        skip_or_fail("node and npm are needed for the openid-client peer")
    if not (PEERS / "node_modules" / "openid-client" / "package.json").exists():
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


def run_node(node: str, command: str, config: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [node, str(SCRIPT), command],
        input=json.dumps(config).encode(),
        cwd=PEERS,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (
        f"openid-client {command} failed:\n{done.stderr.decode(errors='replace')}"
    )
    answer: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer


@dataclass(frozen=True)
class Realm:
    user: User
    apps: dict[str, App]


@pytest.fixture(scope="module")
def realm(live_server: LiveServer) -> Realm:
    """A confidential web app (client_secret_basic), a public SPA (PKCE only) and a user."""
    app_types = ["regular_web", "spa"]
    made = live_server.provision(
        apps=[
            AppSpec(
                name=f"openid-client {app_type}",
                app_type=app_type,
                callbacks=[CALLBACK],
                allowed_logout_urls=[LOGGED_OUT],
                token_endpoint_auth_method="client_secret_basic"
                if app_type == "regular_web"
                else None,
            )
            for app_type in app_types
        ],
        users=[UserSpec(email=unique_email("oidc-client"), password=PASSWORD, name="Node Person")],
    )
    return Realm(user=made.users[0], apps=dict(zip(app_types, made.apps, strict=True)))


@pytest.mark.parametrize(
    "app_type",
    [
        pytest.param("regular_web", id="confidential-client_secret_basic"),
        pytest.param("spa", id="public-pkce-only"),
    ],
)
def test_code_flow_userinfo_refresh_revocation_and_end_session(
    server: LiveServer, node: str, realm: Realm, hosted_login: HostedLogin, app_type: str
) -> None:
    app, user = realm.apps[app_type], realm.user
    assert (app.client_secret is None) == (app_type == "spa")
    config: dict[str, Any] = {
        "issuer": server.issuer,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": CALLBACK,
        "scope": SCOPE,
        "post_logout_redirect_uri": LOGGED_OUT,
        "logout_state": "bye-123",
    }

    started = run_node(node, "authorize", config)
    request = callback_params(started["url"])
    assert started["url"].startswith(f"{server.url}/authorize?")
    assert request["code_challenge_method"] == "S256"
    assert request["nonce"] == started["nonce"]
    callback = hosted_login.authorize(started["url"], user.email, user.password)
    assert callback.startswith(CALLBACK + "?")

    done = run_node(
        node,
        "redeem",
        {
            **config,
            "callback_url": callback,
            "code_verifier": started["code_verifier"],
            "state": started["state"],
            "nonce": started["nonce"],
        },
    )

    claims = done["claims"]
    assert claims["iss"] == server.issuer
    assert claims["aud"] == app.client_id
    assert claims["sub"] == user.user_id
    assert claims["nonce"] == started["nonce"]
    assert claims["email"] == user.email
    assert claims["name"] == "Node Person"
    assert done["userinfo"]["sub"] == user.user_id
    assert done["userinfo"]["email"] == user.email
    tokens, refreshed = done["tokens"], done["refreshed"]
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["id_token"] != tokens["id_token"]
    assert done["refreshed_claims"]["sub"] == user.user_id
    assert done["after_revocation"]["error"] == "invalid_grant"
    end_session = done["end_session_url"]
    assert end_session.startswith(f"{server.url}/oidc/logout?")
    assert callback_params(end_session) == {
        "client_id": app.client_id,
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": LOGGED_OUT,
        "state": "bye-123",
    }
