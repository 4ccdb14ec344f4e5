"""/api/v2/logs and /api/v2/stats, and that stats agree with the logs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

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
    # Checkpoint mode ignores every other parameter, a search included (as Auth0 does).
    first = await api.get("/api/v2/logs", params={"from": "", "take": "100", "q": "type:nope"})
    assert [entry["log_id"] for entry in first.json()] == seen


async def everything(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await api.get("/api/v2/logs", params={"per_page": "100", "sort": "date:1"})
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()
    assert len(entries) < 100
    return entries


async def test_q_and_search_filter_the_logs(api: httpx.AsyncClient) -> None:
    await populate(api, 3)
    entries = await everything(api)
    logins = [e["log_id"] for e in entries if e["type"] == "s"]
    assert len(logins) == 3
    for name in ("q", "search"):
        found = await api.get("/api/v2/logs", params={name: "type:s", "sort": "date:1"})
        assert found.status_code == 200, found.text
        assert [e["log_id"] for e in found.json()] == logins
    one = await api.get(
        "/api/v2/logs",
        params={"q": 'user_name:"u1@example.com" AND type:s', "include_totals": "true"},
    )
    body = one.json()
    assert body["total"] == body["length"] == 1
    assert body["logs"][0]["user_name"] == "u1@example.com"
    # Paging, sort, totals and field selection apply to the matches.
    paged = await api.get(
        "/api/v2/logs",
        params={"search": "type:s OR type:ss", "per_page": "2", "page": "1", "sort": "date:-1",
                "include_totals": "true", "fields": "log_id,type", "include_fields": "true"},
    )  # fmt: skip
    matches = [e for e in reversed(entries) if e["type"] in ("s", "ss")]
    assert paged.json()["total"] == len(matches) == 6
    assert paged.json()["logs"] == [
        {"log_id": e["log_id"], "type": e["type"]} for e in matches[2:4]
    ]
    # Wildcards, bare terms, NOT and date ranges.
    wildcard = await api.get("/api/v2/logs", params={"q": "user_name:u*@example.com"})
    assert {e["log_id"] for e in wildcard.json()} == {
        e["log_id"] for e in entries if e.get("user_name", "").startswith("u")
    }
    bare = await api.get("/api/v2/logs", params={"q": '"u2@example.com"'})
    assert (
        {e["log_id"] for e in bare.json()}
        == {e["log_id"] for e in entries if e.get("user_name") == "u2@example.com"}
        != set()
    )
    today = entries[-1]["date"][:10]
    dated = await api.get(
        "/api/v2/logs", params={"q": f"date:[{today} TO *] AND NOT type:s", "per_page": "100"}
    )
    assert {e["log_id"] for e in dated.json()} == {
        e["log_id"] for e in entries if e["type"] != "s" and e["date"][:10] >= today
    }
    assert (await api.get("/api/v2/logs", params={"q": "type:S"})).json() == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"q": "email:a@example.com"}, "unknown field 'email'"),
        ({"search": "type:s?"}, "wildcard is not supported"),
        ({"q": "date:2026*"}, "wildcards are not supported on date"),
        ({"q": "type:(s"}, "could not be parsed"),
        ({"q": "description.raw:x"}, ".raw suffix is not supported"),
        ({"q": "type:s", "search": "type:f"}, "either 'q' or 'search'"),
    ],
)
async def test_a_bad_search_is_a_400_naming_the_problem(
    api: httpx.AsyncClient, params: dict[str, str], problem: str
) -> None:
    response = await api.get("/api/v2/logs", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["errorCode"] == "invalid_query_string"
    assert problem in body["message"]


async def test_user_logs_are_not_searched(api: httpx.AsyncClient) -> None:
    await populate(api, 2)
    user = (await api.get("/api/v2/users-by-email", params={"email": "u0@example.com"})).json()[0]
    path = f"/api/v2/users/{user['user_id']}/logs"
    plain = (await api.get(path, params={"include_totals": "true"})).json()
    assert plain["total"] >= 2
    assert {e["user_id"] for e in plain["logs"]} == {user["user_id"]}
    with_q = (await api.get(path, params={"include_totals": "true", "q": "type:nope"})).json()
    assert with_q == plain


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
