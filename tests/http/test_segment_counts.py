"""Counts kept without scanning `users`: a saved segment's live count (snapshot + the users
changed since) and the dashboard's customer totals (per-day counts fed by triggers). Each is
checked against an independent computation over the raw rows, and the segment fast path
against the search path, after inserts, updates, identity changes and deletes."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, select, text

from identa.analytics import figures, rollups, segment_counts, segments
from identa.connections.models import Connection
from identa.container import Container
from identa.identity.models import Identity, User
from identa.search import compile_user_query
from identa.search.service import count_users
from tests.factories import load_demo

GENDERS = ("male", "female", "other")
INTERESTS = ("fitness", "running", "yoga", "music")


def _naive(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value)).replace(tzinfo=None)


async def _raw_users(container: Container) -> list[dict[str, Any]]:
    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT user_id, app_metadata, logins_count, last_login, created_at FROM users")
        )
        out = []
        for row in rows.all():
            meta = row.app_metadata
            out.append(
                {
                    "user_id": row.user_id,
                    "app_metadata": json.loads(meta) if isinstance(meta, str) else meta,
                    "logins_count": row.logins_count,
                    "last_login": _naive(row.last_login),
                    "created_at": _naive(row.created_at),
                }
            )
        return out


def _gold(user: dict[str, Any], blocked: set[str]) -> bool:
    plan = (user["app_metadata"] or {}).get("plan")
    return plan == "gold" and user["user_id"] not in blocked


async def _blocked(container: Container) -> set[str]:
    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(text("SELECT user_id FROM users WHERE blocked"))
        return {row.user_id for row in rows.all()}


async def test_saved_segment_count_is_live(api: httpx.AsyncClient, container: Container) -> None:
    await load_demo(container, 50, seed=5)
    users = await _raw_users(container)
    for user in users[:6]:
        await api.patch(f"/api/v2/users/{user['user_id']}", json={"app_metadata": {"plan": "gold"}})
    query = "app_metadata.plan:gold AND NOT blocked:true"
    created = await api.post("/api/v2/segments", json={"name": "Gold", "query": query})
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]

    async def check() -> int:
        blocked = await _blocked(container)
        expected = sum(_gold(u, blocked) for u in await _raw_users(container))
        got = (await api.get(f"/api/v2/segments/{segment_id}")).json()["count"]
        assert got == expected
        return got

    assert await check() == 6
    outsider, member, other = users[10], users[0], users[1]

    # A non-member becomes one: counted at once, no job in between.
    patched = await api.patch(
        f"/api/v2/users/{outsider['user_id']}", json={"app_metadata": {"plan": "gold"}}
    )
    assert patched.status_code == 200, patched.text
    assert await check() == 7
    # Members leave: one changes plan, one is blocked.
    await api.patch(f"/api/v2/users/{member['user_id']}", json={"app_metadata": {"plan": "free"}})
    assert await check() == 6
    await api.patch(f"/api/v2/users/{other['user_id']}", json={"blocked": True})
    assert await check() == 5
    # A new customer who matches, then a deleted one.
    new = await api.post(
        "/api/v2/users",
        json={
            "connection": "Username-Password-Authentication",
            "email": "fresh@example.com",
            "password": "Correct-Horse-9",
            "app_metadata": {"plan": "gold"},
        },
    )
    assert new.status_code == 201, new.text
    assert await check() == 6
    assert (await api.delete(f"/api/v2/users/{outsider['user_id']}")).status_code == 204
    assert await check() == 5
    # The daily job takes the snapshot again and drops the changes it no longer needs (on
    # PostgreSQL only those of transactions older than any still running in the cluster).
    async with container.unit_of_work() as uow:
        before = await uow.session.scalar(text("SELECT count(*) FROM user_changes"))
        await segments.snapshot(uow.session, container.clock.now())
        await rollups.catch_up(uow.session, container.clock.now())
        await uow.commit()
        left = await uow.session.scalar(text("SELECT count(*) FROM user_changes"))
        dialect = uow.session.get_bind().dialect.name
    assert before and before > 0
    if dialect == "sqlite":
        assert left == 0
    else:
        assert left is not None and left <= before
    assert await check() == 5
    trend = (await api.get(f"/api/v2/segments/{segment_id}/trend")).json()["trend"]
    assert trend[-1]["count"] == 5


async def _insert_users(container: Container, rng: random.Random, n: int, now: datetime) -> None:
    async with container.unit_of_work() as uow:
        connection = await uow.session.scalar(select(Connection).limit(1))
        for i in range(n):
            created = now - timedelta(days=rng.randint(0, 90), seconds=rng.randint(0, 86399))
            last = None
            if rng.random() < 0.8:
                last = created + (now - created) * rng.random()
            user_id = f"auth0|gen{i:04d}"
            if connection is not None and i % 3 == 0:
                uow.session.add(
                    Identity(
                        user_id=user_id,
                        connection_id=connection.id,
                        connection_name=connection.name,
                        provider="auth0",
                        provider_user_id=f"gen{i:04d}",
                        created_at=created,
                    )
                )
            uow.session.add(
                User(
                    user_id=user_id,
                    email=f"gen{i}@{rng.choice(('acme.com', 'example.com'))}",
                    created_at=created,
                    updated_at=created,
                    last_login=last,
                    logins_count=rng.randint(0, 12) if last else 0,
                    user_metadata={},
                    app_metadata=_demographics(rng),
                    extra={},
                )
            )
        await uow.commit()


def _demographics(rng: random.Random) -> dict[str, Any]:
    return {
        "demographics": {
            "gender": rng.choice(GENDERS),
            "interests": rng.sample(INTERESTS, rng.randint(0, 2)),
        }
    }


QUERIES = (
    "app_metadata.demographics.gender:male AND app_metadata.demographics.interests:fitness "
    "AND logins_count:[2 TO *]",
    "app_metadata.demographics.gender:female OR app_metadata.demographics.interests:yoga",
    "NOT app_metadata.demographics.gender:other AND email.domain:acme.com",
    "last_login:[* TO 2026-01-01] OR logins_count:0",
    "_exists_:identities.connection AND NOT app_metadata.demographics.interests:music",
)


async def test_fast_path_agrees_with_the_search(container: Container) -> None:
    rng = random.Random(11)
    now = container.clock.now()
    await _insert_users(container, rng, 300, now)
    ids: list[str] = []
    async with container.unit_of_work() as uow:
        for k, query in enumerate(QUERIES):
            segment, _ = await segments.create(
                uow.session, now, name=f"s{k}", query=query, description=None
            )
            ids.append(segment.id)
        await uow.commit()

    async def compare(label: str) -> None:
        async with container.unit_of_work() as uow:
            db = uow.session
            for segment_id, query in zip(ids, QUERIES, strict=True):
                condition = compile_user_query(query, db.get_bind().dialect.name)
                fast = await segment_counts.live(db, segment_id, condition)
                searched, _ = await count_users(db, condition, None)
                assert fast == searched, (label, query)

    await compare("snapshot")
    for round_ in range(3):
        async with container.unit_of_work() as uow:
            db = uow.session
            users = list((await db.scalars(select(User.user_id))).all())
            for user_id in rng.sample(users, 40):
                user = await db.get(User, user_id)
                assert user is not None
                action = rng.random()
                if action < 0.4:
                    user.app_metadata = _demographics(rng)
                elif action < 0.5:
                    await db.execute(delete(Identity).where(Identity.user_id == user_id))
                elif action < 0.8:
                    user.logins_count += rng.randint(1, 3)
                    user.last_login = now - timedelta(seconds=rng.randint(0, 86400 * 400))
                else:
                    await db.delete(user)
            await uow.commit()
        await compare(f"round {round_}")
    async with container.unit_of_work() as uow:
        await rollups.catch_up(uow.session, now)
        await uow.commit()
    await compare("after the job")


def _expected_customers(users: list[dict[str, Any]], now: datetime, days: int) -> dict[str, int]:
    now = now.replace(tzinfo=None)
    since, cutoff = now - timedelta(days=30), now - timedelta(days=days)
    return {
        "total": len(users),
        "active_30d": sum(1 for u in users if u["last_login"] and u["last_login"] >= since),
        "inactive": sum(
            1
            for u in users
            if (u["last_login"] and u["last_login"] < cutoff)
            or (u["last_login"] is None and u["created_at"] < cutoff)
        ),
    }


async def test_customer_totals_follow_every_change(container: Container) -> None:
    rng = random.Random(4)
    now = container.clock.now()
    await _insert_users(container, rng, 250, now)

    async def check() -> None:
        users = await _raw_users(container)
        async with container.unit_of_work() as uow:
            for days in (1, 7, 30, 45, 90):
                got = await figures.customers(uow.session, None, now, days)
                want = _expected_customers(users, now, days)
                assert (got["total"], got["active_30d"], got["inactive"]["count"]) == (
                    want["total"],
                    want["active_30d"],
                    want["inactive"],
                ), days

    await check()
    async with container.unit_of_work() as uow:
        await rollups.catch_up(uow.session, now)  # folds the pending changes
        await uow.commit()
    await check()
    async with container.unit_of_work() as uow:
        db = uow.session
        for user_id in rng.sample(list((await db.scalars(select(User.user_id))).all()), 60):
            user = await db.get(User, user_id)
            assert user is not None
            if rng.random() < 0.75:
                user.last_login = now - timedelta(seconds=rng.randint(0, 86400 * 60))
            else:
                await db.delete(user)
        await uow.commit()
    await check()  # before the job: deltas pending
    async with container.unit_of_work() as uow:
        await rollups.rebuild(uow.session, now)
        await uow.commit()
    await check()
