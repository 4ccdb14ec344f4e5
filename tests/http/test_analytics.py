"""/api/v2/analytics: every figure checked against an independent computation over the raw
data (users and log events read back with plain SQL and counted here in Python), with and
without a segment, through the incremental rollup and after a rebuild; /api/v2/stats agrees."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from identa.container import Container
from tests.factories import load_demo

DAYS = 70


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _band(born: date | None, on: date) -> str:
    if born is None:
        return "unknown"
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for low, high, name in (
        (0, 17, "<18"),
        (18, 24, "18-24"),
        (25, 34, "25-34"),
        (35, 44, "35-44"),
        (45, 54, "45-54"),
        (55, 64, "55-64"),
    ):
        if low <= age <= high:
            return name
    return "65+"


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


async def raw_data(container: Container) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with container.unit_of_work() as uow:
        users = {
            row.user_id: {
                "app_metadata": _json(row.app_metadata),
                "last_login": _as_datetime(row.last_login) if row.last_login else None,
            }
            for row in (
                await uow.session.execute(
                    text("SELECT user_id, app_metadata, last_login FROM users")
                )
            ).all()
        }
        events = [
            {
                "type": row.type,
                "at": _as_datetime(row.date),
                "user_id": row.user_id,
                "connection": row.connection,
                "details": _json(row.details),
            }
            for row in (
                await uow.session.execute(
                    text(
                        "SELECT type, date, user_id, connection, details FROM log_events "
                        "WHERE type IN ('s', 'ss')"
                    )
                )
            ).all()
        ]
    return users, events


def expected(
    users: dict[str, Any],
    events: list[dict[str, Any]],
    start: date,
    end: date,
    today: date,
    members: set[str] | None,
) -> dict[str, Any]:
    if members is not None:
        events = [e for e in events if e["user_id"] in members]
    logins = [e for e in events if e["type"] == "s"]
    signups = [e for e in events if e["type"] == "ss"]
    in_range = [e for e in events if start <= e["at"].date() <= end]
    daily = {}
    day = start
    while day <= end:
        of_day = [e for e in in_range if e["at"].date() == day]
        daily[day.isoformat()] = {
            "logins": sum(e["type"] == "s" for e in of_day),
            "signups": sum(e["type"] == "ss" for e in of_day),
            "active": len({e["user_id"] for e in of_day if e["type"] == "s"}),
        }
        day += timedelta(days=1)
    weeks = sorted({_week(start + timedelta(days=i)) for i in range((end - start).days + 1)})
    weekly = {
        w.isoformat(): len({e["user_id"] for e in logins if _week(e["at"].date()) == w})
        for w in weeks
    }

    def demo(user_id: str) -> dict[str, Any]:
        return users[user_id]["app_metadata"].get("demographics", {})

    def values(e: dict[str, Any], dim: str) -> list[str]:
        details = e["details"]
        if dim == "connection":
            return [e["connection"]]
        if dim == "country":
            return [details.get("location_info", {}).get("country_code", "")]
        if dim in ("browser", "os"):
            return [details.get("device", {}).get(dim, "")]
        if dim == "device":
            return [details.get("device", {}).get("device_type", "")]
        if dim == "gender":
            return [demo(e["user_id"]).get("gender", "")]
        if dim == "age_band":
            born = demo(e["user_id"]).get("birthdate")
            return [_band(date.fromisoformat(born) if born else None, e["at"].date())]
        return list(demo(e["user_id"]).get("interests", []))

    breakdowns = {}
    for dim in (
        "connection",
        "country",
        "device",
        "browser",
        "os",
        "gender",
        "age_band",
        "interest",
    ):
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for e in in_range:
            for value in values(e, dim):
                counts[value or "unknown"]["logins" if e["type"] == "s" else "signups"] += 1
        breakdowns[dim] = {k: (v["logins"], v["signups"]) for k, v in counts.items()}
    per_user = Counter(e["user_id"] for e in logins)
    signed = {e["user_id"] for e in signups if start <= e["at"].date() <= end}
    cohort_of = {e["user_id"]: _week(e["at"].date()) for e in signups}
    retention = {}
    for cohort in weeks:
        cohort_users = {u for u, w in cohort_of.items() if w == cohort}
        offsets = (_week(today) - cohort).days // 7
        retention[cohort.isoformat()] = (
            len(cohort_users),
            [
                len(
                    {
                        e["user_id"]
                        for e in logins
                        if e["user_id"] in cohort_users
                        and _week(e["at"].date()) == cohort + timedelta(weeks=k)
                    }
                )
                for k in range(offsets + 1)
            ],
        )
    return {
        "daily": daily,
        "weekly": weekly,
        "dau": daily[end.isoformat()]["active"],
        "breakdowns": breakdowns,
        "funnel": {
            "signed_up": len(signed),
            "second_login": sum(per_user[u] >= 2 for u in signed),
            "fifth_login": sum(per_user[u] >= 5 for u in signed),
            "never_returned": sum(per_user[u] < 2 for u in signed),
        },
        "retention": retention,
    }


def check(body: dict[str, Any], want: dict[str, Any]) -> None:
    assert {
        d["date"]: {k: d[k] for k in ("logins", "signups", "active")} for d in body["daily"]
    } == want["daily"]
    assert {w["week"]: w["active"] for w in body["active"]["weekly"]} == want["weekly"]
    assert body["active"]["dau"] == want["dau"]
    for dim, got in body["breakdowns"].items():
        assert {row["value"]: (row["logins"], row["signups"]) for row in got} == want["breakdowns"][
            dim
        ], dim
    assert body["funnel"] == want["funnel"]
    assert {
        c["cohort"]: (c["size"], [w["customers"] for w in c["weeks"]]) for c in body["retention"]
    } == want["retention"]


@pytest.fixture
async def loaded(container: Container) -> Container:
    return await load_demo(container, 120, seed=7, facts=False)


async def test_figures_match_an_independent_count(
    api: httpx.AsyncClient, loaded: Container
) -> None:
    today = loaded.clock.now().date()
    start = today - timedelta(days=DAYS - 1)
    params = {"from": start.isoformat(), "to": today.isoformat()}
    users, events = await raw_data(loaded)

    # Unrestricted: counted by the incremental rollup the endpoint runs first.
    response = await api.get("/api/v2/analytics/dashboard", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    check(body, expected(users, events, start, today, today, None))
    assert body["customers"]["total"] == len(users)

    # Restricted to a segment (computed from the facts).
    males = {
        u
        for u, d in users.items()
        if d["app_metadata"].get("demographics", {}).get("gender") == "male"
    }
    segment = await api.get(
        "/api/v2/analytics/dashboard",
        params={**params, "q": "app_metadata.demographics.gender:male"},
    )
    assert segment.status_code == 200, segment.text
    check(segment.json(), expected(users, events, start, today, today, males))
    assert segment.json()["customers"]["total"] == len(males)

    # /api/v2/stats agrees.
    stats = await api.get(
        "/api/v2/stats/daily",
        params={"from": start.strftime("%Y%m%d"), "to": today.strftime("%Y%m%d")},
    )
    assert [(s["logins"], s["signups"]) for s in stats.json()] == [
        (d["logins"], d["signups"]) for d in body["daily"]
    ]
    active = await api.get("/api/v2/stats/active-users")
    assert active.json() == body["customers"]["active_30d"]
    now = loaded.clock.now().replace(tzinfo=None)
    assert active.json() == sum(
        1 for u in users.values() if u["last_login"] and u["last_login"] >= now - timedelta(days=30)
    )


async def test_rebuild_gives_the_same_figures(api: httpx.AsyncClient, loaded: Container) -> None:
    from identa.analytics import rollups

    today = loaded.clock.now().date()
    start = today - timedelta(days=DAYS - 1)
    params = {"from": start.isoformat(), "to": today.isoformat()}
    async with loaded.unit_of_work() as uow:  # small batches: the increments must add up
        await rollups.catch_up(uow.session, loaded.clock.now(), batch=97)
        await uow.commit()
    incremental = (await api.get("/api/v2/analytics/dashboard", params=params)).json()
    async with loaded.unit_of_work() as uow:
        await rollups.rebuild(uow.session, loaded.clock.now())
        await uow.commit()
    rebuilt = (await api.get("/api/v2/analytics/dashboard", params=params)).json()
    assert rebuilt == incremental
    users, events = await raw_data(loaded)
    check(rebuilt, expected(users, events, start, today, today, None))


async def test_new_logins_are_counted_on_the_next_read(
    api: httpx.AsyncClient, loaded: Container
) -> None:
    today = loaded.clock.now().date().isoformat()
    params = {"from": today, "to": today}
    before = (await api.get("/api/v2/analytics/daily", params=params)).json()[0]
    from identa.core.context import RequestContext
    from identa.identity.service import NewDatabaseUser

    async with loaded.unit_of_work() as uow:
        flow = await loaded.flows.start(uow.session)
        view = await loaded.flows.view(uow.session, flow.id)
        await loaded.flows.register(
            uow.session,
            client=view.client,
            connection=view.connection,
            new=NewDatabaseUser(email="new@example.com", password="Correct-Horse-9"),
            request=RequestContext(
                ip="81.2.69.160",
                user_agent="Mozilla/5.0 (iPhone; CPU "
                "iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1",
            ),
        )
        await uow.commit()
    after = (await api.get("/api/v2/analytics/daily", params=params)).json()[0]
    assert after["signups"] == before["signups"] + 1


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "before 'from'"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "at most 366"),
        ({"from": "yesterday"}, "YYYY-MM-DD"),
        ({"q": "nosuchfield:1"}, "unknown field"),
        ({"q": "name:(unclosed"}, "Invalid segment query"),
    ],
)
async def test_bad_ranges_and_queries_are_400(
    api: httpx.AsyncClient, params: dict[str, str], fragment: str
) -> None:
    response = await api.get("/api/v2/analytics/daily", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["errorCode"] == "invalid_query_string"
    assert fragment in body["message"]


async def test_unknown_segment_and_breakdown_are_404(api: httpx.AsyncClient) -> None:
    assert (
        await api.get("/api/v2/analytics/daily", params={"segment_id": "seg_x"})
    ).status_code == 404
    assert (await api.get("/api/v2/analytics/breakdowns/shoe_size")).status_code == 404


async def test_needs_a_token_with_the_scope(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/api/v2/analytics/daily")).status_code == 401


@pytest.mark.filterwarnings("ignore:Duplicate Operation ID")  # another router's, not ours
async def test_routes_are_documented(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/api/v2/openapi.json")).json()["paths"]
    assert paths["/api/v2/analytics/dashboard"]["get"]["summary"]
    assert paths["/api/v2/segments/{id}/export"]["get"]["summary"]
