"""Authlib as a relying party of the live server: code flow with PKCE, refresh, userinfo, M2M.

Authlib builds the requests and reads the answers; the hosted login page is walked by
`HostedLogin` (httpx, no browser). ID tokens and access tokens are checked with joserfc against
the published JWKS. Also here: the misuse cases a relying party can run into (a replayed code,
a reused rotated refresh token) and OpenID RP-Initiated Logout.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.peers.conftest import (
    App,
    AppSpec,
    HostedLogin,
    LiveServer,
    User,
    UserSpec,
    callback_params,
    unique_email,
    verified_claims,
)

# authlib's httpx integration warns (a DeprecationWarning) at import when the `httpx2` fork is
# not installed; this suite runs with warnings as errors, and plain httpx is what we use.
with warnings.catch_warnings():
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.common.security import generate_token
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError
    from authlib.oidc.discovery import OpenIDProviderMetadata

CALLBACK = "http://127.0.0.1:9/authlib/callback"
LOGGED_OUT = "http://127.0.0.1:9/authlib/logged-out"
PASSWORD = "Correct-Horse-9"
SCOPE = "openid profile email offline_access"


@dataclass(frozen=True)
class Realm:
    server: LiveServer
    metadata: dict[str, Any]
    web: App
    machine: App
    user: User


@pytest.fixture(scope="module")
def realm(live_server: LiveServer) -> Realm:
    made = live_server.provision(
        apps=[
            AppSpec(
                name="Authlib web app",
                callbacks=[CALLBACK],
                allowed_logout_urls=[LOGGED_OUT],
                grant_types=["authorization_code", "refresh_token"],
                token_endpoint_auth_method="client_secret_basic",
            ),
            AppSpec(
                name="Authlib machine",
                app_type="non_interactive",
                connection=None,
                management_scopes=["read:users", "read:clients"],
            ),
        ],
        users=[UserSpec(email=unique_email("authlib"), password=PASSWORD, name="Authlib Person")],
    )
    metadata = httpx.get(f"{live_server.url}/.well-known/openid-configuration").json()
    return Realm(live_server, metadata, made.apps[0], made.apps[1], made.users[0])


@pytest.fixture
def rp(realm: Realm) -> Iterator[OAuth2Client]:
    """The web app's Authlib client: client_secret_basic, PKCE S256, offline access."""
    with OAuth2Client(
        client_id=realm.web.client_id,
        client_secret=realm.web.client_secret,
        token_endpoint_auth_method="client_secret_basic",
        scope=SCOPE,
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        timeout=10.0,
    ) as client:
        yield client


@dataclass(frozen=True)
class SignIn:
    callback: str
    code_verifier: str
    state: str
    nonce: str


def sign_in(realm: Realm, rp: OAuth2Client, login: HostedLogin, **extra: str) -> SignIn:
    """Authlib's authorization URL, walked through the login page to the callback."""
    verifier, nonce = generate_token(64), generate_token(24)
    url, state = rp.create_authorization_url(
        realm.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )
    assert callback_params(url)["code_challenge_method"] == "S256"
    callback = login.authorize(url, realm.user.email, realm.user.password)
    return SignIn(callback, verifier, state, nonce)


def redeem(realm: Realm, rp: OAuth2Client, signed_in: SignIn) -> dict[str, Any]:
    token: dict[str, Any] = rp.fetch_token(
        realm.metadata["token_endpoint"],
        authorization_response=signed_in.callback,
        state=signed_in.state,
        code_verifier=signed_in.code_verifier,
    )
    return token


def refresh(realm: Realm, rp: OAuth2Client, refresh_token: str) -> dict[str, Any]:
    token: dict[str, Any] = rp.refresh_token(
        realm.metadata["token_endpoint"], refresh_token=refresh_token
    )
    return token


# -- the happy paths ---------------------------------------------------------------------------


def test_discovery_is_valid_openid_provider_metadata(
    realm: Realm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # http://127.0.0.1 in tests
    metadata = OpenIDProviderMetadata(realm.metadata)

    metadata.validate()

    assert metadata["issuer"] == realm.server.issuer
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_code_flow_with_pkce_userinfo_and_refresh(
    realm: Realm, rp: OAuth2Client, hosted_login: HostedLogin
) -> None:
    signed_in = sign_in(realm, rp, hosted_login)
    params = callback_params(signed_in.callback)
    assert params["state"] == signed_in.state
    assert params["iss"] == realm.server.issuer  # RFC 9207

    token = redeem(realm, rp, signed_in)

    assert token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == set(SCOPE.split())
    claims = verified_claims(
        realm.server,
        token["id_token"],
        aud=realm.web.client_id,
        nonce=signed_in.nonce,
        sub=realm.user.user_id,
        auth_time=None,
    )
    assert claims["email"] == realm.user.email
    assert claims["name"] == "Authlib Person"
    assert claims["email_verified"] is True

    userinfo = rp.get(realm.metadata["userinfo_endpoint"]).raise_for_status().json()
    assert userinfo["sub"] == realm.user.user_id
    assert userinfo["email"] == realm.user.email

    refreshed = refresh(realm, rp, token["refresh_token"])

    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = verified_claims(realm.server, refreshed["id_token"], aud=realm.web.client_id)
    assert again["sub"] == realm.user.user_id
    # The client now holds the refreshed token: userinfo still answers with it.
    assert rp.get(realm.metadata["userinfo_endpoint"]).json()["sub"] == realm.user.user_id


def test_the_session_lets_prompt_none_through_without_the_login_page(
    realm: Realm, rp: OAuth2Client, hosted_login: HostedLogin
) -> None:
    sign_in(realm, rp, hosted_login)

    silent = sign_in(realm, rp, hosted_login, prompt="none")

    assert hosted_login.login_pages == 1
    redeemed = redeem(realm, rp, silent)
    verified_claims(realm.server, redeemed["id_token"], nonce=silent.nonce, sub=realm.user.user_id)
    with HostedLogin(realm.server) as stranger:
        url, state = rp.create_authorization_url(
            realm.metadata["authorization_endpoint"],
            code_verifier=generate_token(64),
            prompt="none",
        )
        refused = callback_params(stranger.authorize(url))
    assert refused["error"] == "login_required"
    assert refused["state"] == state


def test_client_credentials_for_the_management_api(realm: Realm) -> None:
    with OAuth2Client(
        client_id=realm.machine.client_id,
        client_secret=realm.machine.client_secret,
        token_endpoint_auth_method="client_secret_post",
        scope="read:users",
        timeout=10.0,
    ) as machine:
        token = machine.fetch_token(
            realm.metadata["token_endpoint"],
            grant_type="client_credentials",
            audience=realm.server.management_audience,
        )

    assert token["token_type"].lower() == "bearer"
    assert "refresh_token" not in token and "id_token" not in token
    claims = verified_claims(
        realm.server,
        token["access_token"],
        aud=realm.server.management_audience,
        sub=f"{realm.machine.client_id}@clients",
        azp=realm.machine.client_id,
        gty="client-credentials",
    )
    assert claims["scope"] == "read:users"


# -- misuse ------------------------------------------------------------------------------------


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(
    realm: Realm, rp: OAuth2Client, hosted_login: HostedLogin
) -> None:
    signed_in = sign_in(realm, rp, hosted_login)
    first = redeem(realm, rp, signed_in)

    with pytest.raises(OAuthError) as replayed:
        redeem(realm, rp, signed_in)
    assert replayed.value.error == "invalid_grant"

    with pytest.raises(OAuthError) as refused:
        refresh(realm, rp, first["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_reusing_a_rotated_refresh_token_revokes_the_family(
    realm: Realm, rp: OAuth2Client, hosted_login: HostedLogin
) -> None:
    first = redeem(realm, rp, sign_in(realm, rp, hosted_login))
    second = refresh(realm, rp, first["refresh_token"])

    with pytest.raises(OAuthError) as reused:
        refresh(realm, rp, first["refresh_token"])
    assert reused.value.error == "invalid_grant"

    with pytest.raises(OAuthError) as revoked:
        refresh(realm, rp, second["refresh_token"])
    assert revoked.value.error == "invalid_grant"


# -- OpenID RP-Initiated Logout 1.0 ------------------------------------------------------------


def test_rp_initiated_logout_redirects_with_state_and_ends_the_session(
    realm: Realm, rp: OAuth2Client, hosted_login: HostedLogin
) -> None:
    token = redeem(realm, rp, sign_in(realm, rp, hosted_login))
    end_session = realm.metadata["end_session_endpoint"]
    assert end_session == f"{realm.server.url}/oidc/logout"
    state = secrets.token_urlsafe(12)

    # A post_logout_redirect_uri the client did not register is never redirected to.
    stray = hosted_login.http.get(
        end_session
        + "?"
        + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": "http://127.0.0.1:9/not-registered",
                "state": state,
            }
        )
    )
    assert not stray.is_redirect, stray.headers
    assert 400 <= stray.status_code < 500

    answer = hosted_login.http.get(
        end_session
        + "?"
        + urlencode(
            {
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": LOGGED_OUT,
                "state": state,
            }
        )
    )

    assert answer.is_redirect, (answer.status_code, answer.text[:500])
    location = answer.headers["location"]
    assert location.split("?", 1)[0] == LOGGED_OUT
    assert callback_params(location)["state"] == state
    url, _ = rp.create_authorization_url(
        realm.metadata["authorization_endpoint"], code_verifier=generate_token(64), prompt="none"
    )
    assert callback_params(hosted_login.authorize(url))["error"] == "login_required"
