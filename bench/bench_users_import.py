"""Bulk users import and export through the Management API jobs, on SQLite and PostgreSQL.

Generates N users in Auth0's import format (names, e-mails, metadata with gender, birthdate,
zip code and interests; a pre-computed bcrypt `password_hash` each, as a migration from Auth0
brings them), uploads the file to POST /api/v2/jobs/users-imports, and times the job from
upload to completion; then exports every user as NDJSON and as CSV through
POST /api/v2/jobs/users-exports and downloads the file from its `location`.

The HTTP calls go to the ASGI application in-process (no sockets), and the job runs in this
process through the same worker the server runs (`JobService.run_until_done`), so the figures
are the server's own work. Target (issue #4): ≥ 10,000 users/s imported.

    .venv/bin/python bench/bench_users_import.py --database sqlite --users 100000
    .venv/bin/python bench/bench_users_import.py --database postgresql --users 100000
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import bcrypt
import httpx
from _server import DEFAULT_PG_ADMIN_URL, cpu_model, postgres_database

from identa.app import create_container
from identa.db.migrate import upgrade
from identa.http.asgi import build_asgi
from identa.provisioning import initialise
from identa.settings import Settings

PUBLIC_URL = "http://bench.identa.test"
FIRST = [
    "Maria",
    "José",
    "Wei",
    "Aisha",
    "Lukas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Sofia",
    "Mateo",
    "Yuki",
    "Omar",
    "Chloé",
    "Ivan",
]
LAST = [
    "Garcia",
    "Smith",
    "Müller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Okafor",
    "Silva",
    "Jensen",
    "Nguyen",
]
INTERESTS = [
    "fitness",
    "running",
    "yoga",
    "football",
    "tennis",
    "hiking",
    "fashion",
    "cycling",
    "gaming",
    "music",
]


def records(count: int, password_hash: str, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        year = rng.randint(1950, 2008)
        yield {
            "email": f"{first.lower()}.{last.lower()}.{index}@example.com",
            "email_verified": rng.random() < 0.7,
            "given_name": first,
            "family_name": last,
            "name": f"{first} {last}",
            "password_hash": password_hash,
            "user_metadata": {
                "gender": rng.choice(("female", "male", "other")),
                "birthdate": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "zip_code": f"{rng.randint(1000, 99999):05d}",
                "interests": rng.sample(INTERESTS, rng.randint(0, 3)),
            },
            "app_metadata": {"plan": rng.choice(("free", "plus", "pro")), "source": "bench"},
        }


@contextmanager
def database(kind: str, admin_url: str) -> Iterator[str]:
    if kind == "postgresql":
        with postgres_database(admin_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="identa-import-") as folder:
        yield f"sqlite+aiosqlite:///{folder}/identa.db"


async def run(opts: argparse.Namespace, url: str) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, url)
    data_dir = Path(tempfile.mkdtemp(prefix="identa-import-data-"))
    settings = Settings(
        database_url=url,
        public_url=PUBLIC_URL,
        data_dir=data_dir,
        secret_key="bench-secret-key-0123456789",
        management_rate_limit={"requests": 0},
        jobs={"import_chunk_size": opts.chunk_size},
    )
    container, templates = create_container(settings)
    app = build_asgi(container, templates, run_workers=False)
    report = await initialise(container, migrate=False)
    password_hash = bcrypt.hashpw(b"Correct-Horse-9", bcrypt.gensalt(rounds=10)).decode()
    payload = json.dumps(list(records(opts.users, password_hash))).encode()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        token = (
            await client.post(
                "/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": report.management_client_id,
                    "client_secret": report.management_client_secret,
                    "audience": f"{PUBLIC_URL}/api/v2/",
                },
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        connections = (await client.get("/api/v2/connections")).json()
        connection_id = next(
            c["id"] for c in connections if c["name"] == "Username-Password-Authentication"
        )

        started = time.perf_counter()
        created = await client.post(
            "/api/v2/jobs/users-imports",
            files={"users": ("users.json", payload, "application/json")},
            data={"connection_id": connection_id, "upsert": "false"},
        )
        assert created.status_code == 202, created.text
        job = await container.jobs.run_until_done(created.json()["id"], poll_seconds=0.05)
        import_seconds = time.perf_counter() - started
        status = (await client.get(f"/api/v2/jobs/{job.id}")).json()
        assert status["status"] == "completed", status
        assert status["summary"]["inserted"] == opts.users, status["summary"]

        exports: dict[str, float] = {}
        for fmt in ("json", "csv"):
            started = time.perf_counter()
            body: dict[str, Any] = {"format": fmt}
            if fmt == "csv":
                body["fields"] = [
                    {"name": name}
                    for name in (
                        "user_id", "email", "name", "created_at", "user_metadata.gender",
                        "user_metadata.birthdate", "user_metadata.zip_code", "app_metadata.plan",
                    )
                ]  # fmt: skip
            made = await client.post("/api/v2/jobs/users-exports", json=body)
            assert made.status_code in (200, 201), made.text
            await container.jobs.run_until_done(made.json()["id"], poll_seconds=0.05)
            location = (await client.get(f"/api/v2/jobs/{made.json()['id']}")).json()["location"]
            download = await client.get(location.removeprefix(PUBLIC_URL))
            assert download.status_code == 200, download.text[:200]
            content = download.content
            if content[:2] == b"\x1f\x8b":
                content = gzip.decompress(content)
            lines = content.count(b"\n") - (1 if fmt == "csv" else 0)
            assert lines == opts.users, (fmt, lines)
            exports[fmt] = time.perf_counter() - started
    await container.close()
    return {
        "users": opts.users,
        "file_bytes": len(payload),
        "import_seconds": import_seconds,
        "import_rate": opts.users / import_seconds,
        "export_seconds": exports,
        "export_rate": {fmt: opts.users / s for fmt, s in exports.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    opts = parser.parse_args(argv)

    print(
        f"machine:  {os.cpu_count()} cores ({cpu_model()}), {platform.platform()}\n"
        f"software: Python {platform.python_version()}, identa {package_version('identa')}, "
        f"SQLAlchemy {package_version('sqlalchemy')}\n"
        f"database: {opts.database}; {opts.users:,} users, chunks of {opts.chunk_size:,}",
        flush=True,
    )
    with database(opts.database, opts.pg_admin_url) as url:
        result = asyncio.run(run(opts, url))
    target = "met" if result["import_rate"] >= 10_000 else "NOT met"
    print(
        f"\nimport  {result['users']:>9,} users ({result['file_bytes'] / 1e6:.1f} MB) in "
        f"{result['import_seconds']:6.1f} s = {result['import_rate']:>7,.0f} users/s "
        f"(target ≥ 10,000/s: {target})"
    )
    for fmt, seconds in result["export_seconds"].items():
        print(
            f"export  {fmt:<5} {result['users']:>9,} users in {seconds:6.1f} s = "
            f"{result['export_rate'][fmt]:>7,.0f} users/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
