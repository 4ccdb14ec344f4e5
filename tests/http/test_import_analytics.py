"""A users import pauses the per-row analytics triggers of `users` and `identities` and writes
their effects once per chunk (identa.analytics.bulk_effects). Its customer-day deltas, customer
totals and live segment counts must be exactly those that row-by-row inserts give, and the
triggers must fire again afterwards (for upserts, for sign-ups)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx
from sqlalchemy import text

from identa.analytics import figures, rollups, segment_counts
from identa.container import Container
from identa.search import compile_user_query
from identa.search.service import count_users
from tests.http.test_management_jobs import connection_id, post_import, run_jobs

QUERY = "app_metadata.plan:gold"
CONNECTION = "Username-Password-Authentication"


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def _deltas(container: Container) -> Counter[tuple[str, date]]:
    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(text("SELECT kind, day, n FROM customer_day_deltas"))
        out: Counter[tuple[str, date]] = Counter()
        for kind, day, n in rows.all():
            out[(kind, _day(day))] += n
        return out


async def _created_days(container: Container, emails: list[str]) -> Counter[tuple[str, date]]:
    """What the insert trigger adds per user (never logged in: the day of creation)."""
    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT email, created_at FROM users WHERE last_login IS NULL")
        )
        wanted = set(emails)
        return Counter(("never", _day(created)) for email, created in rows.all() if email in wanted)


async def _check_counts(container: Container, segment_id: str, expected_gold: int) -> None:
    async with container.unit_of_work() as uow:
        db = uow.session
        condition = compile_user_query(QUERY, db.get_bind().dialect.name)
        fast = await segment_counts.live(db, segment_id, condition)
        searched, _ = await count_users(db, condition, None)
        assert fast == searched == expected_gold
        now = datetime.now(UTC)
        total = await db.scalar(text("SELECT count(*) FROM users"))
        never = await db.scalar(text("SELECT count(*) FROM users WHERE last_login IS NULL"))
        got = await figures.customers(db, None, now, 30)
        # Every customer was created today and never logged in.
        assert (got["total"], got["active_30d"], got["inactive"]["count"]) == (total, 0, 0)
        assert never == total


async def test_import_gives_the_counts_of_row_by_row_inserts(
    api: httpx.AsyncClient, container: Container
) -> None:
    container.settings.jobs.import_chunk_size = 7
    created = await api.post("/api/v2/segments", json={"name": "Gold", "query": QUERY})
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    before = await _deltas(container)

    # Row by row: sign-ups through the Management API (the triggers fire for each).
    one_by_one = [f"single{i}@example.com" for i in range(12)]
    for i, email in enumerate(one_by_one):
        made = await api.post(
            "/api/v2/users",
            json={
                "connection": CONNECTION,
                "email": email,
                "password": "Correct-Horse-9",
                "app_metadata": {"plan": "gold" if i % 3 == 0 else "free"},
            },
        )
        assert made.status_code == 201, made.text
    after_singles = await _deltas(container)
    assert after_singles - before == await _created_days(container, one_by_one)
    await _check_counts(container, segment_id, 4)

    # The same kind of users through an import (three chunks, one record refused).
    imported = [f"bulk{i}@example.com" for i in range(18)]
    records: list[dict[str, Any]] = [
        {"email": email, "app_metadata": {"plan": "gold" if i % 3 == 0 else "free"}}
        for i, email in enumerate(imported)
    ]
    records.insert(9, {"email": "not-an-email"})
    job = await post_import(api, records, await connection_id(container))
    assert job.status_code == 202, job.text
    await run_jobs(container)
    status = (await api.get(f"/api/v2/jobs/{job.json()['id']}")).json()
    assert status["status"] == "completed"
    assert status["summary"]["inserted"] == 18 and status["summary"]["failed"] == 1
    after_import = await _deltas(container)
    assert after_import - after_singles == await _created_days(container, imported)
    await _check_counts(container, segment_id, 4 + 6)

    async with container.unit_of_work() as uow:
        db = uow.session
        changed = set((await db.execute(text("SELECT user_id FROM user_changes"))).scalars().all())
        ids = set(
            (
                await db.execute(
                    text("SELECT user_id FROM users WHERE email LIKE 'bulk%@example.com'")
                )
            )
            .scalars()
            .all()
        )
        assert len(ids) == 18 and ids <= changed
        if db.get_bind().dialect.name == "sqlite":
            assert await db.scalar(text("SELECT count(*) FROM analytics_triggers_paused")) == 0
            assert await db.scalar(text("SELECT count(*) FROM search_terms_paused")) == 0

    # An upsert updates rows: the update triggers still fire. Four free users become gold.
    upgraded = [{"email": email, "app_metadata": {"plan": "gold"}} for email in imported[1:6]]
    upgraded.pop(2)  # imported[3] is gold already
    job = await post_import(api, upgraded, await connection_id(container), upsert="true")
    assert job.status_code == 202, job.text
    await run_jobs(container)
    assert (await api.get(f"/api/v2/jobs/{job.json()['id']}")).json()["summary"]["updated"] == 4
    assert await _deltas(container) == after_import  # no day changed
    await _check_counts(container, segment_id, 4 + 6 + 4)

    # And a sign-up after the import fires the insert triggers again.
    made = await api.post(
        "/api/v2/users",
        json={
            "connection": CONNECTION,
            "email": "later@example.com",
            "password": "Correct-Horse-9",
            "app_metadata": {"plan": "gold"},
        },
    )
    assert made.status_code == 201, made.text
    assert await _deltas(container) - after_import == await _created_days(
        container, ["later@example.com"]
    )
    await _check_counts(container, segment_id, 4 + 6 + 4 + 1)
    count = (await api.get(f"/api/v2/segments/{segment_id}")).json()["count"]
    assert count == 15

    # The rollup folds the bulk deltas like the others; the counts stay the same.
    async with container.unit_of_work() as uow:
        await rollups.catch_up(uow.session, datetime.now(UTC))
        await uow.commit()
    assert sum((await _deltas(container)).values()) == 0
    await _check_counts(container, segment_id, 15)
    async with container.unit_of_work() as uow:
        days = (await uow.session.execute(text("SELECT kind, day, n FROM customer_days"))).all()
    assert sum(n for _, _, n in days) == 12 + 18 + 1
    assert json.dumps(sorted({kind for kind, _, _ in days})) == '["never"]'
