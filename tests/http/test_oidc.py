"""OpenID Connect: discovery, the code flow with PKCE, tokens, refresh rotation, logout."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from identa.container import Container
from tests.conftest import PUBLIC_URL
from tests.factories import GOOD_PASSWORD, Page, Visitor, create_user, log_types

CALLBACK = "https://app.example.com/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


async def make_app(
    container: Container, app_type: str = "regular_web", **extra: Any
) -> dict[str, Any]:
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session,
            name="Shop",
            app_type=app_type,
            callbacks=[CALLBACK],
            allowed_logout_urls=["https://app.example.com/bye"],
            **extra,
        )
        connection = await container.connections.by_name(
            uow.session, "Username-Password-Authentication"
        )
        await container.connections.enable_for(uow.session, connection, made.client.client_id)
        await uow.commit()
    return {"client_id": made.client.client_id, "client_secret": made.client_secret}


async def authorize(
    visitor: Visitor, app: dict[str, Any], *, login: bool = True, **params: str
) -> dict[str, list[str]]:
    query = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "openid profile email offline_access",
        "state": "st-1",
        "nonce": "n-1",
        **params,
    }
    response = await visitor.client.get("/authorize", params=query)
    if login:
        assert response.status_code == 302, response.text
        page = Page(await visitor.client.get(response.headers["location"]))
        response = await visitor.client.post(
            page.action(),
            data={
                "csrf_token": page.csrf,
                "username": "ada@example.com",
                "password": GOOD_PASSWORD,
            },
        )
        assert response.status_code == 303, response.text
        response = await visitor.client.get(response.headers["location"])
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK)
    return parse_qs(urlsplit(location).query)


async def key_set(client: httpx.AsyncClient) -> KeySet:
    return KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())


async def test_discovery_and_jwks(app_client: httpx.AsyncClient) -> None:
    config = (await app_client.get("/.well-known/openid-configuration")).json()
    assert config["issuer"] == PUBLIC_URL + "/"
    assert config["token_endpoint"] == PUBLIC_URL + "/oauth/token"
    assert "S256" in config["code_challenge_methods_supported"]
    assert (await app_client.get("/.well-known/oauth-authorization-server")).json() == config
    keys = (await app_client.get("/.well-known/jwks.json")).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]
    assert "d" not in keys[0] and "p" not in keys[0]


async def test_code_flow_with_pkce_issues_verifiable_tokens(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com", name="Ada Lovelace")
    app = await make_app(container, app_type="spa")
    verifier, challenge = pkce()
    result = await authorize(
        Visitor(app_client), app, code_challenge=challenge, code_challenge_method="S256"
    )
    assert result["state"] == ["st-1"] and result["iss"] == [PUBLIC_URL + "/"]
    response = await app_client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "code": result["code"][0],
            "code_verifier": verifier,
            "redirect_uri": CALLBACK,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    keys = await key_set(app_client)
    id_token = jwt.decode(body["id_token"], keys)
    claims = id_token.claims
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"]
    assert claims["iss"] == PUBLIC_URL + "/" and claims["aud"] == app["client_id"]
    assert claims["sub"] == user["user_id"] and claims["nonce"] == "n-1"
    assert claims["email"] == "ada@example.com" and claims["name"] == "Ada Lovelace"
    assert claims["sid"] and claims["auth_time"] <= claims["iat"]
    userinfo = await app_client.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 200
    assert (
        userinfo.json()["sub"] == user["user_id"] and userinfo.json()["email"] == "ada@example.com"
    )
    assert "seacft" in await log_types(container)


async def test_replayed_code_is_refused_and_revokes_its_tokens(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container)
    result = await authorize(Visitor(app_client), app)
    exchange = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": result["code"][0],
        "redirect_uri": CALLBACK,
    }
    first = (await app_client.post("/oauth/token", json=exchange)).json()
    again = await app_client.post("/oauth/token", json=exchange)
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"
    refreshed = await app_client.post(
        "/oauth/token",
        json={
            "grant_type": "refresh_token",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "refresh_token": first["refresh_token"],
        },
    )
    assert refreshed.status_code == 403
    assert "feacft" in await log_types(container)


async def test_refresh_rotation_and_reuse_revokes_the_family(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container)
    result = await authorize(Visitor(app_client), app)
    auth = httpx.BasicAuth(app["client_id"], app["client_secret"])
    tokens = (
        await app_client.post(
            "/oauth/token",
            auth=auth,
            data={
                "grant_type": "authorization_code",
                "code": result["code"][0],
                "redirect_uri": CALLBACK,
            },
        )
    ).json()
    first = tokens["refresh_token"]
    second = (
        await app_client.post(
            "/oauth/token", auth=auth, data={"grant_type": "refresh_token", "refresh_token": first}
        )
    ).json()
    assert second["refresh_token"] != first and second["access_token"]
    reuse = await app_client.post(
        "/oauth/token", auth=auth, data={"grant_type": "refresh_token", "refresh_token": first}
    )
    assert reuse.status_code == 403 and reuse.json()["error"] == "invalid_grant"
    after = await app_client.post(
        "/oauth/token",
        auth=auth,
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
    )
    assert after.status_code == 403
    types = await log_types(container)
    assert "sertft" in types and "fertft" in types


async def test_sso_session_skips_the_login_page_and_prompt_none(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container)
    visitor = Visitor(app_client)
    none_without_session = await authorize(visitor, app, login=False, prompt="none")
    assert none_without_session["error"] == ["login_required"]
    await authorize(visitor, app)
    silent = await authorize(visitor, app, login=False, prompt="none")
    assert silent["code"]
    again = await authorize(visitor, app, login=False)
    assert again["code"]


async def test_bad_requests_do_not_redirect_to_untrusted_uris(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container)
    unknown = await app_client.get(
        "/authorize", params={"client_id": "nope", "response_type": "code"}
    )
    assert unknown.status_code == 400 and "Unknown client" in unknown.text
    evil = await app_client.get(
        "/authorize",
        params={
            "client_id": app["client_id"],
            "response_type": "code",
            "redirect_uri": "https://evil.example.com/cb",
        },
    )
    assert evil.status_code == 400 and "allowed callback URLs" in evil.text
    unsupported = await app_client.get(
        "/authorize",
        params={
            "client_id": app["client_id"],
            "response_type": "weird",
            "redirect_uri": CALLBACK,
            "state": "s",
        },
    )
    assert unsupported.status_code == 302
    query = parse_qs(urlsplit(unsupported.headers["location"]).query)
    assert query["error"] == ["unsupported_response_type"] and query["state"] == ["s"]


async def test_public_clients_must_use_pkce(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container, app_type="spa")
    result = await authorize(Visitor(app_client), app, login=False)
    assert result["error"] == ["invalid_request"]


async def test_wrong_pkce_verifier_is_refused(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container, app_type="spa")
    _, challenge = pkce()
    result = await authorize(
        Visitor(app_client), app, code_challenge=challenge, code_challenge_method="S256"
    )
    wrong, _ = pkce()
    response = await app_client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "code": result["code"][0],
            "code_verifier": wrong,
        },
    )
    assert response.status_code == 403 and response.json()["error"] == "invalid_grant"


async def test_client_credentials_for_the_management_api(
    app_client: httpx.AsyncClient, container: Container, settings: Any
) -> None:
    from identa.provisioning import initialise

    report = await initialise(container, migrate=False)
    for audience in (f"{PUBLIC_URL}/api/v2/", "https://identa.test/api/v2/"):
        response = await app_client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": report.management_client_id,
                "client_secret": report.management_client_secret,
                "audience": audience,
                "organization": None,
            },
        )
        assert response.status_code == 200, response.text
        claims = jwt.decode(response.json()["access_token"], await key_set(app_client)).claims
        assert claims["sub"] == f"{report.management_client_id}@clients"
        assert claims["aud"] == f"{PUBLIC_URL}/api/v2/" and claims["gty"] == "client-credentials"
        assert "read:users" in claims["scope"].split()
    wrong = await app_client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": report.management_client_id,
            "client_secret": "wrong",
            "audience": f"{PUBLIC_URL}/api/v2/",
        },
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "seccft" in await log_types(container)


async def test_password_realm_grant(app_client: httpx.AsyncClient, container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    app = await make_app(container, grant_types=["password", "authorization_code"])
    ok = await app_client.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "ada@example.com",
            "password": GOOD_PASSWORD,
            "realm": "Username-Password-Authentication",
            "scope": "openid email",
            "audience": None,
        },
    )
    assert ok.status_code == 200, ok.text
    claims = jwt.decode(ok.json()["id_token"], await key_set(app_client)).claims
    assert claims["sub"] == user["user_id"] and claims["email"] == "ada@example.com"
    bad = await app_client.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": "ada@example.com",
            "password": "nope",
        },
    )
    assert bad.status_code == 403 and bad.json() == {
        "error": "invalid_grant",
        "error_description": "Wrong email or password.",
    }


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"client_id": "x"}, 400, "invalid_request"),
        ({"grant_type": "magic", "client_id": "nope"}, 401, "invalid_client"),
    ],
)
async def test_token_endpoint_errors(
    app_client: httpx.AsyncClient, body: dict[str, str], status: int, error: str
) -> None:
    response = await app_client.post("/oauth/token", data=body)
    assert response.status_code == status and response.json()["error"] == error


async def test_unsupported_grant_and_malformed_json(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container)
    magic = await app_client.post(
        "/oauth/token",
        data={
            "grant_type": "magic",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert magic.status_code == 400 and magic.json()["error"] == "unsupported_grant_type"
    broken = await app_client.post(
        "/oauth/token", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"] == "invalid_request"


async def test_logout_checks_return_to(app_client: httpx.AsyncClient, container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    app = await make_app(container)
    visitor = Visitor(app_client)
    await authorize(visitor, app)
    bad = await app_client.get(
        "/v2/logout", params={"client_id": app["client_id"], "returnTo": "https://evil.example.com"}
    )
    assert bad.status_code == 400
    await authorize(visitor, app)
    ok = await app_client.get(
        "/v2/logout",
        params={"client_id": app["client_id"], "returnTo": "https://app.example.com/bye"},
    )
    assert ok.status_code == 302 and ok.headers["location"] == "https://app.example.com/bye"
    assert (await authorize(visitor, app, login=False, prompt="none"))["error"] == [
        "login_required"
    ]
    assert (await log_types(container, user["user_id"])).count("slo") == 2


async def test_private_key_jwt_client_authentication(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    import time

    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, private=True)
    public = {**key.as_dict(private=False), "kid": "k1", "alg": "RS256", "use": "sig"}
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session,
            name="Signed M2M",
            app_type="non_interactive",
            token_endpoint_auth_method="private_key_jwt",
            extra={"jwks": {"keys": [public]}},
        )
        api = await container.oidc.ensure_management_api(uow.session)
        await container.oidc.grant_client(
            uow.session, made.client.client_id, api.identifier, ["read:users"]
        )
        await uow.commit()
    client_id = made.client.client_id

    def assertion(audience: str, signer: RSAKey = key) -> str:
        now = int(time.time())
        return jwt.encode(
            {"alg": "RS256", "kid": "k1"},
            {
                "iss": client_id,
                "sub": client_id,
                "aud": audience,
                "iat": now,
                "exp": now + 180,
                "jti": secrets.token_hex(8),
            },
            signer,
        )

    def body(token: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "audience": f"{PUBLIC_URL}/api/v2/",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": token,
        }

    ok = await app_client.post("/oauth/token", data=body(assertion(PUBLIC_URL + "/")))
    assert ok.status_code == 200, ok.text
    assert ok.json()["scope"] == "read:users"
    stranger = RSAKey.generate_key(2048, private=True)
    forged = await app_client.post("/oauth/token", data=body(assertion(PUBLIC_URL + "/", stranger)))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_client"
    wrong_audience = await app_client.post("/oauth/token", data=body(assertion("https://other/")))
    assert wrong_audience.status_code == 401


async def test_form_post_and_web_message_response_modes(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container)
    visitor = Visitor(app_client)
    await authorize(visitor, app)
    base = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": "st-<2>",
    }
    form_post = await app_client.get("/authorize", params={**base, "response_mode": "form_post"})
    assert form_post.status_code == 200
    assert f'action="{CALLBACK}"' in form_post.text
    assert 'name="code"' in form_post.text and 'value="st-&lt;2&gt;"' in form_post.text
    assert "form-action https://app.example.com" in form_post.headers["content-security-policy"]
    message = await app_client.get(
        "/authorize", params={**base, "response_mode": "web_message", "prompt": "none"}
    )
    assert message.status_code == 200
    assert '"type": "authorization_response"' in message.text
    assert '"https://app.example.com"' in message.text and '"code":' in message.text
    assert "st-\\u003c2>" in message.text and "st-<2>" not in message.text
    assert "frame-ancestors https://app.example.com" in message.headers["content-security-policy"]
    assert "x-frame-options" not in message.headers


async def test_cors_follows_the_applications_web_origins(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await make_app(container, app_type="spa", web_origins=["https://spa.example.com"])
    preflight = await app_client.options(
        "/oauth/token",
        headers={
            "Origin": "https://spa.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, auth0-client",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://spa.example.com"
    assert "Auth0-Client" in preflight.headers["access-control-allow-headers"]
    stranger = await app_client.options(
        "/oauth/token",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert stranger.status_code == 403 and "access-control-allow-origin" not in stranger.headers
    posted = await app_client.post(
        "/oauth/token", data={"grant_type": "x"}, headers={"Origin": "https://spa.example.com"}
    )
    assert posted.headers["access-control-allow-origin"] == "https://spa.example.com"


async def test_rp_initiated_logout(app_client: httpx.AsyncClient, container: Container) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container)
    visitor = Visitor(app_client)
    code = (await authorize(visitor, app))["code"][0]
    tokens = (
        await app_client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "code": code,
                "redirect_uri": CALLBACK,
            },
        )
    ).json()
    bad = await app_client.get(
        "/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example.com",
        },
    )
    assert bad.status_code == 400
    forged = await app_client.get("/oidc/logout", params={"id_token_hint": "a.b.c"})
    assert forged.status_code == 400
    ok = await app_client.get(
        "/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
            "state": "xyz",
        },
    )
    assert (
        ok.status_code == 302 and ok.headers["location"] == "https://app.example.com/bye?state=xyz"
    )
    assert (await authorize(visitor, app, login=False, prompt="none"))["error"] == [
        "login_required"
    ]


async def test_implicit_flow_only_when_enabled(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    import hashlib as _hashlib

    await create_user(container, "ada@example.com")
    plain = await make_app(container)
    refused = await authorize(
        Visitor(app_client), plain, login=False, response_type="id_token token"
    )
    assert refused["error"] == ["unauthorized_client"]
    app = await make_app(container, extra={"implicit_enabled": True})
    visitor = Visitor(app_client)
    await authorize(visitor, app)
    response = await app_client.get(
        "/authorize",
        params={
            "response_type": "id_token token",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "nonce": "n-2",
            "state": "s",
        },
    )
    assert response.status_code == 302
    fragment = parse_qs(urlsplit(response.headers["location"]).fragment)
    claims = jwt.decode(fragment["id_token"][0], await key_set(app_client)).claims
    digest = _hashlib.sha256(fragment["access_token"][0].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert claims["nonce"] == "n-2" and fragment["state"] == ["s"]


async def test_rotated_keys_stay_published_and_old_tokens_still_verify(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container, grant_types=["password"])
    before = (
        await app_client.post(
            "/oauth/token",
            json={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": "ada@example.com",
                "password": GOOD_PASSWORD,
                "scope": "openid",
            },
        )
    ).json()["id_token"]
    async with container.unit_of_work() as uow:
        new_key = await container.keys.rotate(uow.session, "RS256")
        await uow.commit()
    keys = (await app_client.get("/.well-known/jwks.json")).json()["keys"]
    assert len(keys) == 2 and new_key.kid in {k["kid"] for k in keys}
    jwt.decode(before, await key_set(app_client))
    after = (
        await app_client.post(
            "/oauth/token",
            json={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": "ada@example.com",
                "password": GOOD_PASSWORD,
                "scope": "openid",
            },
        )
    ).json()["id_token"]
    assert jwt.decode(after, await key_set(app_client)).header["kid"] == new_key.kid


async def test_refused_authorizations_and_silent_auth_are_logged(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    app = await make_app(container)
    visitor = Visitor(app_client)
    await app_client.get("/authorize", params={"client_id": "nope"})
    await authorize(visitor, app, login=False, prompt="none")
    await authorize(visitor, app)
    await authorize(visitor, app, login=False, prompt="none")
    types = await log_types(container)
    assert types[:3] == ["ss", "f", "fsa"] and types[-1] == "ssa"


async def test_login_hint_prefills_the_login_page(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container)
    response = await app_client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "login_hint": "grace@example.com",
        },
    )
    page = await app_client.get(response.headers["location"])
    assert 'value="grace@example.com"' in page.text


async def test_api_tokens_use_the_api_signing_algorithm(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    from identa.oidc.models import ResourceServer

    await create_user(container, "ada@example.com")
    app = await make_app(container, grant_types=["password"])
    async with container.unit_of_work() as uow:
        now = container.clock.now()
        uow.session.add(
            ResourceServer(
                id="api1",
                identifier="https://shoes.example.com/api",
                name="Shoes",
                scopes=[{"value": "read:orders", "description": "Read orders"}],
                signing_alg="ES256",
                token_lifetime=600,
                allow_offline_access=False,
                skip_consent_for_verifiable_first_party_clients=True,
                is_system=False,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.commit()
    body = (
        await app_client.post(
            "/oauth/token",
            json={
                "grant_type": "password",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "username": "ada@example.com",
                "password": GOOD_PASSWORD,
                "scope": "openid",
                "audience": "https://shoes.example.com/api",
            },
        )
    ).json()
    keys = await key_set(app_client)
    access = jwt.decode(body["access_token"], keys, algorithms=["ES256"])
    assert access.header["alg"] == "ES256"
    assert access.claims["aud"] == ["https://shoes.example.com/api", PUBLIC_URL + "/userinfo"]
    assert body["expires_in"] == 600
    assert jwt.decode(body["id_token"], keys).header["alg"] == "RS256"


async def test_login_page_lets_its_form_redirect_to_the_application(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    """Browsers apply form-action to the redirects after a form post: the callback's origin
    must be allowed on the login page, or the last hop back to the application is blocked."""
    app = await make_app(container)
    response = await app_client.get(
        "/authorize",
        params={"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK},
    )
    page = await app_client.get(response.headers["location"])
    policy = page.headers["content-security-policy"]
    assert "form-action 'self' https://app.example.com;" in policy
    account = await app_client.get("/u/reset-password/request")
    assert "form-action 'self';" in account.headers["content-security-policy"]
