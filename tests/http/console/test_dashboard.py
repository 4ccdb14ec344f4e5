"""The console dashboard at /console/: its cards and charts agree with an independent count over
the raw users and log events (read back with plain SQL, counted here in Python), with and
without a segment; presets, htmx partial updates and clear messages for bad filters."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from identa.container import Container
from tests.factories import load_demo
from tests.http.console.conftest import ConsoleLogin

DAYS = 60


def _naive(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture
async def loaded(container: Container) -> Container:
    return await load_demo(container, 90, seed=11, facts=False)


async def _raw(container: Container) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    async with container.unit_of_work() as uow:
        db = uow.session
        users = {
            row.user_id: {
                "gender": (_json(row.app_metadata) or {}).get("demographics", {}).get("gender"),
                "last_login": _naive(row.last_login),
                "created_at": _naive(row.created_at),
            }
            for row in await db.execute(
                text("SELECT user_id, app_metadata, last_login, created_at FROM users")
            )
        }
        events = [
            {"type": row.type, "day": _naive(row.date).date(), "user_id": row.user_id,  # type: ignore[union-attr]
             "connection": row.connection}
            for row in await db.execute(
                text("SELECT type, date, user_id, connection FROM log_events "
                     "WHERE type IN ('s', 'ss')")
            )
        ]  # fmt: skip
    return users, events


def _expected(
    users: dict[str, dict[str, Any]],
    events: list[dict[str, Any]],
    start: date,
    end: date,
    now: datetime,
    members: set[str],
) -> dict[str, Any]:
    events = [e for e in events if e["user_id"] in members]
    in_range = [e for e in events if start <= e["day"] <= end]
    logins_per_user = Counter(e["user_id"] for e in events if e["type"] == "s")
    signed = {e["user_id"] for e in in_range if e["type"] == "ss"}
    month_ago = now - timedelta(days=30)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return {
        "total": len(members),
        "active_30d": sum(
            1 for u in members if (users[u]["last_login"] or datetime.min) >= month_ago
        ),
        "inactive": sum(
            1
            for u in members
            if (users[u]["last_login"] and users[u]["last_login"] < month_ago)
            or (users[u]["last_login"] is None and users[u]["created_at"] < month_ago)
        ),
        "signups": len(signed),
        "never_returned": sum(1 for u in signed if logins_per_user[u] < 2),
        "second": sum(1 for u in signed if logins_per_user[u] >= 2),
        "fifth": sum(1 for u in signed if logins_per_user[u] >= 5),
        "labels": [d.isoformat() for d in days],
        "logins": [sum(e["type"] == "s" and e["day"] == d for e in in_range) for d in days],
        "signups_daily": [sum(e["type"] == "ss" and e["day"] == d for e in in_range) for d in days],
        "dau": len({e["user_id"] for e in in_range if e["type"] == "s" and e["day"] == end}),
        "by_connection": dict(Counter(e["connection"] for e in in_range if e["type"] == "s")),
    }


def _figures(html: str) -> dict[str, int]:
    return {
        key: int(value.replace(",", ""))
        for key, value in re.findall(r'data-figure="([a-z_0-9]+)">([\d,]+)<', html)
    }


def _chart(html: str, chart_id: str) -> dict[str, Any]:
    found = re.search(rf"data-canvas=\"{chart_id}\"[^>]*data-chart='([^']*)'", html)
    assert found, f"no chart {chart_id} on the page"
    chart: dict[str, Any] = json.loads(found.group(1))
    return chart


def _dataset(chart: dict[str, Any], label: str) -> list[int]:
    return next(d["data"] for d in chart["data"]["datasets"] if d["label"] == label)


def _check(html: str, want: dict[str, Any]) -> None:
    figures = _figures(html)
    for key in ("total", "active_30d", "inactive", "signups", "never_returned", "dau"):
        assert figures[key] == want[key], key
    daily = _chart(html, "chart-daily")
    assert daily["data"]["labels"] == want["labels"]
    assert _dataset(daily, "Logins") == want["logins"]
    assert _dataset(daily, "Sign-ups") == want["signups_daily"]
    funnel = [int(v.replace(",", "")) for v in re.findall(r'data-funnel="\d">([\d,]+)<', html)]
    assert funnel == [want["signups"], want["second"], want["fifth"]]
    connections = _chart(html, "chart-connection")
    shown = dict(
        zip(connections["data"]["labels"], connections["data"]["datasets"][0]["data"], strict=True)
    )
    assert shown == want["by_connection"]


async def test_figures_match_an_independent_count(
    loaded: Container, console_login: ConsoleLogin
) -> None:
    session = await console_login("analyst")
    now = loaded.clock.now()
    today = now.date()
    start = today - timedelta(days=DAYS - 1)
    users, events = await _raw(loaded)
    naive_now = now.replace(tzinfo=None)
    assert sum(e["type"] == "s" for e in events) > 100  # a data set worth checking

    page = await session.client.get(
        "/console/", params={"from": start.isoformat(), "to": today.isoformat()}
    )
    assert page.status_code == 200, page.text
    assert page.text.count("<canvas") >= 10
    _check(page.text, _expected(users, events, start, today, naive_now, set(users)))
    assert 'id="retention"' in page.text

    males = {u for u, d in users.items() if d["gender"] == "male"}
    assert 0 < len(males) < len(users)
    segment = await session.client.get(
        "/console/",
        params={
            "from": start.isoformat(),
            "to": today.isoformat(),
            "q": "app_metadata.demographics.gender:male",
        },
    )
    assert segment.status_code == 200, segment.text
    _check(segment.text, _expected(users, events, start, today, naive_now, males))
    assert "customers matching" in segment.text


async def test_a_saved_segment_filters_the_dashboard(
    loaded: Container, console_login: ConsoleLogin
) -> None:
    admin = await console_login("admin")
    query = "app_metadata.demographics.gender:female"
    saved = await admin.post("/console/segments", {"name": "Women", "query": query})
    assert saved.status_code == 303, saved.text
    segment_id = saved.headers["location"].split("/")[-1].split("?")[0]
    users, events = await _raw(loaded)
    females = {u for u, d in users.items() if d["gender"] == "female"}
    today = loaded.clock.now().date()
    page = await admin.client.get("/console/", params={"segment": segment_id, "days": "30"})
    assert page.status_code == 200, page.text
    want = _expected(
        users, events, today - timedelta(days=29), today,
        loaded.clock.now().replace(tzinfo=None), females,
    )  # fmt: skip
    _check(page.text, want)
    assert f'value="{segment_id}" selected' in page.text


async def test_presets_and_the_htmx_partial(loaded: Container, console_login: ConsoleLogin) -> None:
    session = await console_login("support")
    today = loaded.clock.now().date()
    for days in (7, 30, 90, 365):
        page = await session.client.get("/console/", params={"days": str(days)})
        assert page.status_code == 200
        assert f'data-from="{(today - timedelta(days=days - 1)).isoformat()}"' in page.text
        assert f'data-to="{today.isoformat()}"' in page.text
        assert len(_chart(page.text, "chart-daily")["data"]["labels"]) == days
    partial = await session.htmx("GET", "/console/?days=7")
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="dash-range"' in partial.text
    assert partial.headers["vary"] == "HX-Request"
    restore = await session.client.get(
        "/console/?days=7", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "is before From"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "at most 366 are allowed"),
        ({"from": "yesterday"}, "must be a date as YYYY-MM-DD"),
        ({"q": "name:(unclosed"}, "Invalid segment query"),
        ({"q": "nosuchfield:1"}, "unknown field"),
        ({"segment": "seg_missing"}, "That segment does not exist"),
        ({"days": "12"}, "The preset must be one of 7, 30, 90, 365 days."),
        ({"inactive": "0"}, "from 1 to 3650"),
    ],
)
async def test_bad_filters_get_a_message_not_a_500(
    console_login: ConsoleLogin, params: dict[str, str], message: str
) -> None:
    session = await console_login("analyst")
    page = await session.client.get("/console/", params=params)
    assert page.status_code == 400
    assert 'id="dash-error"' in page.text and message in page.text
    assert "data-figure" not in page.text
    # The form keeps what was typed, so it can be corrected.
    if "from" in params:
        assert f'value="{params["from"]}"' in page.text
    # htmx swaps only 2xx answers: the partial carries the same message with a 200.
    partial = await session.htmx("GET", "/console/", params=params)
    assert partial.status_code == 200 and message in partial.text


async def test_anonymous_is_sent_to_log_in(console_client_factory: Any) -> None:
    client = console_client_factory()
    answer = await client.get("/console/?days=7")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=")
