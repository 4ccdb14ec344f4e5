"""The migration that seals rules-configs values, and its downgrade, on a fresh database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from identa.core.secretbox import SecretBox
from identa.db.engine import create_engine
from identa.db.migrate import alembic_config, downgrade, upgrade
from tests.conftest import POSTGRES_ADMIN_URL, _admin, database_kind, with_database

SECRET = "migration-secret-key-0123456789"


def sealing_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions():
        if revision.path.endswith("_sealed_rules_configs.py"):
            return revision.revision
    raise AssertionError("no sealed_rules_configs migration")


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    if database_kind() != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"identa_mig_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    yield with_database(POSTGRES_ADMIN_URL, name)
    asyncio.run(_admin(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, statement: str, **params: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return [tuple(row) for row in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


def test_existing_values_are_sealed_and_unsealed_on_downgrade(fresh_database: str) -> None:
    url, mine = fresh_database, sealing_revision()
    upgrade(url, f"{mine}-1")
    asyncio.run(
        _sql(
            url,
            "INSERT INTO rules_configs (key, value, updated_at) "
            "VALUES ('API_KEY', 'plain-value', CURRENT_TIMESTAMP)",
        )
    )
    upgrade(url, mine, secret_key=SECRET)
    [(key, sealed)] = asyncio.run(_sql(url, "SELECT key, value FROM rules_configs"))
    assert key == "API_KEY" and "plain-value" not in sealed and SecretBox.is_sealed(sealed)
    assert SecretBox(SECRET, "rules-configs").open(sealed) == "plain-value"

    downgrade(url, f"{mine}-1", secret_key=SECRET)
    assert asyncio.run(_sql(url, "SELECT key, value FROM rules_configs")) == [
        ("API_KEY", "plain-value")
    ]


def test_sealing_needs_the_deployment_key(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, mine = fresh_database, sealing_revision()
    monkeypatch.delenv("IDENTA_SECRET_KEY", raising=False)
    monkeypatch.setenv("IDENTA_DATA_DIR", str(tmp_path / "empty"))
    upgrade(url, mine)  # no rows: nothing to seal, no key needed
    downgrade(url, f"{mine}-1")
    asyncio.run(
        _sql(
            url,
            "INSERT INTO rules_configs (key, value, updated_at) "
            "VALUES ('API_KEY', 'plain-value', CURRENT_TIMESTAMP)",
        )
    )
    with pytest.raises(RuntimeError, match="IDENTA_SECRET_KEY"):
        upgrade(url, mine)
    # The key from the environment, as `identa migrate` finds it.
    monkeypatch.setenv("IDENTA_SECRET_KEY", SECRET)
    upgrade(url, mine)
    [(_, sealed)] = asyncio.run(_sql(url, "SELECT key, value FROM rules_configs"))
    assert SecretBox(SECRET, "rules-configs").open(sealed) == "plain-value"
