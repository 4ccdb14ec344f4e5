"""Shared fixtures: a real database per test (SQLite by default, PostgreSQL when asked), the
application over ASGI, and a memory mailbox.

IDENTA_TEST_DATABASE=postgresql runs the whole suite on the PostgreSQL server at
IDENTA_TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test's server).
When that server cannot be reached the PostgreSQL tests skip, unless IDENTA_REQUIRE_SERVICES=1,
in which case they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from identa.app import create_container
from identa.container import Container
from identa.db.engine import create_engine
from identa.db.migrate import upgrade
from identa.http.asgi import build_asgi
from identa.notify.providers import MemoryProvider
from identa.provisioning import initialise
from identa.schema import metadata
from identa.settings import Settings

PUBLIC_URL = "http://identa.test"
POSTGRES_ADMIN_URL = os.environ.get(
    "IDENTA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def require_services() -> bool:
    return os.environ.get("IDENTA_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    if require_services():
        pytest.fail(f"{reason} (IDENTA_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


def database_kind() -> str:
    return os.environ.get("IDENTA_TEST_DATABASE", "sqlite").lower()


async def _postgres_reachable(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per test session: a SQLite template file, or a PostgreSQL database."""
    if database_kind() == "postgresql":
        problem = asyncio.run(_postgres_reachable(POSTGRES_ADMIN_URL))
        if problem:
            skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {problem}")
        name = f"identa_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"'))
        # A throw-away database: commits need not wait for the disk.
        asyncio.run(
            _admin(POSTGRES_ADMIN_URL, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        )
        url = with_database(POSTGRES_ADMIN_URL, name)
        upgrade(url)
        yield url
        asyncio.run(_admin(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        template = tmp_path_factory.mktemp("template") / "identa.db"
        upgrade(f"sqlite+aiosqlite:///{template}")
        yield str(template)


async def _truncate_postgres(url: str) -> None:
    """Empties every table between tests and restarts the id sequences. DELETE, children first:
    on tables this small it is several times faster than TRUNCATE, which replaces every table's
    and index's files."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                await connection.execute(table.delete())
            # As TRUNCATE … RESTART IDENTITY did: every test starts its ids from 1.
            sequences = await connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            )
            for (sequence,) in sequences.all():
                await connection.execute(
                    text("SELECT setval(CAST(:name AS regclass), 1, false)"), {"name": sequence}
                )
    finally:
        await engine.dispose()


@pytest.fixture
async def database_url(migrated_database: str, tmp_path: Path) -> str:
    if database_kind() == "postgresql":
        await _truncate_postgres(migrated_database)
        return migrated_database
    target = tmp_path / "identa.db"
    shutil.copyfile(migrated_database, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url=PUBLIC_URL,
        secret_key="test-secret-key-0123456789",
        environment="test",
    )


@pytest.fixture
def mailbox() -> MemoryProvider:
    return MemoryProvider()


@pytest.fixture
async def container(settings: Settings, mailbox: MemoryProvider) -> AsyncIterator[Container]:
    container, _ = create_container(settings, mail_provider=mailbox)
    await initialise(container, migrate=False)
    yield container
    await container.close()


@pytest.fixture
async def app_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    from identa.http.hosted.render import Templates

    app = build_asgi(container, Templates(), run_workers=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client
