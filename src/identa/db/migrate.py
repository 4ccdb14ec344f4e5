"""Run Alembic migrations programmatically, so an installed package migrates without alembic.ini."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str, secret_key: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    if secret_key:
        # For data migrations that seal values (e.g. rules-configs) with the deployment's key.
        config.attributes["secret_key"] = secret_key
    return config


def upgrade(database_url: str, revision: str = "head", *, secret_key: str | None = None) -> None:
    command.upgrade(alembic_config(database_url, secret_key), revision)


def downgrade(database_url: str, revision: str, *, secret_key: str | None = None) -> None:
    command.downgrade(alembic_config(database_url, secret_key), revision)


async def upgrade_async(
    database_url: str, revision: str = "head", *, secret_key: str | None = None
) -> None:
    # Alembic's env.py drives its own event loop for the async engine; keep it off ours.
    await asyncio.to_thread(lambda: upgrade(database_url, revision, secret_key=secret_key))
