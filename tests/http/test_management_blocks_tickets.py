"""/api/v2/user-blocks and /api/v2/tickets."""

from __future__ import annotations

import httpx

from identa.container import Container
from tests.factories import GOOD_PASSWORD, Visitor, create_user


def fresh(client: httpx.AsyncClient) -> Visitor:
    return Visitor(httpx.AsyncClient(transport=client._transport, base_url=client.base_url))


async def test_blocks_are_listed_and_lifted(api: httpx.AsyncClient, container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = fresh(api)
    for _ in range(10):
        await visitor.login("ada@example.com", "Wrong-Pass-1")
    listed = (await api.get("/api/v2/user-blocks", params={"identifier": "ada@example.com"})).json()
    assert listed == {
        "blocked_for": [
            {
                "identifier": "ada@example.com",
                "ip": "203.0.113.10",
                "connection": "Username-Password-Authentication",
            }
        ]
    }
    by_id = (await api.get(f"/api/v2/user-blocks/{user['user_id']}")).json()
    assert by_id == listed
    assert (await api.delete(f"/api/v2/user-blocks/{user['user_id']}")).status_code == 204
    assert (
        await api.get("/api/v2/user-blocks", params={"identifier": "ada@example.com"})
    ).json() == {"blocked_for": []}
    assert (await visitor.login("ada@example.com")).response.url.path == "/u/account"
    missing = await api.get("/api/v2/user-blocks")
    assert missing.status_code == 400


async def test_tickets_make_working_links(api: httpx.AsyncClient, container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    verify = await api.post("/api/v2/tickets/email-verification", json={"user_id": user["user_id"]})
    assert verify.status_code == 201
    link = verify.json()["ticket"]
    assert link.startswith("http://identa.test/lo/verify_email?ticket=")
    page = await fresh(api).get(link)
    assert "Email verified" in page.text
    reset = await api.post(
        "/api/v2/tickets/password-change",
        json={
            "user_id": user["user_id"],
            "result_url": "https://app.example.com/done",
            "ttl_sec": 0,
        },
    )
    assert reset.status_code == 201
    visitor = fresh(api)
    form = await visitor.get(reset.json()["ticket"])
    done = await visitor.submit(
        form, {"password": "Brand-New-1x", "password_confirm": "Brand-New-1x"}
    )
    assert 'href="https://app.example.com/done"' in done.text
    assert (await fresh(api).login("ada@example.com", GOOD_PASSWORD)).response.status_code == 401
    unknown = await api.post("/api/v2/tickets/email-verification", json={"user_id": "auth0|nope"})
    assert unknown.status_code == 404
