"""Analytics at scale: N customers and 10 x N success logins (default 1,000,000 / 10,000,000).

Builds a database (a SQLite file, or a PostgreSQL database it drops at the end unless --reuse),
loads the customers (with demographics in app_metadata) and their login facts in bulk (COPY on
PostgreSQL, executemany on SQLite), rebuilds the rollups, then times:

* the dashboard's full set of figures (GET /api/v2/analytics/dashboard, in process): 30 days
  and 365 days, target < 500 ms;
* a three-clause segment count (gender AND interest AND logins_count), target < 200 ms: as an
  ad-hoc search (count_users), and as a saved segment's live count (its snapshot corrected by
  the users changed since, after the upkeep logins below changed some), checked against the
  search's count;
* the dashboard restricted to that segment (computed from the facts; no target; skip it with
  --no-segment-dashboard);
* upkeep per login: the login's users update with its triggers, the enrichment run in the login
  transaction (Enrichment.on_login: geo-IP, user agent, profile, device list), and the rollup
  job (rollups.catch_up) per new event.

    .venv/bin/python bench/bench_analytics.py --database sqlite --customers 100000
    .venv/bin/python bench/bench_analytics.py --database postgresql --customers 1000000 --reuse

With --reuse the loaded database is kept (PostgreSQL database identa_bench_analytics_N, SQLite
file bench/results/analytics-N.sqlite) and later runs skip the load; --fresh loads it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from identa.analytics import figures, rollups, segments
from identa.analytics.models import LoginFact
from identa.analytics.periods import DateRange, month_of, week_of
from identa.core.clock import Clock
from identa.core.context import RequestContext
from identa.db.engine import create_engine, session_factory
from identa.db.migrate import upgrade
from identa.enrichment.geoip import GeoIp
from identa.enrichment.models import CustomerInterest
from identa.enrichment.service import Enrichment
from identa.events.catalog import LogType
from identa.events.service import EventRecorder, EventSubject
from identa.identity.models import User
from identa.jobs.rawrows import RawRows
from identa.search import compile_user_query
from identa.search.index import insert_terms_paused
from identa.search.service import count_users

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEGMENT = (
    "app_metadata.demographics.gender:male AND app_metadata.demographics.interests:fitness "
    "AND logins_count:[2 TO *]"
)
CONNECTIONS = ("Username-Password-Authentication", "google-oauth2", "facebook", "twitter")
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "BR", "IN", "JP", "CA", "AU")
DEVICES = (("desktop", "Chrome", "Windows"), ("mobile", "Mobile Safari", "iOS"),
           ("mobile", "Chrome Mobile", "Android"), ("desktop", "Safari", "Mac OS X"),
           ("tablet", "Mobile Safari", "iOS"), ("desktop", "Firefox", "Linux"))  # fmt: skip
INTERESTS = ("fitness", "running", "fashion", "travel", "music", "technology", "yoga", "gaming")
BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
CHUNK = 50_000
RESULTS = Path(__file__).parent / "results"


def customers(n: int, now: datetime, seed: int) -> Any:
    rng = random.Random(seed)
    for i in range(n):
        gender = rng.choice(("male", "female", "male", "female", "other"))
        likes = rng.sample(INTERESTS, rng.randint(0, 3))
        born = date(now.year - rng.randint(18, 70), rng.randint(1, 12), 1)
        created = now - timedelta(seconds=rng.randint(3600, 365 * 86400))
        yield i, gender, likes, born, created, rng


def login_times(created: datetime, now: datetime, count: int, rng: random.Random) -> list[datetime]:
    span = (now - created).total_seconds()
    return sorted(created + timedelta(seconds=rng.random() * span) for _ in range(count))


async def load(engine: AsyncEngine, n: int, per_customer: int, now: datetime) -> dict[str, Any]:
    dialect = engine.dialect.name
    started = time.perf_counter()
    users: list[dict[str, Any]] = []
    interests: list[dict[str, Any]] = []
    facts: list[tuple[Any, ...]] = []
    fact_cols = [c.name for c in cast(Table, LoginFact.__table__).columns]
    counts = {"users": 0, "facts": 0}
    pg: Any = None
    if dialect == "postgresql":
        pg = await asyncpg.connect(str(engine.url.set(drivername="postgresql")).replace("***", ""))

    async def flush() -> None:
        if not users:
            return
        if pg is not None:
            cols = list(users[0])
            await pg.copy_records_to_table("users", columns=cols, records=[
                tuple(json.dumps(v) if isinstance(v, dict) else v for v in u.values())
                for u in users])  # fmt: skip
            await pg.copy_records_to_table(
                "customer_interests",
                columns=["user_id", "interest"],
                records=[tuple(r.values()) for r in interests],
            )
            await pg.copy_records_to_table("login_facts", columns=fact_cols, records=facts)
        else:
            async with engine.begin() as conn:
                raw = RawRows(conn)
                await insert_terms_paused(
                    conn,
                    lambda: raw.insert(cast(Table, User.__table__), users),
                    ((u["user_id"], u["user_metadata"], u["app_metadata"]) for u in users),
                )
                await raw.insert(cast(Table, CustomerInterest.__table__), interests)
                await raw.insert(
                    cast(Table, LoginFact.__table__),
                    [dict(zip(fact_cols, row, strict=True)) for row in facts],
                )
        counts["users"] += len(users)
        counts["facts"] += len(facts)
        users.clear()
        interests.clear()
        facts.clear()
        rate = counts["facts"] / (time.perf_counter() - started)
        print(f"  {counts['users']:,} customers, {counts['facts']:,} facts ({rate:,.0f}/s)",
              flush=True)  # fmt: skip

    for i, gender, likes, born, created, rng in customers(n, now, 42):
        user_id = f"auth0|bench{i:08d}"
        logins = max(1, int(rng.expovariate(1 / per_customer)))
        times = [created + timedelta(seconds=5), *login_times(created, now, logins - 1, rng)]
        conn = rng.choice(CONNECTIONS)
        country = rng.choice(COUNTRIES)
        device, browser, os_ = rng.choice(DEVICES)
        users.append({
            "user_id": user_id, "email": f"c{i}@example.com", "email_verified": True,
            "phone_verified": False, "created_at": created, "updated_at": times[-1],
            "last_login": times[-1], "logins_count": len(times), "blocked": False,
            "user_metadata": {},
            "app_metadata": {"demographics": {"gender": gender, "interests": likes,
                                              "birthdate": born.isoformat()}},
            "extra": {},
        })  # fmt: skip
        interests.extend({"user_id": user_id, "interest": x} for x in likes)
        for k, at in enumerate([created, *times]):
            day = at.date()
            facts.append((
                f"900{int(at.timestamp() * 1e9):020d}{i:012d}{k:06d}", user_id,
                "ss" if k == 0 else "s", at, day, week_of(day), month_of(day), conn, country,
                device, browser, os_, gender, rng.choice(BANDS),
            ))  # fmt: skip
        if len(facts) >= CHUNK:
            await flush()
    await flush()
    if pg is not None:
        await pg.close()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    sessions = session_factory(engine)
    async with sessions() as db:
        await rollups.rebuild(db, now)
        await db.commit()
    rebuilt = time.perf_counter() - started
    # VACUUM as autovacuum would have by then (visibility map: index-only scans), and ANALYZE.
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
    return {**counts, "load_s": round(loaded, 1), "rebuild_s": round(rebuilt, 1)}


async def timed(engine: AsyncEngine, work: Any, runs: int) -> float:
    sessions = session_factory(engine)
    samples = []
    for _ in range(runs + 1):
        async with sessions() as db:
            t = time.perf_counter()
            await work(db)
            samples.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(samples[1:]), 1)


async def upkeep(engine: AsyncEngine, now: datetime, logins: int) -> dict[str, float]:
    """The login's users update (with its triggers) and the enrichment, per login (both in the
    login transaction), and the rollup job per event."""
    sessions = session_factory(engine)
    clock = Clock()
    enrichment = Enrichment(clock, GeoIp(None))
    recorder = EventRecorder(clock)
    ua = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")  # fmt: skip
    rng = random.Random(9)
    spent = row = 0.0
    async with sessions() as db:
        total = await db.scalar(select(text("count(*)")).select_from(User))
        for _ in range(logins):
            user = await db.get(User, f"auth0|bench{rng.randrange(int(total or 1)):08d}")
            assert user is not None
            # The login's own users update (what the flows write), with the triggers it fires:
            # a customer_days change row and a user_changes row.
            t = time.perf_counter()
            user.last_login = clock.now()
            user.logins_count += 1
            await db.flush()
            row += time.perf_counter() - t
            event = recorder.record(
                db, LogType.SUCCESS_LOGIN,
                subject=EventSubject(connection=CONNECTIONS[0], strategy="auth0",
                                     user_id=user.user_id),
                request=RequestContext(ip="81.2.69.160", user_agent=ua),
            )  # fmt: skip
            # Enrichment, and the flush that writes the event and its outbox copy with it.
            t = time.perf_counter()
            await enrichment.on_login(db, user, event)
            await db.flush()
            spent += time.perf_counter() - t
        await db.commit()
    async with sessions() as db:
        t = time.perf_counter()
        rolled = await rollups.catch_up(db, clock.now())
        await db.commit()
        rollup = time.perf_counter() - t
    return {
        "login_row_update_ms": round(row * 1000 / logins, 2),
        "enrichment_ms_per_login": round(spent * 1000 / logins, 2),
        "rollup_ms_per_event": round(rollup * 1000 / max(rolled, 1), 3),
        "events_rolled_up": rolled,
    }


async def main(opts: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    drop: str | None = None
    reused = False
    tmp = tempfile.TemporaryDirectory()
    if opts.database == "sqlite":
        path = Path(tmp.name) / "bench.db"
        if opts.reuse:
            path = RESULTS / f"analytics-{opts.customers}.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            reused = path.exists() and not opts.fresh
            if opts.fresh:
                path.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        name = f"identa_bench_analytics_{opts.customers}"
        admin = await asyncpg.connect(opts.pg_admin_url)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        reused = bool(opts.reuse and exists and not opts.fresh)
        if not reused:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        drop = None if opts.reuse else name
        url = opts.pg_admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{url}/{name}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        dialect = engine.dialect.name
        results: dict[str, Any] = {"database": dialect}
        if reused:
            print(f"reusing the loaded database ({url.rsplit('/', 1)[-1]})", flush=True)
        else:
            print(f"loading {opts.customers:,} customers x ~{opts.logins_per_customer} logins …")
            results.update(await load(engine, opts.customers, opts.logins_per_customer, now))
        if opts.load_only:
            return
        for days in (30, 365):
            rng = DateRange(now.date() - timedelta(days=days - 1), now.date())

            async def dashboard(db: Any, rng: DateRange = rng) -> Any:
                await rollups.catch_up(db, now)
                return await figures.dashboard(db, rng, None, now=now)

            results[f"dashboard_{days}d_ms"] = await timed(engine, dashboard, opts.runs)
        condition = compile_user_query(SEGMENT, dialect)

        async def segment_count(db: Any) -> Any:
            return await count_users(db, condition, None)

        results["segment_count_ms"] = await timed(engine, segment_count, opts.runs)
        async with session_factory(engine)() as db:
            results["segment_members"] = (await count_users(db, condition, None))[0]
        # The same query saved as a segment: its snapshot, then its live count after logins
        # that changed users (the upkeep below), checked against the search's count.
        async with session_factory(engine)() as db:
            t = time.perf_counter()
            saved, _ = await segments.create(
                db, now, name=f"bench {time.time_ns()}", query=SEGMENT, description=None
            )
            saved_id = saved.id
            await db.commit()
            results["saved_segment_snapshot_ms"] = round((time.perf_counter() - t) * 1000, 1)
        rng30 = DateRange(now.date() - timedelta(days=29), now.date())

        async def segment_dashboard(db: Any) -> Any:
            return await figures.dashboard(db, rng30, condition, now=now)

        if opts.segment_dashboard:
            results["segment_dashboard_30d_ms"] = await timed(engine, segment_dashboard, 1)
        results.update(await upkeep(engine, now, opts.upkeep_logins))

        async def saved_count(db: Any) -> Any:
            return await segments.live_count(db, await segments.get(db, saved_id))

        results["saved_segment_count_ms"] = await timed(engine, saved_count, opts.runs)
        async with session_factory(engine)() as db:
            live = await segments.live_count(db, await segments.get(db, saved_id))
            searched = (await count_users(db, condition, None))[0]
            results["saved_segment_count_exact"] = "yes" if live == searched else (
                f"NO: {live} != {searched}")  # fmt: skip
            await segments.remove(db, saved_id)
            await db.commit()
        width = max(len(k) for k in results)
        for key, value in results.items():
            print(f"{key:<{width}}  {value:,}" if isinstance(value, int | float) else
                  f"{key:<{width}}  {value}")  # fmt: skip
    finally:
        await engine.dispose()
        tmp.cleanup()
        if drop:
            admin = await asyncpg.connect(opts.pg_admin_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--logins-per-customer", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--upkeep-logins", type=int, default=300)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the loaded database (PostgreSQL database identa_bench_analytics_N, SQLite "
        "file bench/results/analytics-N.sqlite) and reuse it when it exists",
    )
    parser.add_argument("--fresh", action="store_true", help="with --reuse: load it again")
    parser.add_argument("--load-only", action="store_true", help="load, then stop")
    parser.add_argument(
        "--no-segment-dashboard",
        dest="segment_dashboard",
        action="store_false",
        help="skip the segment-restricted dashboard (about a minute at 1M customers)",
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
