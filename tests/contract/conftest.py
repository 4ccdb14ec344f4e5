"""A database seeded once per module, for the read-only search contracts.

A module whose tests only read what its `seed(container)` wrote opts in by overriding
`database_url` with `seeded_database_url`. The module's database is migrated, initialised (as the
`container` fixture does) and seeded once; on SQLite each test then gets its own copy of that file,
on PostgreSQL the tests share it. Each test's data directory gets the bootstrap client's file, so
the `container` fixture's `initialise` finds everything in place and changes nothing. `seed` must
return at once when its data is already there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from identa.app import create_container
from identa.container import Container
from identa.db.migrate import upgrade
from identa.notify.providers import MemoryProvider
from identa.provisioning import BOOTSTRAP_FILE, initialise
from identa.settings import Settings
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    PUBLIC_URL,
    _admin,
    database_kind,
    with_database,
)

Seed = Callable[[Container], Awaitable[None]]


@dataclass(frozen=True)
class SeededDatabase:
    url: str
    data_dir: Path
    sqlite_file: Path | None


def settings_for(database_url: str, data_dir: Path) -> Settings:
    """What the `settings` fixture builds, for a database and a data directory."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        public_url=PUBLIC_URL,
        secret_key="test-secret-key-0123456789",
        environment="test",
    )


async def _initialise_and_seed(settings: Settings, seed: Seed) -> None:
    container, _ = create_container(settings, mail_provider=MemoryProvider())
    try:
        await initialise(container, migrate=False)
        await seed(container)
    finally:
        await container.close()


def _outside_loop(call: Callable[[], object]) -> None:
    """In a worker thread: the fixture may be set up from inside a test's event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(call).result()


@pytest.fixture(scope="module")
def seeded_database(
    request: pytest.FixtureRequest,
    migrated_database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SeededDatabase]:
    seed: Seed = request.module.seed
    root = tmp_path_factory.mktemp("seeded")
    data_dir = root / "data"
    if database_kind() == "postgresql":
        name = f"identa_test_{uuid.uuid4().hex[:12]}"
        url = with_database(POSTGRES_ADMIN_URL, name)
        _outside_loop(lambda: asyncio.run(_admin(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')))
        try:
            synchronous_commit_off = f'ALTER DATABASE "{name}" SET synchronous_commit = off'
            _outside_loop(lambda: asyncio.run(_admin(POSTGRES_ADMIN_URL, synchronous_commit_off)))
            _outside_loop(lambda: upgrade(url))
            _outside_loop(
                lambda: asyncio.run(_initialise_and_seed(settings_for(url, data_dir), seed))
            )
            yield SeededDatabase(url, data_dir, None)
        finally:
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            _outside_loop(lambda: asyncio.run(_admin(POSTGRES_ADMIN_URL, drop)))
    else:
        path = root / "identa.db"
        shutil.copyfile(migrated_database, path)
        url = f"sqlite+aiosqlite:///{path}"
        _outside_loop(lambda: asyncio.run(_initialise_and_seed(settings_for(url, data_dir), seed)))
        yield SeededDatabase(url, data_dir, path)


@pytest.fixture
def seeded_database_url(seeded_database: SeededDatabase, tmp_path: Path) -> str:
    """The module's seeded database (a copy of it on SQLite), with the test's data directory
    (tmp_path/data, as the `settings` fixture has it) holding the bootstrap client's file."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy2(seeded_database.data_dir / BOOTSTRAP_FILE, data_dir / BOOTSTRAP_FILE)
    if seeded_database.sqlite_file is None:
        return seeded_database.url
    target = tmp_path / "identa.db"
    shutil.copyfile(seeded_database.sqlite_file, target)
    return f"sqlite+aiosqlite:///{target}"
