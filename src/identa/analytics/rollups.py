"""Incremental rollups, fed by log events (a job, not the login transaction).

`catch_up` turns every success login (`s`) and sign-up (`ss`) event not yet seen into a
`login_facts` row and adds it to `analytics_counters`:

    metric     dimension                              bucket         value
    logins     all|connection|country|device|browser  day            the dimension's value
               |os|gender|age_band|interest
    signups    (same dimensions)                      day
    active     day | week | month                     day/Monday/1st ''  distinct customers
    retention  offset                                 cohort Monday  weeks since sign-up: how
                                                                     many of the cohort logged in
    funnel     step                                   sign-up day    '2' | '5': customers whose
                                                                     2nd / 5th login happened

Why a job: the login transaction stays as it was (enrichment only), hot counter rows are never
locked by logins, and `analytics` stays a read model nobody but http/jobs imports. The analytics
endpoints run `catch_up` before reading, so figures include every committed event, and agree
with /api/v2/stats (which reads the events). Events are found with an anti-join on login_facts
over a look-back window before the watermark, so an event whose transaction committed late is
still counted once; the state row is locked first, so two catch-ups never count twice.

`rebuild` recomputes every counter from login_facts in SQL (after a bulk load, or as a repair).
Both also keep the customer totals (identa.analytics.customers: `fold`, `rebuild`) and drop the
user changes no segment snapshot needs any more (identa.analytics.segment_counts.prune).
"""

from __future__ import annotations

import typing
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Table, cast, delete, distinct, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from identa.analytics import customers as customer_days
from identa.analytics import segment_counts
from identa.analytics.models import Counter, LoginFact, RollupState
from identa.analytics.periods import month_of, week_of
from identa.enrichment.demographics import age_band, age_on
from identa.enrichment.models import CustomerInterest, CustomerProfile
from identa.events.models import LogEvent

STATE = "rollup"
KINDS = ("s", "ss")
FACT_DIMENSIONS = ("connection", "country", "device_type", "browser", "os", "gender", "age_band")
# the dimension names the API shows for the fact columns
DIMENSION_NAMES = {"device_type": "device"}
DIMENSIONS = ("connection", "country", "device", "browser", "os", "gender", "age_band", "interest")
BATCH = 5000
LOOKBACK = timedelta(minutes=10)

Key = tuple[date, str, str, str]


def metric_of(kind: str) -> str:
    return "logins" if kind == "s" else "signups"


async def write_counters(db: AsyncSession, increments: dict[Key, int]) -> None:
    """Adds each increment to its counter (insert, or add on conflict)."""
    rows = [
        {"bucket": k[0], "metric": k[1], "dimension": k[2], "value": k[3], "n": n}
        for k, n in increments.items()
        if n
    ]
    if not rows:
        return
    table = typing.cast(Table, Counter.__table__)
    stmt: Any = (
        postgresql.insert(table)
        if db.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["bucket", "metric", "dimension", "value"],
        set_={"n": table.c.n + stmt.excluded.n},
    )
    # executemany: one compiled statement, whatever the number of rows.
    await db.execute(stmt, rows)


async def _lock_state(db: AsyncSession, now: datetime) -> RollupState:
    """Takes the rollup's lock: an UPDATE first, which PostgreSQL holds as a row lock and
    SQLite as its write lock until the commit."""
    result: Any = await db.execute(
        update(RollupState).where(RollupState.name == STATE).values(updated_at=now)
    )
    if result.rowcount == 0:
        db.add(RollupState(name=STATE, watermark=None, updated_at=now))
        await db.flush()
    state = await db.get(RollupState, STATE, populate_existing=True)
    assert state is not None
    return state


async def catch_up(db: AsyncSession, now: datetime, *, batch: int = BATCH) -> int:
    """Rolls up every s/ss event not yet in login_facts. Returns how many; caller commits."""
    state = await _lock_state(db, now)
    done = 0
    while True:
        query = (
            select(
                LogEvent.log_id,
                LogEvent.type,
                LogEvent.date,
                LogEvent.user_id,
                LogEvent.connection,
                LogEvent.details,
            )
            .where(
                LogEvent.type.in_(KINDS),
                LogEvent.user_id.is_not(None),
                ~exists().where(LoginFact.log_id == LogEvent.log_id),
            )
            .order_by(LogEvent.date, LogEvent.log_id)
            .limit(batch)
        )
        if state.watermark is not None:
            query = query.where(LogEvent.date >= state.watermark - LOOKBACK)
        events = (await db.execute(query)).all()
        if not events:
            break
        await _apply(db, events)
        done += len(events)
        newest = max(event.date for event in events)
        if state.watermark is None or newest > state.watermark:
            state.watermark = newest
        await db.flush()
        if len(events) < batch:
            break
    await customer_days.fold(db)
    await segment_counts.prune(db)
    return done


def _fact_values(event: Any, profile: Any) -> dict[str, Any]:
    details = event.details or {}
    location = details.get("location_info") or {}
    device = details.get("device") or {}
    day = event.date.date()
    birthdate = profile.birthdate if profile is not None else None
    return {
        "log_id": event.log_id,
        "user_id": event.user_id,
        "kind": event.type,
        "at": event.date,
        "day": day,
        "week": week_of(day),
        "month": month_of(day),
        "connection": (event.connection or "")[:128],
        "country": str(location.get("country_code") or "")[:8],
        "device_type": str(device.get("device_type") or "")[:16],
        "browser": str(device.get("browser") or "")[:64],
        "os": str(device.get("os") or "")[:64],
        "gender": (profile.gender or "") if profile is not None else "",
        "age_band": age_band(age_on(birthdate, day)) if birthdate else "unknown",
    }


async def _apply(db: AsyncSession, events: Sequence[Any]) -> None:
    users = sorted({event.user_id for event in events})
    profiles = {
        row.user_id: row
        for row in (
            await db.execute(
                select(
                    CustomerProfile.user_id, CustomerProfile.gender, CustomerProfile.birthdate
                ).where(CustomerProfile.user_id.in_(users))
            )
        ).all()
    }
    interests: dict[str, list[str]] = defaultdict(list)
    for user_id, interest in (
        await db.execute(
            select(CustomerInterest.user_id, CustomerInterest.interest).where(
                CustomerInterest.user_id.in_(users)
            )
        )
    ).all():
        interests[user_id].append(interest)
    facts = [_fact_values(event, profiles.get(event.user_id)) for event in events]

    # What the customers of this batch had already done, before it.
    cutoff = min(min(fact["week"] for fact in facts), min(fact["month"] for fact in facts))
    seen: set[tuple[str, str, date]] = set()
    logins_before: Tally[str] = Tally()
    signup: dict[str, tuple[date, date]] = {}
    for user_id, kind, day, week, month in (
        await db.execute(
            select(
                LoginFact.user_id, LoginFact.kind, LoginFact.day, LoginFact.week, LoginFact.month
            ).where(LoginFact.user_id.in_(users))
        )
    ).all():
        if kind == "ss":
            signup.setdefault(user_id, (day, week))
        elif day >= cutoff:
            seen.update({(user_id, "day", day), (user_id, "week", week), (user_id, "month", month)})
        if kind == "s":
            logins_before[user_id] += 1

    increments: dict[Key, int] = defaultdict(int)
    count_facts(increments, facts, interests, seen, logins_before, signup)
    await db.execute(insert(LoginFact), facts)
    await write_counters(db, increments)


def count_facts(
    increments: dict[Key, int],
    facts: Sequence[dict[str, Any]],
    interests: dict[str, list[str]],
    seen: set[tuple[str, str, date]],
    logins_before: Tally[str],
    signup: dict[str, tuple[date, date]],
) -> None:
    """Adds what `facts` (in time order per customer) count to `increments`, given what the
    customers had done before them: the periods they were active in (`seen`), how many logins
    (`logins_before`) and their sign-up (day, week). Updates those three as it goes."""
    for fact in facts:
        user_id, day = fact["user_id"], fact["day"]
        metric = metric_of(fact["kind"])
        increments[(day, metric, "all", "")] += 1
        for column in FACT_DIMENSIONS:
            increments[(day, metric, DIMENSION_NAMES.get(column, column), fact[column])] += 1
        for interest in interests.get(user_id, ()):
            increments[(day, metric, "interest", interest)] += 1
        if fact["kind"] == "ss":
            signup.setdefault(user_id, (day, fact["week"]))
            continue
        for period in ("day", "week", "month"):
            key = (user_id, period, fact[period])
            if key not in seen:
                seen.add(key)
                increments[(fact[period], "active", period, "")] += 1
                if period == "week" and user_id in signup:
                    cohort = signup[user_id][1]
                    offset = (fact["week"] - cohort).days // 7
                    if offset >= 0:
                        increments[(cohort, "retention", "offset", str(offset))] += 1
        logins_before[user_id] += 1
        if logins_before[user_id] in (2, 5) and user_id in signup:
            step = str(logins_before[user_id])
            increments[(signup[user_id][0], "funnel", "step", step)] += 1


async def count_fresh(
    db: AsyncSession,
    facts: Sequence[dict[str, Any]],
    interests: dict[str, list[str]],
    now: datetime,
) -> None:
    """Rolls up facts a bulk load just wrote for new customers (nothing before them): counted
    in Python in one pass instead of a rebuild's GROUP BYs; caller commits."""
    state = await _lock_state(db, now)
    increments: dict[Key, int] = defaultdict(int)
    count_facts(increments, facts, interests, set(), Tally(), {})
    await write_counters(db, increments)
    newest = max((fact["at"] for fact in facts), default=None)
    if newest is not None and (state.watermark is None or newest > state.watermark):
        state.watermark = newest
    await db.flush()


async def rebuild(db: AsyncSession, now: datetime) -> None:
    """Recomputes every counter from login_facts; caller commits."""
    state = await _lock_state(db, now)
    await db.execute(delete(Counter))
    increments: dict[Key, int] = defaultdict(int)
    f = LoginFact

    async def grouped(statement: Any) -> Iterable[Any]:
        return (await db.execute(statement)).all()

    for day, kind, n in await grouped(select(f.day, f.kind, func.count()).group_by(f.day, f.kind)):
        increments[(day, metric_of(kind), "all", "")] += n
    for column in FACT_DIMENSIONS:
        col = getattr(f, column)
        name = DIMENSION_NAMES.get(column, column)
        for day, kind, value, n in await grouped(
            select(f.day, f.kind, col, func.count()).group_by(f.day, f.kind, col)
        ):
            increments[(day, metric_of(kind), name, value or "")] += n
    i = CustomerInterest
    for day, kind, value, n in await grouped(
        select(f.day, f.kind, i.interest, func.count())
        .join(i, i.user_id == f.user_id)
        .group_by(f.day, f.kind, i.interest)
    ):
        increments[(day, metric_of(kind), "interest", value)] += n
    logins = f.kind == "s"
    for period in ("day", "week", "month"):
        col = getattr(f, period)
        for bucket, n in await grouped(
            select(col, func.count(distinct(f.user_id))).where(logins).group_by(col)
        ):
            increments[(bucket, "active", period, "")] += n
    signups = (
        select(f.user_id, func.min(f.day).label("day"), func.min(f.week).label("week"))
        .where(f.kind == "ss")
        .group_by(f.user_id)
        .subquery()
    )
    active_weeks = select(f.user_id, f.week).where(logins).distinct().subquery()
    for cohort, week, n in await grouped(
        select(signups.c.week, active_weeks.c.week, func.count())
        .join(active_weeks, active_weeks.c.user_id == signups.c.user_id)
        .where(active_weeks.c.week >= signups.c.week)
        .group_by(signups.c.week, active_weeks.c.week)
    ):
        increments[(cohort, "retention", "offset", str((week - cohort).days // 7))] += n
    per_user = (
        select(f.user_id, func.count().label("n")).where(logins).group_by(f.user_id).subquery()
    )
    for day, second, fifth in await grouped(
        select(
            signups.c.day,
            func.sum(cast(per_user.c.n >= 2, Integer)),
            func.sum(cast(per_user.c.n >= 5, Integer)),
        )
        .join(per_user, per_user.c.user_id == signups.c.user_id)
        .group_by(signups.c.day)
    ):
        increments[(day, "funnel", "step", "2")] += int(second or 0)
        increments[(day, "funnel", "step", "5")] += int(fifth or 0)
    await write_counters(db, increments)
    await customer_days.rebuild(db)
    await segment_counts.prune(db)
    state.watermark = await db.scalar(select(func.max(f.at)))
    await db.flush()


__all__ = ["DIMENSIONS", "catch_up", "rebuild", "write_counters"]
