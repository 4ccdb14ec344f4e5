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

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

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


_RESET_SCRIPTS: dict[str, str] = {}


async def _reset_script(connection: asyncpg.Connection) -> str:
    """Every table's DELETE, children first, then every id sequence back to 1: one script.

    DELETE rather than TRUNCATE: on tables this small it is several times faster, TRUNCATE
    replaces every table's and index's files. As TRUNCATE … RESTART IDENTITY did, every test
    starts its ids from 1."""
    sequences = await connection.fetch(
        "SELECT quote_ident(sequencename) AS name FROM pg_sequences WHERE schemaname = 'public'"
    )
    dialect = postgresql.dialect()
    statements = [
        str(table.delete().compile(dialect=dialect)) for table in reversed(metadata.sorted_tables)
    ]
    statements += [f"SELECT setval('{row['name']}', 1, false)" for row in sequences]
    return ";\n".join(statements)


async def _truncate_postgres(url: str) -> None:
    """Empties every table between tests and restarts the id sequences, in one round trip on
    one plain asyncpg connection (no engine to build, no statements to compile)."""
    connection = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        script = _RESET_SCRIPTS.get(url)
        if script is None:
            script = _RESET_SCRIPTS[url] = await _reset_script(connection)
        async with connection.transaction():
            await connection.execute(script)
    finally:
        await connection.close()


async def fresh_database_url(migrated_database: str, tmp_path: Path) -> str:
    """An empty migrated database for one test: the session's PostgreSQL database emptied, or a
    copy of the SQLite template in tmp_path (what the `database_url` fixture gives)."""
    if database_kind() == "postgresql":
        await _truncate_postgres(migrated_database)
        return migrated_database
    target = tmp_path / "identa.db"
    shutil.copyfile(migrated_database, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def database_url(migrated_database: str, tmp_path: Path) -> str:
    return await fresh_database_url(migrated_database, tmp_path)


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
