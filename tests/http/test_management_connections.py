"""/api/v2/connections."""

from __future__ import annotations

import httpx

from tests.factories import GOOD_PASSWORD


async def test_connection_lifecycle(api: httpx.AsyncClient) -> None:
    app = (await api.post("/api/v2/clients", json={"name": "Shop"})).json()
    created = await api.post(
        "/api/v2/connections",
        json={
            "name": "Shop-Customers",
            "strategy": "auth0",
            "enabled_clients": [app["client_id"]],
            "options": {"passwordPolicy": "fair", "requires_username": True},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("con_") and len(body["id"]) == 20
    assert body["enabled_clients"] == [app["client_id"]]
    duplicate = await api.post(
        "/api/v2/connections", json={"name": "Shop-Customers", "strategy": "auth0"}
    )
    assert duplicate.status_code == 409
    listed = (await api.get("/api/v2/connections", params={"strategy": "auth0"})).json()
    assert {c["name"] for c in listed} == {"Shop-Customers", "Username-Password-Authentication"}
    patched = await api.patch(
        f"/api/v2/connections/{body['id']}",
        json={"options": {"passwordPolicy": "low"}, "enabled_clients": []},
    )
    assert patched.json()["options"] == {"passwordPolicy": "low"}
    assert patched.json()["enabled_clients"] == []
    assert (
        await api.patch(f"/api/v2/connections/{body['id']}", json={"name": "x"})
    ).status_code == 400
    assert (await api.delete(f"/api/v2/connections/{body['id']}")).status_code == 204
    assert (await api.get(f"/api/v2/connections/{body['id']}")).status_code == 404


async def test_connection_with_users_cannot_be_deleted(api: httpx.AsyncClient) -> None:
    default = (
        await api.get("/api/v2/connections", params={"name": "Username-Password-Authentication"})
    ).json()[0]
    await api.post(
        "/api/v2/users",
        json={"connection": default["name"], "email": "a@example.com", "password": GOOD_PASSWORD},
    )
    refused = await api.delete(f"/api/v2/connections/{default['id']}")
    assert refused.status_code == 409
    assert (await api.get(f"/api/v2/connections/{default['id']}")).status_code == 200


async def test_unknown_enabled_client_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v2/connections", json={"name": "X", "strategy": "auth0", "enabled_clients": ["nope"]}
    )
    assert response.status_code == 400 and response.json()["errorCode"] == "inexistent_client"
