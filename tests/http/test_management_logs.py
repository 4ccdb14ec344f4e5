"""/api/v2/logs and /api/v2/stats, and that stats agree with the logs."""

from __future__ import annotations

import httpx

from tests.factories import GOOD_PASSWORD, Visitor


async def populate(api: httpx.AsyncClient, count: int) -> None:
    for index in range(count):
        await api.post(
            "/api/v2/users",
            json={
                "connection": "Username-Password-Authentication",
                "email": f"u{index}@example.com",
                "password": GOOD_PASSWORD,
                "verify_email": False,
            },
        )
    visitor = Visitor(httpx.AsyncClient(transport=api._transport, base_url=api.base_url))
    for index in range(count):
        await visitor.login(f"u{index}@example.com")


async def test_checkpoint_paging_walks_every_log_once(api: httpx.AsyncClient) -> None:
    await populate(api, 4)
    seen: list[str] = []
    cursor = ""
    while True:
        response = await api.get("/api/v2/logs", params={"from": cursor, "take": "3"})
        page = response.json()
        if not page:
            assert "link" not in response.headers
            break
        assert response.headers["link"].endswith('rel="next"')
        seen.extend(entry["log_id"] for entry in page)
        cursor = page[-1]["log_id"]
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    total = (await api.get("/api/v2/logs", params={"include_totals": "true"})).json()["total"]
    assert len(seen) == total
    one = await api.get(f"/api/v2/logs/{seen[0]}")
    assert one.status_code == 200 and one.json()["log_id"] == seen[0]
    assert (await api.get("/api/v2/logs/123")).status_code == 404
    newest = (await api.get("/api/v2/logs", params={"per_page": "2"})).json()
    assert [e["log_id"] for e in newest] == sorted(seen, reverse=True)[:2]
    assert (await api.get("/api/v2/logs", params={"q": "type:s"})).status_code == 400


async def test_stats_agree_with_the_logs(api: httpx.AsyncClient) -> None:
    await populate(api, 3)
    daily = (await api.get("/api/v2/stats/daily")).json()
    assert len(daily) == 30
    today = daily[-1]
    assert today["logins"] == 3 and today["signups"] == 3
    assert today["date"].endswith("T00:00:00.000Z")
    assert (await api.get("/api/v2/stats/active-users")).json() == 3
    bad = await api.get("/api/v2/stats/daily", params={"from": "2026-01-01"})
    assert bad.status_code == 400
