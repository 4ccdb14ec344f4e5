"""User search at scale: p50/p95 of representative searches over 1,000,000 generated users.

Builds (once, then cached) a database of realistic users — names, e-mails, database / social /
enterprise identities, user_metadata (gender, birthdate, age, zip code, interests), app_metadata
(plan, score), logins_count, last_login and created_at spread over years — loaded fast (sqlite3
executemany on SQLite, COPY on PostgreSQL) at migration 0005, then migrated to head, which builds
the search indexes of migration 0006 (timed: it is what upgrading a full database costs).

Each search runs the code path of GET /api/v2/users?q=…&include_totals=true through
identa.search.service: the count (exact up to --count-limit, 10,000 as the endpoint does),
then the first page (50 users ordered by created_at, the endpoint's default sort, identities
loaded). Also measured: an export-style keyset scan (all users in
user_id order, 1,000 per query; a Core proxy for the export job) and the insert rate with every
index in place (a Core executemany of users + identities, as a bulk import writes them).

    .venv/bin/python bench/bench_users_search.py --database sqlite
    .venv/bin/python bench/bench_users_search.py --database postgresql --users 100000

The SQLite database is cached as bench/results/users-search-<N>.sqlite and the PostgreSQL one
as database identa_bench_users_<N> (kept for the next run); --fresh rebuilds either.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import asyncpg
from _server import DEFAULT_PG_ADMIN_URL, cpu_model, percentile_ms, postgres_version
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from identa.db.engine import create_engine, session_factory
from identa.db.migrate import upgrade
from identa.identity.models import Identity, User
from identa.search.service import DEFAULT_COUNT_LIMIT, count_users, find_users, user_condition

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SEED = 4
NOW = datetime(2026, 11, 1, tzinfo=UTC)
PER_PAGE = 50
SORT = "created_at:1"  # GET /api/v2/users' default


def _words(text: str) -> list[str]:
    return text.split()


# name → (id, strategy/provider, social, share of primary identities)
CONNECTIONS = {
    "Username-Password-Authentication": ("con_db000000000001", "auth0", False, 0.70),
    "google-oauth2": ("con_google00000001", "google-oauth2", True, 0.20),
    "facebook": ("con_facebook000001", "facebook", True, 0.06),
    "acme-saml": ("con_acmesaml000001", "samlp", False, 0.04),
    "github": ("con_github00000001", "github", True, 0.0),  # linked secondaries only
}
FIRST = _words("""James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth
David Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa
Anthony Betty
Mark Margaret Paul Sandra Steven Ashley Andrew Kimberly Kenneth Emily Joshua Donna Kevin Michelle
Brian Carol George Amanda Edward Melissa Ronald Deborah Timothy Stephanie Jason Rebecca Jeffrey
Laura Ryan Sharon Jacob Cynthia Gary Kathleen Nicholas Amy Eric Shirley Jonathan Angela Stephen
Helen Larry Anna Justin Brenda Scott Pamela Brandon Nicole Maria Samantha José Zoë Mei Omar
Ivan Sara Lucía Mateo Sofia Liam Chloé Noah Aisha Hiroshi Priya Lars Ingrid Kwame Fatima""")
LAST = _words("""Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson
White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Müller Schmidt
Rossi Dubois Kowalski Novak Petrov Tanaka Kim Singh Khan Okafor Silva Santos Larsen Jensen
Richardson O'Brien Murphy Kelly Sullivan Walsh Byrne Ryan Chen Wang Li Zhang Liu Yamamoto""")
DOMAINS = [
    ("gmail.com", 30), ("yahoo.com", 10), ("outlook.com", 10), ("hotmail.com", 8),
    ("icloud.com", 6), ("proton.me", 2), ("acme.com", 3), ("example.org", 3), ("mail.de", 2),
    ("orange.fr", 2), *((f"company{n}.com", 0.24) for n in range(100)),
]  # fmt: skip
INTERESTS = _words("""fitness running cooking travel music reading gaming photography yoga hiking
movies fashion tech gardening football basketball chess painting cycling swimming""")


@dataclass(frozen=True)
class Search:
    label: str
    query: str
    target_ms: float | None  # p50 target of page + count (include_totals), when there is one


def searches(sample_email: str) -> list[Search]:
    indexed, metadata = 20.0, 100.0
    return [
        Search("email exact", f'email:"{sample_email.upper()}"', indexed),
        Search("email prefix", "email:maria.garcia*", indexed),
        Search("name exact", 'name:"Maria Garcia"', indexed),
        Search("identities.connection", 'identities.connection:"facebook"', indexed),
        Search("logins_count range", "logins_count:[100 TO 200]", indexed),
        Search("last_login range", "last_login:[2026-01-01 TO 2026-01-31]", indexed),
        Search("metadata gender", "user_metadata.gender:female", metadata),
        Search("metadata interests", "user_metadata.interests:fitness", metadata),
        Search(
            "age range AND gender",
            "user_metadata.age:[20 TO 40] AND user_metadata.gender:male",
            metadata,
        ),
        Search(
            "boolean mix with NOT",
            "email_verified:true AND NOT blocked:true AND (given_name:maria OR given_name:john)",
            indexed,
        ),
        Search("app_metadata plan", "app_metadata.plan:enterprise", metadata),
        Search("email.domain (suffix)", 'email.domain:"acme.com"', None),
        Search("name infix", "name:*arci*", None),
        Search("bare term", "garcia", None),
    ]


# -- generating users ---------------------------------------------------------------------------


def _weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> list[str]:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights=weights, k=4096)


def generate(count: int, start: int = 0) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(user row, identity rows), deterministic for a given index range."""
    rng = random.Random(SEED + start)
    domains = _weighted(rng, DOMAINS)
    primaries = _weighted(rng, [(name, c[3]) for name, c in CONNECTIONS.items() if c[3] > 0])
    span = int((NOW - datetime(2021, 1, 1, tzinfo=UTC)).total_seconds())
    for index in range(start, start + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        connection = primaries[index % 4096] if index % 7 else rng.choice(primaries)
        _, provider, social, _ = CONNECTIONS[connection]
        local = f"{first}.{last}".lower().replace("'", "")
        email = f"{local}{index if rng.random() < 0.9 else ''}@{domains[index % 4096]}"
        idp_id = f"{rng.getrandbits(96):024x}" if provider == "auth0" else str(10**17 + index)
        if provider == "samlp":
            idp_id = f"acme-saml|{local}.{index}"
        created = NOW - timedelta(seconds=int(span * rng.random() ** 0.7))
        logins = 0 if rng.random() < 0.1 else int(rng.paretovariate(1.2))
        last_login = None if logins == 0 else created + (NOW - created) * (1 - rng.random() ** 3)
        birth_year = rng.randrange(1950, 2010)
        user_metadata: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.9:
            user_metadata["gender"] = (
                "female" if roll < 0.44 else "male" if roll < 0.88 else "other"
            )
        if rng.random() < 0.8:
            user_metadata["birthdate"] = (
                f"{birth_year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            )
            user_metadata["age"] = 2026 - birth_year
        if rng.random() < 0.7:
            user_metadata["zip_code"] = f"{rng.randrange(10**5):05d}"
        if rng.random() < 0.75:
            user_metadata["interests"] = rng.sample(INTERESTS, rng.randrange(1, 5))
        if rng.random() < 0.2:
            user_metadata["preferences"] = {"newsletter": rng.random() < 0.5, "theme": "dark"}
        app_metadata: dict[str, Any] = {
            "plan": rng.choices(("free", "pro", "enterprise"), (75, 20, 5))[0],
            "score": round(rng.random() * 100, 1),
        }
        user = {
            "user_id": f"{provider}|{idp_id}",
            "email": email,
            "email_verified": social or rng.random() < 0.7,
            "username": f"{first.lower()}{index}"
            if provider == "auth0" and rng.random() < 0.3
            else None,
            "phone_number": f"+1555{rng.randrange(10**7):07d}" if rng.random() < 0.15 else None,
            "phone_verified": False,
            "name": f"{first} {last}",
            "given_name": first,
            "family_name": last,
            "nickname": local,
            "picture": "https://cdn.example.com/avatar.png",
            "created_at": created,
            "updated_at": last_login or created,
            "last_login": last_login,
            "last_ip": f"203.0.{rng.randrange(256)}.{rng.randrange(1, 255)}" if logins else None,
            "logins_count": logins,
            "last_password_reset": None,
            "blocked": rng.random() < 0.01,
            "user_metadata": user_metadata,
            "app_metadata": app_metadata,
            "extra": {},
        }
        identities = [
            _identity(user["user_id"], connection, idp_id, 0, created),
        ]
        if rng.random() < 0.05:
            identities.append(
                _identity(user["user_id"], "github", str(2 * 10**17 + index), 1, created)
            )
        yield user, identities


def _identity(
    user_id: str, connection: str, idp_id: str, position: int, at: datetime
) -> dict[str, Any]:
    connection_id, provider, social, _ = CONNECTIONS[connection]
    return {
        "user_id": user_id, "connection_id": connection_id, "connection_name": connection,
        "provider": provider, "provider_user_id": idp_id, "is_social": social,
        "position": position, "profile_data": None, "created_at": at,
    }  # fmt: skip


USER_COLUMNS = [c.name for c in User.__table__.columns]
IDENTITY_COLUMNS = [c.name for c in Identity.__table__.columns if c.name != "id"]
JSON_COLUMNS = {"user_metadata", "app_metadata", "extra", "profile_data", "options", "metadata"}


def _sqlite_value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if name in JSON_COLUMNS and value is not None:
        return json.dumps(value)
    return value


def _pg_value(name: str, value: Any) -> Any:
    return json.dumps(value) if name in JSON_COLUMNS and value is not None else value


def _connection_rows() -> list[dict[str, Any]]:
    return [
        {"id": cid, "name": name, "display_name": None, "strategy": strategy, "options": {},
         "is_domain_connection": False, "show_as_button": True, "metadata": {},
         "created_at": NOW, "updated_at": NOW}
        for name, (cid, strategy, _, _) in CONNECTIONS.items()
    ]  # fmt: skip


def _insert_sql(table: str, columns: list[str]) -> str:
    # Names from the mapped tables, values as parameters.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608


def _sqlite_columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The table's columns at the migration loaded into (the models may be ahead of it)."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def load_sqlite(path: Path, count: int) -> dict[str, float]:
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0005")
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    connections = _connection_rows()
    db.executemany(
        _insert_sql("connections", list(connections[0])),
        [tuple(_sqlite_value(k, v) for k, v in row.items()) for row in connections],
    )
    users_cols = [c for c in USER_COLUMNS if c in _sqlite_columns(db, "users")]
    identity_cols = [c for c in IDENTITY_COLUMNS if c in _sqlite_columns(db, "identities")]
    user_sql = _insert_sql("users", users_cols)
    identity_sql = _insert_sql("identities", identity_cols)
    started = time.perf_counter()
    for users, identities in _chunks(count):
        db.executemany(
            user_sql, [tuple(_sqlite_value(c, u.get(c)) for c in users_cols) for u in users]
        )
        db.executemany(
            identity_sql,
            [tuple(_sqlite_value(c, i.get(c)) for c in identity_cols) for i in identities],
        )
    db.commit()
    db.close()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    upgrade(url, "head")
    return {"load_s": loaded, "migrate_s": time.perf_counter() - started}


def _chunks(
    count: int, size: int = 20_000
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    done = 0
    started = time.perf_counter()
    while done < count:
        batch = list(generate(min(size, count - done), done))
        done += len(batch)
        yield [u for u, _ in batch], [i for _, ids in batch for i in ids]
        if done % 200_000 == 0 or done == count:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,} users generated and loaded ({rate:,.0f}/s)", flush=True)


async def load_postgresql(url: str, count: int) -> dict[str, float]:
    await asyncio.to_thread(upgrade, url, "0005")
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        connections = _connection_rows()
        await conn.copy_records_to_table(
            "connections", columns=list(connections[0]),
            records=[tuple(_pg_value(k, v) for k, v in row.items()) for row in connections],
        )  # fmt: skip
        existing = {
            (row["table_name"], row["column_name"])
            for row in await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_name IN ('users', 'identities')"
            )
        }
        user_cols = [c for c in USER_COLUMNS if ("users", c) in existing]
        identity_cols = [c for c in IDENTITY_COLUMNS if ("identities", c) in existing]
        started = time.perf_counter()
        for users, identities in _chunks(count):
            await conn.copy_records_to_table(
                "users", columns=user_cols,
                records=[tuple(_pg_value(c, u.get(c)) for c in user_cols) for u in users],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "identities", columns=identity_cols,
                records=[tuple(_pg_value(c, i.get(c)) for c in identity_cols) for i in identities],
            )  # fmt: skip
        loaded = time.perf_counter() - started
    finally:
        await conn.close()
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, url, "head")
    return {"load_s": loaded, "migrate_s": time.perf_counter() - started}


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    query: str
    matches: int
    page_p50: float
    page_p95: float
    count_p50: float
    count_p95: float
    total_p50: float
    total_p95: float
    target_ms: float | None
    capped: bool = False


async def measure(
    engine: AsyncEngine, search: Search, runs: int, warmup: int, count_limit: int
) -> Result:
    """GET /api/v2/users?q=…&include_totals=true without HTTP, through the same service
    (identa.search.service): the count (exact up to `count_limit`), then the first page."""
    sessions = session_factory(engine)
    condition = user_condition(search.query, engine.dialect.name)
    pages: list[float] = []
    counts: list[float] = []
    matches = 0
    capped = False
    for run in range(warmup + runs):
        async with sessions() as db:
            t0 = time.perf_counter()
            matches, capped = await count_users(db, condition, count_limit)
            t1 = time.perf_counter()
            page = await find_users(
                db, q=search.query, sort=SORT, offset=0, limit=PER_PAGE, with_total=False
            )
            t2 = time.perf_counter()
            assert len(page.users) == min(PER_PAGE, matches)
        if run >= warmup:
            counts.append(t1 - t0)
            pages.append(t2 - t1)
    totals = [a + b for a, b in zip(pages, counts, strict=True)]
    return Result(
        search.label, search.query, matches,
        percentile_ms(pages, 50), percentile_ms(pages, 95),
        percentile_ms(counts, 50), percentile_ms(counts, 95),
        percentile_ms(totals, 50), percentile_ms(totals, 95), search.target_ms, capped,
    )  # fmt: skip


async def keyset_scan(engine: AsyncEngine, limit: int | None) -> tuple[int, float]:
    """All users in user_id order, 1,000 per query (`WHERE user_id > last`), as an export reads."""
    users = User.__table__
    seen, last = 0, ""
    started = time.perf_counter()
    async with engine.connect() as conn:
        while limit is None or seen < limit:
            rows = (
                await conn.execute(
                    select(users)
                    .where(users.c.user_id > last)
                    .order_by(users.c.user_id)
                    .limit(1000)
                )
            ).all()
            if not rows:
                break
            seen += len(rows)
            last = rows[-1].user_id
    return seen, time.perf_counter() - started


async def insert_rate(engine: AsyncEngine, start: int, count: int) -> tuple[float, float]:
    """Users (+ identities) per second through Core executemany with every index in place, and
    the rate of deleting them again."""
    batch = list(generate(count, start))
    users = [{**u, "user_id": f"bench|{start + n}"} for n, (u, _) in enumerate(batch)]
    identities = [
        {
            **i,
            "user_id": f"bench|{start + n}",
            "provider_user_id": f"bench-{start + n}-{i['position']}",
        }
        for n, (_, ids) in enumerate(batch)
        for i in ids
    ]
    started = time.perf_counter()
    async with engine.begin() as conn:
        for offset in range(0, count, 1000):
            chunk = users[offset : offset + 1000]
            ids = {u["user_id"] for u in chunk}
            await conn.execute(insert(User), chunk)
            await conn.execute(insert(Identity), [i for i in identities if i["user_id"] in ids])
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(delete(Identity).where(Identity.user_id.like("bench|%")))
        await conn.execute(delete(User).where(User.user_id.like("bench|%")))
    return count / inserted, count / (time.perf_counter() - started)


# -- running ------------------------------------------------------------------------------------


async def prepare(opts: argparse.Namespace) -> tuple[str, dict[str, float] | None]:
    if opts.database == "sqlite":
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"users-search-{opts.users}.sqlite"
        if opts.fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)  # noqa: ASYNC240
        if path.exists():
            await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{path}", "head")
            return f"sqlite+aiosqlite:///{path}", None
        print(f"building {path.name} ...", flush=True)
        try:
            timings = await asyncio.to_thread(load_sqlite, path, opts.users)
        except BaseException:
            path.unlink(missing_ok=True)  # no half-built cache
            raise
        return f"sqlite+aiosqlite:///{path}", timings
    name = f"identa_bench_users_{opts.users}"
    admin = await asyncpg.connect(opts.pg_admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and opts.fresh:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = opts.pg_admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    if exists:
        await asyncio.to_thread(upgrade, url, "head")
        return url, None
    print(f"building database {name} ...", flush=True)
    return url, await load_postgresql(url, opts.users)


async def run(opts: argparse.Namespace) -> dict[str, Any]:
    url, build = await prepare(opts)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if opts.database == "sqlite":
                if opts.analyze:  # planner statistics, as README ("Search indexing") recommends
                    await conn.execute(text("PRAGMA analysis_limit=1000"))
                    await conn.execute(text("ANALYZE"))
            else:
                await conn.execute(text("ANALYZE"))
            total = int(await conn.scalar(select(func.count()).select_from(User)) or 0)
            sample = await conn.scalar(
                select(User.email).where(User.user_id > "auth0|8").order_by(User.user_id).limit(1)
            )
        facts = await asyncio.to_thread(machine_facts, opts, total)
        print_header(facts, opts, build)
        results = []
        for search in searches(str(sample)):
            result = await measure(engine, search, opts.runs, opts.warmup, opts.count_limit)
            print_result(result)
            results.append(result)
        scanned, seconds = await keyset_scan(engine, opts.scan_users)
        print(
            f"\nexport-style keyset scan (proxy: Core SELECT of users in user_id order, 1,000 per"
            f" query; not the export job): {scanned:,} users in {seconds:.1f} s = "
            f"{scanned / seconds:,.0f} users/s"
        )
        inserts, deletes = await insert_rate(engine, 10**8, opts.insert_users)
        print(
            f"writes with all search indexes in place (Core executemany, 1,000 per statement, "
            f"{opts.insert_users:,} users + identities): insert {inserts:,.0f} users/s, "
            f"delete {deletes:,.0f} users/s"
        )
        return {
            "facts": facts, "build": build, "searches": [asdict(r) for r in results],
            "keyset_scan": {"users": scanned, "seconds": seconds},
            "insert_users_per_s": inserts, "delete_users_per_s": deletes,
        }  # fmt: skip
    finally:
        await engine.dispose()


def machine_facts(opts: argparse.Namespace, users: int) -> dict[str, Any]:
    database = (
        f"PostgreSQL {postgres_version(opts.pg_admin_url)}"
        if opts.database == "postgresql"
        else f"SQLite {sqlite3.sqlite_version} (WAL)"
    )
    return {
        "cores": os.cpu_count(), "cpu": cpu_model(), "os": platform.platform(),
        "python": platform.python_version(), "identa": package_version("identa"),
        "sqlalchemy": package_version("sqlalchemy"), "database": database, "users": users,
    }  # fmt: skip


def print_header(
    facts: dict[str, Any], opts: argparse.Namespace, build: dict[str, float] | None
) -> None:
    print(
        f"machine:  {facts['cores']} cores ({facts['cpu']}), {facts['os']}\n"
        f"software: Python {facts['python']}, identa {facts['identa']}, "
        f"SQLAlchemy {facts['sqlalchemy']}\n"
        f"database: {facts['database']}, {facts['users']:,} users\n"
        f"method:   per search {opts.warmup} warm-up + {opts.runs} measured runs of "
        f"count + first page ({PER_PAGE} users, sort {SORT}, identities loaded), in-process"
    )
    if build:
        print(
            f"build:    loaded in {build['load_s']:.0f} s "
            f"({opts.users / build['load_s']:,.0f} users/s, no search indexes); "
            f"migration 0006 (search indexes) took {build['migrate_s']:.0f} s"
        )
    print(
        f"\n{'search':<23}{'matches':>9}{'page p50':>10}{'p95':>8}{'count p50':>11}{'p95':>8}"
        f"{'total p50':>11}{'p95':>8}{'target':>8}  query"
    )


def print_result(r: Result) -> None:
    if r.target_ms is None:
        verdict = "     —"
    else:
        met = r.total_p50 <= r.target_ms
        verdict = f"{'≤' if met else '>'}{r.target_ms:>4.0f} {'ok' if met else 'MISS'}"
    matches = f"{r.matches:,}" + ("+" if r.capped else "")
    print(
        f"{r.label:<23}{matches:>9}{r.page_p50:>10.1f}{r.page_p95:>8.1f}{r.count_p50:>11.1f}"
        f"{r.count_p95:>8.1f}{r.total_p50:>11.1f}{r.total_p95:>8.1f} {verdict:<10} {r.query}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--scan-users", type=int, default=None, help="stop the scan after N users")
    parser.add_argument("--insert-users", type=int, default=10_000)
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="SQLite: skip ANALYZE (planner statistics)")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached database")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument(
        "--count-limit",
        type=int,
        default=DEFAULT_COUNT_LIMIT,
        help="count matches exactly up to N, as GET /api/v2/users does (0: always exactly)",
    )
    opts = parser.parse_args(argv)
    result = asyncio.run(run(opts))
    if not opts.no_save:
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = RESULTS_DIR / f"users-search-{opts.database}-{opts.users}-{stamp}.json"
        out.write_text(json.dumps(result, indent=2, default=str))
        print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
