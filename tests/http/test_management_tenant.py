"""/api/v2/tenants/settings and brute-force protection settings."""

from __future__ import annotations

import httpx

from tests.factories import GOOD_PASSWORD, Visitor


async def test_tenant_settings(api: httpx.AsyncClient) -> None:
    settings = (await api.get("/api/v2/tenants/settings")).json()
    assert settings["friendly_name"] == "Identa"
    assert settings["default_directory"] == "Username-Password-Authentication"
    patched = await api.patch(
        "/api/v2/tenants/settings",
        json={
            "friendly_name": "InnovaShoes",
            "support_email": "help@innovashoes.example",
            "account_linking": "verified_email",
        },
    )
    assert patched.status_code == 200
    assert patched.json()["friendly_name"] == "InnovaShoes"
    assert patched.json()["account_linking"] == "verified_email"
    page = await Visitor(httpx.AsyncClient(transport=api._transport, base_url=api.base_url)).get(
        "/u/login"
    )
    assert "help@innovashoes.example" in page.text
    assert (
        await api.patch("/api/v2/tenants/settings", json={"password_policy": "weird"})
    ).status_code == 400


async def test_brute_force_settings_apply_at_once(api: httpx.AsyncClient) -> None:
    await api.post(
        "/api/v2/users",
        json={
            "connection": "Username-Password-Authentication",
            "email": "ada@example.com",
            "password": GOOD_PASSWORD,
        },
    )
    current = (await api.get("/api/v2/attack-protection/brute-force-protection")).json()
    assert current["enabled"] is True and current["max_attempts"] == 10
    assert (
        await api.patch(
            "/api/v2/attack-protection/brute-force-protection", json={"max_attempts": 0}
        )
    ).status_code == 400
    assert (
        await api.patch(
            "/api/v2/attack-protection/brute-force-protection", json={"allowlist": ["not an ip"]}
        )
    ).status_code == 400
    updated = await api.patch(
        "/api/v2/attack-protection/brute-force-protection",
        json={"max_attempts": 3, "allowlist": ["198.51.100.0/24"]},
    )
    assert updated.json()["max_attempts"] == 3
    visitor = Visitor(httpx.AsyncClient(transport=api._transport, base_url=api.base_url))
    statuses = [
        (await visitor.login("ada@example.com", "Wrong-1x")).response.status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
