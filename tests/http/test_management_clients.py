"""/api/v2/clients."""

from __future__ import annotations

import httpx


async def test_client_lifecycle(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/api/v2/clients",
        json={
            "name": "InnovaShoes Store",
            "app_type": "spa",
            "callbacks": ["https://shop.example.com/cb"],
            "web_origins": ["https://shop.example.com"],
            "grant_types": ["authorization_code", "refresh_token"],
            "client_metadata": {"brand": "innova"},
            "branding": {"colors": {"primary": "#ff6600"}},
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["app_type"] == "spa" and body["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in body  # a public client has none
    client_id = body["client_id"]
    got = (await api.get(f"/api/v2/clients/{client_id}")).json()
    assert got["web_origins"] == ["https://shop.example.com"]
    assert got["client_metadata"] == {"brand": "innova"}
    assert got["branding"] == {"colors": {"primary": "#ff6600"}}
    patched = await api.patch(
        f"/api/v2/clients/{client_id}", json={"callbacks": ["https://x.example.com/cb"]}
    )
    assert patched.json()["callbacks"] == ["https://x.example.com/cb"]
    listed = (await api.get("/api/v2/clients", params={"include_totals": "true"})).json()
    assert client_id in [c["client_id"] for c in listed["clients"]] and listed["total"] >= 3
    assert (await api.delete(f"/api/v2/clients/{client_id}")).status_code == 204
    assert (await api.get(f"/api/v2/clients/{client_id}")).status_code == 404


async def test_rotate_secret_replaces_the_old_one(api: httpx.AsyncClient) -> None:
    made = (
        await api.post("/api/v2/clients", json={"name": "Backend", "app_type": "non_interactive"})
    ).json()
    rotated = (await api.post(f"/api/v2/clients/{made['client_id']}/rotate-secret")).json()
    assert rotated["client_secret"] and rotated["client_secret"] != made["client_secret"]
    old = await api.post(
        "/oauth/revoke",
        data={"client_id": made["client_id"], "client_secret": made["client_secret"], "token": "x"},
    )
    assert old.status_code == 401
    new = await api.post(
        "/oauth/revoke",
        data={
            "client_id": made["client_id"],
            "client_secret": rotated["client_secret"],
            "token": "x",
        },
    )
    assert new.status_code == 200


async def test_bad_client_bodies(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/v2/clients", json={})).status_code == 400
    bad_grant = await api.post("/api/v2/clients", json={"name": "x", "grant_types": ["magic"]})
    assert bad_grant.status_code == 400 and bad_grant.json()["errorCode"] == "invalid_body"
    bad_colour = await api.post(
        "/api/v2/clients", json={"name": "x", "branding": {"colors": {"primary": "red"}}}
    )
    assert bad_colour.status_code == 400
    assert (await api.get("/api/v2/clients/nope")).json()["errorCode"] == "inexistent_client"
