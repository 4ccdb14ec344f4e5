"""bulk imports may pause the per-row insert triggers of migration 0015

A users import inserts thousands of users per transaction; the insert triggers of 0015 add a
`customer_day_deltas` row and a `user_changes` row per user (and another `user_changes` row per
identity). The importer pauses them inside its own transaction and writes the same effects in
bulk (identa.analytics.bulk_effects): one delta per day instead of one per user, one change per
user. Updates and deletes, and inserts by anything else, keep firing them.

* SQLite: the insert triggers get `WHEN NOT EXISTS (SELECT 1 FROM analytics_triggers_paused)`;
  the pause is a row the importer adds and removes inside its transaction (one writer at a
  time, readers never see it), as `search_terms_paused` does for the search terms (0006).
* PostgreSQL: the trigger functions return early on INSERT when the transaction-local setting
  `identa.bulk_insert` is 'on' (`set_config(…, true)`: gone at commit or rollback, invisible
  to other sessions).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_KIND = "CASE WHEN {r}.last_login IS NULL THEN 'never' ELSE 'login' END"
_PG_DAY = "(COALESCE({r}.last_login, {r}.created_at) AT TIME ZONE 'UTC')::date"
_LITE_DELTA = (
    "INSERT INTO customer_day_deltas (kind, day, n) VALUES "
    "(CASE WHEN NEW.last_login IS NULL THEN 'never' ELSE 'login' END, "
    "date(COALESCE(NEW.last_login, NEW.created_at)), 1)"
)
_PAUSED = "current_setting('identa.bulk_insert', true) = 'on'"


def _pg_customer_days(pausable: bool) -> str:
    old_kind, old_day = _PG_KIND.format(r="OLD"), _PG_DAY.format(r="OLD")
    new_kind, new_day = _PG_KIND.format(r="NEW"), _PG_DAY.format(r="NEW")
    pause = f"IF TG_OP = 'INSERT' AND {_PAUSED} THEN RETURN NULL; END IF;" if pausable else ""
    return f"""
        CREATE OR REPLACE FUNCTION identa_customer_days() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_kind text;
            old_day date;
            new_kind text;
            new_day date;
        BEGIN
            {pause}
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                old_kind := {old_kind};
                old_day := {old_day};
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                new_kind := {new_kind};
                new_day := {new_day};
            END IF;
            IF old_kind IS NOT DISTINCT FROM new_kind AND old_day IS NOT DISTINCT FROM new_day THEN
                RETURN NULL;
            END IF;
            IF old_kind IS NOT NULL THEN
                INSERT INTO customer_day_deltas (kind, day, n) VALUES (old_kind, old_day, -1);
            END IF;
            IF new_kind IS NOT NULL THEN
                INSERT INTO customer_day_deltas (kind, day, n) VALUES (new_kind, new_day, 1);
            END IF;
            RETURN NULL;
        END $$
    """  # noqa: S608 (built from the constants above)


def _pg_user_changes(pausable: bool) -> str:
    pause = f"IF TG_OP = 'INSERT' AND {_PAUSED} THEN RETURN NULL; END IF;" if pausable else ""
    return f"""
        CREATE OR REPLACE FUNCTION identa_user_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            xid bigint;
        BEGIN
            {pause}
            xid := pg_current_xact_id()::text::bigint;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO user_changes (user_id, xid) VALUES (OLD.user_id, xid);
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
                INSERT INTO user_changes (user_id, xid) VALUES (NEW.user_id, xid);
            END IF;
            RETURN NULL;
        END $$
    """  # noqa: S608 (built from the constants above)


def _sqlite_insert_triggers(pausable: bool) -> None:
    when = "WHEN NOT EXISTS (SELECT 1 FROM analytics_triggers_paused) " if pausable else ""
    op.execute("DROP TRIGGER IF EXISTS users_customer_days_insert")
    op.execute(
        f"CREATE TRIGGER users_customer_days_insert AFTER INSERT ON users {when}"
        f"BEGIN {_LITE_DELTA}; END"
    )
    for table in ("users", "identities"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_user_changes_insert")
        op.execute(
            f"CREATE TRIGGER {table}_user_changes_insert AFTER INSERT ON {table} {when}"  # noqa: S608
            "BEGIN INSERT INTO user_changes (user_id) VALUES (NEW.user_id); END"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_customer_days(pausable=True))
        op.execute(_pg_user_changes(pausable=True))
        return
    op.execute("CREATE TABLE analytics_triggers_paused (id INTEGER PRIMARY KEY)")
    _sqlite_insert_triggers(pausable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_customer_days(pausable=False))
        op.execute(_pg_user_changes(pausable=False))
        return
    _sqlite_insert_triggers(pausable=False)
    op.execute("DROP TABLE IF EXISTS analytics_triggers_paused")
