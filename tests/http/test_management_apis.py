"""/api/v2/resource-servers and /api/v2/client-grants, and the tokens they shape."""

from __future__ import annotations

import warnings

import httpx
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet


async def test_api_and_grant_shape_client_credentials_tokens(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/api/v2/resource-servers",
        json={
            "identifier": "https://orders.example.com",
            "name": "Orders",
            "signing_alg": "EdDSA",
            "token_lifetime": 900,
            "scopes": [
                {"value": "read:orders", "description": "Read orders"},
                {"value": "write:orders", "description": "Write"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    assert (
        await api.post(
            "/api/v2/resource-servers", json={"identifier": "https://orders.example.com"}
        )
    ).status_code == 409
    app = (
        await api.post("/api/v2/clients", json={"name": "Worker", "app_type": "non_interactive"})
    ).json()
    bad = await api.post(
        "/api/v2/client-grants",
        json={
            "client_id": app["client_id"],
            "audience": "https://orders.example.com",
            "scope": ["nope"],
        },
    )
    assert bad.status_code == 400
    grant = await api.post(
        "/api/v2/client-grants",
        json={
            "client_id": app["client_id"],
            "audience": "https://orders.example.com",
            "scope": ["read:orders"],
        },
    )
    assert grant.status_code == 201
    token = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "audience": "https://orders.example.com",
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["expires_in"] == 900
    keys = KeySet.import_key_set((await api.get("/.well-known/jwks.json")).json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # "EdDSA" is the name Auth0 uses
        decoded = jwt.decode(token.json()["access_token"], keys, algorithms=["EdDSA"])
    assert decoded.header["alg"] == "EdDSA" and decoded.claims["scope"] == "read:orders"
    listed = (await api.get("/api/v2/client-grants", params={"client_id": app["client_id"]})).json()
    assert [g["audience"] for g in listed] == ["https://orders.example.com"]
    assert (await api.delete(f"/api/v2/client-grants/{listed[0]['id']}")).status_code == 204
    refused = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "audience": "https://orders.example.com",
        },
    )
    assert refused.status_code == 403


async def test_management_api_is_protected(api: httpx.AsyncClient) -> None:
    apis = (await api.get("/api/v2/resource-servers")).json()
    system = next(a for a in apis if a["is_system"])
    assert system["identifier"] == "http://identa.test/api/v2/"
    assert (await api.delete(f"/api/v2/resource-servers/{system['id']}")).status_code == 400
    assert (
        await api.patch(f"/api/v2/resource-servers/{system['id']}", json={"token_lifetime": 60})
    ).status_code == 400
    bad = await api.post(
        "/api/v2/resource-servers", json={"identifier": "x", "signing_alg": "HS256"}
    )
    assert bad.status_code == 400
