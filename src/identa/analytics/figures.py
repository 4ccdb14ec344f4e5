"""The figures the dashboard shows, for a date range and optionally a segment.

Without a segment they are read from the rolled-up counters (a few hundred rows however many
events there are). With one (a user search query) they are computed from login_facts joined
with the segment's members, as the rollup would have counted them; slower, exact.

Conventions: days are UTC; weekly and monthly figures cover the calendar weeks (Monday first)
and months that the range touches; a cohort is the week of a customer's sign-up (`ss`); the
funnel follows the customers who signed up in the range to their 2nd and 5th success login
(whenever it happened); "never returned" = signed up in the range, fewer than 2 logins.
Customer counts (total, active in the last 30 days, inactive for N days) are as of now, by
users.last_login, as GET /api/v2/stats/active-users counts them: without a segment from the
per-day customer counts (identa.analytics.customers), with one over `users`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from identa.analytics import customers as customer_days
from identa.analytics.models import Counter, LoginFact
from identa.analytics.periods import DateRange, month_of, week_of
from identa.analytics.rollups import DIMENSION_NAMES, DIMENSIONS
from identa.enrichment.models import CustomerInterest
from identa.identity.models import User

COLUMNS = {DIMENSION_NAMES.get(c, c): c for c in (
    "connection", "country", "device_type", "browser", "os", "gender", "age_band")}  # fmt: skip
MAX_BREAKDOWN_VALUES = 50


def _members(condition: ColumnElement[bool]) -> Any:
    return select(User.user_id).where(condition)


def _in_segment(condition: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    return [] if condition is None else [LoginFact.user_id.in_(_members(condition))]


async def _counters(
    db: AsyncSession, metrics: tuple[str, ...], dimension: str, low: date, high: date
) -> list[Any]:
    c = Counter
    query = select(c.bucket, c.metric, c.value, c.n).where(
        c.metric.in_(metrics), c.dimension == dimension, c.bucket >= low, c.bucket <= high
    )
    return list((await db.execute(query)).all())


async def daily(
    db: AsyncSession, rng: DateRange, condition: ColumnElement[bool] | None
) -> list[dict[str, Any]]:
    days: dict[date, dict[str, int]] = defaultdict(lambda: {"logins": 0, "signups": 0, "active": 0})
    if condition is None:
        for bucket, metric, _value, n in await _counters(
            db, ("logins", "signups"), "all", rng.start, rng.end
        ):
            days[bucket][metric] += n
        for bucket, _metric, _value, n in await _counters(
            db, ("active",), "day", rng.start, rng.end
        ):
            days[bucket]["active"] += n
    else:
        f = LoginFact
        rows = await db.execute(
            select(f.day, f.kind, func.count(), func.count(distinct(f.user_id)))
            .where(f.day >= rng.start, f.day <= rng.end, *_in_segment(condition))
            .group_by(f.day, f.kind)
        )
        for day, kind, n, users in rows.all():
            if kind == "s":
                days[day]["logins"] += n
                days[day]["active"] += users
            else:
                days[day]["signups"] += n
    return [{"date": day.isoformat(), **days[day]} for day in rng.each_day()]


async def _active_by(
    db: AsyncSession, period: str, low: date, high: date, condition: ColumnElement[bool] | None
) -> dict[date, int]:
    if condition is None:
        out: dict[date, int] = defaultdict(int)
        for bucket, _m, _v, n in await _counters(db, ("active",), period, low, high):
            out[bucket] += n
        return out
    f = LoginFact
    col = getattr(f, period)
    rows = await db.execute(
        select(col, func.count(distinct(f.user_id)))
        .where(f.kind == "s", col >= low, col <= high, *_in_segment(condition))
        .group_by(col)
    )
    return dict(rows.all())


async def active(
    db: AsyncSession, rng: DateRange, condition: ColumnElement[bool] | None
) -> dict[str, Any]:
    weeks = rng.each_week()
    months = rng.each_month()
    by_day = await _active_by(db, "day", rng.end, rng.end, condition)
    by_week = await _active_by(db, "week", weeks[0], weeks[-1], condition)
    by_month = await _active_by(db, "month", months[0], months[-1], condition)
    return {
        "dau": by_day.get(rng.end, 0),
        "wau": by_week.get(week_of(rng.end), 0),
        "mau": by_month.get(month_of(rng.end), 0),
        "weekly": [{"week": w.isoformat(), "active": by_week.get(w, 0)} for w in weeks],
        "monthly": [{"month": m.isoformat(), "active": by_month.get(m, 0)} for m in months],
    }


async def breakdown(
    db: AsyncSession, rng: DateRange, condition: ColumnElement[bool] | None, dimension: str
) -> list[dict[str, Any]]:
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    values: dict[str, dict[str, int]] = defaultdict(lambda: {"logins": 0, "signups": 0})
    if condition is None:
        c = Counter
        rows = await db.execute(
            select(c.value, c.metric, func.sum(c.n))
            .where(
                c.metric.in_(("logins", "signups")),
                c.dimension == dimension,
                c.bucket >= rng.start,
                c.bucket <= rng.end,
            )
            .group_by(c.value, c.metric)
        )
    else:
        f = LoginFact
        scope = [f.day >= rng.start, f.day <= rng.end, *_in_segment(condition)]
        if dimension == "interest":
            i = CustomerInterest
            rows = await db.execute(
                select(i.interest, f.kind, func.count())
                .join(i, i.user_id == f.user_id)
                .where(*scope)
                .group_by(i.interest, f.kind)
            )
        else:
            col = getattr(f, COLUMNS[dimension])
            rows = await db.execute(
                select(col, f.kind, func.count()).where(*scope).group_by(col, f.kind)
            )
    for value, metric, n in rows.all():
        key = "logins" if metric in ("logins", "s") else "signups"
        values[value or ""][key] += int(n)
    ordered = sorted(values.items(), key=lambda item: (-item[1]["logins"], -item[1]["signups"],
                                                      item[0]))  # fmt: skip
    return [
        {"value": value or "unknown", **counts} for value, counts in ordered[:MAX_BREAKDOWN_VALUES]
    ]


async def retention(
    db: AsyncSession, rng: DateRange, condition: ColumnElement[bool] | None, today: date
) -> list[dict[str, Any]]:
    cohorts = rng.each_week()
    sizes: dict[date, int] = defaultdict(int)
    kept: dict[tuple[date, int], int] = defaultdict(int)
    if condition is None:
        for bucket, _m, _v, n in await _counters(
            db, ("signups",), "all", cohorts[0], cohorts[-1] + timedelta(days=6)
        ):
            sizes[week_of(bucket)] += n
        for bucket, _m, value, n in await _counters(
            db, ("retention",), "offset", cohorts[0], cohorts[-1]
        ):
            kept[(bucket, int(value))] += n
    else:
        f = LoginFact
        signed = (
            select(f.user_id, func.min(f.week).label("week"))
            .where(f.kind == "ss", *_in_segment(condition))
            .group_by(f.user_id)
            .subquery()
        )
        in_range = and_(signed.c.week >= cohorts[0], signed.c.week <= cohorts[-1])
        for week, n in (
            await db.execute(
                select(signed.c.week, func.count()).where(in_range).group_by(signed.c.week)
            )
        ).all():
            sizes[week] += n
        logins = select(f.user_id, f.week).where(f.kind == "s").distinct().subquery()
        for cohort, week, n in (
            await db.execute(
                select(signed.c.week, logins.c.week, func.count())
                .join(logins, logins.c.user_id == signed.c.user_id)
                .where(in_range, logins.c.week >= signed.c.week)
                .group_by(signed.c.week, logins.c.week)
            )
        ).all():
            kept[(cohort, (week - cohort).days // 7)] += n
    current = week_of(today)
    out = []
    for cohort in cohorts:
        size = sizes.get(cohort, 0)
        span = (current - cohort).days // 7
        weeks = []
        for offset in range(span + 1):
            n = kept.get((cohort, offset), 0)
            weeks.append(
                {"offset": offset, "customers": n, "rate": round(n / size, 4) if size else 0.0}
            )
        out.append({"cohort": cohort.isoformat(), "size": size, "weeks": weeks})
    return out


async def funnel(
    db: AsyncSession, rng: DateRange, condition: ColumnElement[bool] | None
) -> dict[str, int]:
    if condition is None:
        signed = sum(
            n for _b, _m, _v, n in await _counters(db, ("signups",), "all", rng.start, rng.end)
        )
        steps: dict[str, int] = defaultdict(int)
        for _b, _m, value, n in await _counters(db, ("funnel",), "step", rng.start, rng.end):
            steps[value] += n
        second, fifth = steps["2"], steps["5"]
    else:
        f = LoginFact
        signed_up = (
            select(f.user_id)
            .where(f.kind == "ss", f.day >= rng.start, f.day <= rng.end, *_in_segment(condition))
            .distinct()
            .subquery()
        )
        signed = int(await db.scalar(select(func.count()).select_from(signed_up)) or 0)
        per_user = (
            select(f.user_id, func.count().label("n"))
            .where(f.kind == "s", f.user_id.in_(select(signed_up.c.user_id)))
            .group_by(f.user_id)
            .subquery()
        )
        row = (
            await db.execute(
                select(
                    func.sum(cast(per_user.c.n >= 2, Integer)),
                    func.sum(cast(per_user.c.n >= 5, Integer)),
                )
            )
        ).one()
        second, fifth = int(row[0] or 0), int(row[1] or 0)
    return {
        "signed_up": signed,
        "second_login": second,
        "fifth_login": fifth,
        "never_returned": signed - second,
    }


async def customers(
    db: AsyncSession, condition: ColumnElement[bool] | None, now: datetime, inactive_days: int
) -> dict[str, Any]:
    since = now - timedelta(days=30)
    cutoff = now - timedelta(days=inactive_days)
    if condition is None:
        found = await customer_days.counts(db, now, inactive_days)
        return _customers(found["total"], found["active_30d"], found["inactive"], inactive_days,
                          cutoff)  # fmt: skip
    scope = [condition]
    total = await db.scalar(select(func.count()).select_from(User).where(*scope))
    active_30d = await db.scalar(
        select(func.count()).select_from(User).where(User.last_login >= since, *scope)
    )
    # Two counts rather than one OR: each is a range of the last_login index.
    lapsed = await db.scalar(
        select(func.count()).select_from(User).where(User.last_login < cutoff, *scope)
    )
    never = await db.scalar(
        select(func.count())
        .select_from(User)
        .where(User.last_login.is_(None), User.created_at < cutoff, *scope)
    )
    inactive = int(lapsed or 0) + int(never or 0)
    return _customers(int(total or 0), int(active_30d or 0), inactive, inactive_days, cutoff)


def _customers(
    total: int, active_30d: int, inactive: int, inactive_days: int, cutoff: datetime
) -> dict[str, Any]:
    return {
        "total": total,
        "active_30d": active_30d,
        "inactive": {
            "days": inactive_days,
            "count": inactive,
            "query": f"last_login:[* TO {cutoff.date().isoformat()}}}",
        },
    }


async def dashboard(
    db: AsyncSession,
    rng: DateRange,
    condition: ColumnElement[bool] | None,
    *,
    now: datetime,
    inactive_days: int = 30,
) -> dict[str, Any]:
    return {
        "from": rng.start.isoformat(),
        "to": rng.end.isoformat(),
        "customers": await customers(db, condition, now, inactive_days),
        "daily": await daily(db, rng, condition),
        "active": await active(db, rng, condition),
        "retention": await retention(db, rng, condition, now.date()),
        "funnel": await funnel(db, rng, condition),
        "breakdowns": {dim: await breakdown(db, rng, condition, dim) for dim in DIMENSIONS},
    }
