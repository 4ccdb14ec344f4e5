"""Auth0's Python SDK (auth0-python) against the live server's /oauth/token and /userinfo.

The SDK posts JSON (with `"audience": null`-style keys) and asks for the Management API as
https://{domain}/api/v2/ even over http; the server must treat that as its own audience.
ID tokens are checked with the SDK's own TokenVerifier against the published JWKS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from auth0.authentication import GetToken, Users
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

from tests.peers.conftest import (
    DATABASE_CONNECTION,
    App,
    AppSpec,
    LiveServer,
    User,
    UserSpec,
    unique_email,
    verified_claims,
)

PASSWORD = "Correct-Horse-9"


@dataclass(frozen=True)
class Realm:
    server: LiveServer
    app: App
    user: User


@pytest.fixture(scope="module")
def realm(live_server: LiveServer) -> Realm:
    """A regular web app allowed the password grant, and a user with a verified e-mail."""
    made = live_server.provision(
        apps=[
            AppSpec(
                name="auth0-python app",
                grant_types=["authorization_code", "refresh_token", "password"],
            )
        ],
        users=[UserSpec(email=unique_email("sdk-token"), password=PASSWORD, name="SDK Person")],
    )
    return Realm(live_server, made.apps[0], made.users[0])


def get_token(realm: Realm) -> GetToken:
    return GetToken(
        realm.server.host,
        realm.app.client_id,
        client_secret=realm.app.client_secret,
        protocol="http",
        timeout=10.0,
    )


def id_token_verifier(realm: Realm) -> TokenVerifier:
    return TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"{realm.server.url}/.well-known/jwks.json"),
        issuer=realm.server.issuer,
        audience=realm.app.client_id,
    )


def test_password_realm_login_gives_a_verifiable_id_token(realm: Realm) -> None:
    tokens = get_token(realm).login(
        realm.user.email,
        PASSWORD,
        realm=DATABASE_CONNECTION,
        scope="openid email offline_access",
    )

    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] > 0
    claims = id_token_verifier(realm).verify(tokens["id_token"])
    assert claims["sub"] == realm.user.user_id
    assert claims["email"] == realm.user.email
    assert claims["email_verified"] is True
    assert "name" not in claims  # not asked for: no `profile` scope
    userinfo = Users(realm.server.host, protocol="http", timeout=10.0).userinfo(
        tokens["access_token"]
    )
    assert userinfo["sub"] == realm.user.user_id
    assert userinfo["email"] == realm.user.email

    refreshed = get_token(realm).refresh_token(tokens["refresh_token"])

    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert id_token_verifier(realm).verify(refreshed["id_token"])["sub"] == realm.user.user_id


def test_client_credentials_accepts_the_sdks_https_audience(realm: Realm) -> None:
    server = realm.server
    assert server.management_client_secret, "`identa init --json` printed no client_secret"
    machine = GetToken(
        server.host,
        server.management_client_id,
        client_secret=server.management_client_secret,
        protocol="http",
        timeout=10.0,
    )

    tokens = machine.client_credentials(audience=f"https://{server.host}/api/v2/")

    assert tokens["token_type"].lower() == "bearer"
    claims = verified_claims(
        server,
        tokens["access_token"],
        aud=server.management_audience,
        sub=f"{server.management_client_id}@clients",
        gty="client-credentials",
    )
    assert "read:users" in claims["scope"].split()


def test_a_wrong_password_is_invalid_grant(realm: Realm) -> None:
    with pytest.raises(Auth0Error) as raised:
        get_token(realm).login(
            realm.user.email, "Not-The-Password-1", realm=DATABASE_CONNECTION, scope="openid"
        )

    assert raised.value.status_code == 403
    assert raised.value.error_code == "invalid_grant"
