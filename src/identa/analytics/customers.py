"""Customer totals without scanning `users`: how many customers, active in the last 30 days,
inactive for N days, read from `customer_days`.

`customer_days` counts the customers by the UTC day of their last login (kind 'login'), and
those who never logged in by the day they were created (kind 'never'). Triggers on `users`
(migration 0015) append every change to `customer_day_deltas`; `fold` (run by the rollup job)
adds them in. A read sums both tables, so it is exact whether or not the job ran.

A cut-off falls inside a day: the whole days on either side come from the counts, and the
customers of the cut-off's own day are counted in `users` through the last_login (or
created_at) index — one day of customers, not all of them.
"""

from __future__ import annotations

import typing
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, case, delete, func, insert, literal, select, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from identa.analytics.models import CustomerDay, CustomerDayDelta
from identa.identity.models import User

LOGIN = "login"
NEVER = "never"


async def fold(db: AsyncSession) -> int:
    """Moves the pending deltas into customer_days; returns how many. Caller commits.

    DELETE … RETURNING folds exactly the rows it removed, even if more are committed meanwhile."""
    removed = (
        await db.execute(
            delete(CustomerDayDelta).returning(
                CustomerDayDelta.kind, CustomerDayDelta.day, CustomerDayDelta.n
            )
        )
    ).all()
    if not removed:
        return 0
    sums: dict[tuple[str, date], int] = defaultdict(int)
    for kind, day, n in removed:
        sums[(kind, day)] += n
    await _add(db, sums)
    return len(removed)


async def _add(db: AsyncSession, sums: dict[tuple[str, date], int]) -> None:
    rows = [{"kind": k, "day": d, "n": n} for (k, d), n in sums.items() if n]
    if not rows:
        return
    table = typing.cast(Table, CustomerDay.__table__)
    stmt: Any = (
        postgresql.insert(table)
        if db.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "day"], set_={"n": table.c.n + stmt.excluded.n}
    )
    await db.execute(stmt, rows)


def _bucket(dialect: str) -> tuple[Any, Any]:
    """(kind, day) of a users row, as the triggers compute them."""
    moment = func.coalesce(User.last_login, User.created_at)
    if dialect == "postgresql":
        day: Any = func.date(func.timezone("UTC", moment))
    else:
        day = func.date(moment)
    return case((User.last_login.is_(None), literal(NEVER)), else_=literal(LOGIN)), day


async def rebuild(db: AsyncSession) -> None:
    """Recounts customer_days from `users` (the repair path); caller commits."""
    if db.get_bind().dialect.name == "postgresql":
        # Until the commit, changes to users wait to append their delta: none is both deleted
        # here and counted in the users read below, or missed by both.
        await db.execute(text("LOCK TABLE customer_day_deltas IN EXCLUSIVE MODE"))
    await db.execute(delete(CustomerDayDelta))
    await db.execute(delete(CustomerDay))
    kind, day = _bucket(db.get_bind().dialect.name)
    await db.execute(
        insert(CustomerDay).from_select(
            ["kind", "day", "n"],
            select(kind, day, func.count()).select_from(User).group_by(kind, day),
        )
    )


def _midnight(day: date, like: datetime) -> datetime:
    return datetime.combine(day, time(0), tzinfo=like.tzinfo)


async def counts(db: AsyncSession, now: datetime, inactive_days: int) -> dict[str, int]:
    """{total, active_30d, inactive}: as figures.customers counts them over `users`."""
    now = now.astimezone(UTC)  # the days are UTC days
    both = union_all(
        select(CustomerDay.kind, CustomerDay.day, CustomerDay.n),
        select(CustomerDayDelta.kind, CustomerDayDelta.day, CustomerDayDelta.n),
    ).subquery()
    days: dict[tuple[str, date], int] = defaultdict(int)
    for kind, day, n in (
        await db.execute(
            select(both.c.kind, both.c.day, func.sum(both.c.n)).group_by(both.c.kind, both.c.day)
        )
    ).all():
        if isinstance(day, str):  # a UNION's column carries no type on SQLite
            day = date.fromisoformat(day)
        days[(kind, day)] += int(n or 0)

    async def partial(column: Any, since: datetime, *extra: Any) -> int:
        """Customers whose `column` is in [since's midnight, since)."""
        start = _midnight(since.date(), since)
        if start == since:
            return 0
        query = select(func.count()).select_from(User).where(
            column >= start, column < since, *extra)  # fmt: skip
        return int(await db.scalar(query) or 0)

    since = now - timedelta(days=30)
    cutoff = now - timedelta(days=inactive_days)
    total = sum(days.values())
    # last_login >= since: the days after since's day, plus since's day from `since` on.
    active = sum(n for (kind, day), n in days.items() if kind == LOGIN and day >= since.date())
    active -= await partial(User.last_login, since)
    lapsed = sum(n for (kind, day), n in days.items() if kind == LOGIN and day < cutoff.date())
    lapsed += await partial(User.last_login, cutoff)
    never = sum(n for (kind, day), n in days.items() if kind == NEVER and day < cutoff.date())
    never += await partial(User.created_at, cutoff, User.last_login.is_(None))
    return {"total": total, "active_30d": active, "inactive": lapsed + never}
