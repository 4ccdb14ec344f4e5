"""analytics at scale: customer counts by day and live segment counts

`customer_days` holds how many customers last logged in on each day (kind 'login') and how many
never logged in, by the day they were created (kind 'never'); triggers on `users` append each
change to `customer_day_deltas` (-1 at the old day, +1 at the new one), which the rollup job
folds in. Appending instead of updating a counter row keeps concurrent logins from queueing on
one hot row. The dashboard's customer totals then read a few thousand rows instead of `users`.

`user_changes` gets a row for each user inserted, updated or deleted (and for each change to a
user's identities): a saved segment keeps its members as of a mark, and its live count is that
snapshot corrected by the users changed since (identa.analytics.segments). On PostgreSQL a change
carries its transaction id and the mark is the oldest transaction still running; on SQLite (one
writer at a time) the mark is the highest change id.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

# The day bucket of a users row, per dialect (UTC days; timestamps are stored in UTC).
_PG_KIND = "CASE WHEN {r}.last_login IS NULL THEN 'never' ELSE 'login' END"
_PG_DAY = "(COALESCE({r}.last_login, {r}.created_at) AT TIME ZONE 'UTC')::date"
_LITE_KIND = "CASE WHEN {r}.last_login IS NULL THEN 'never' ELSE 'login' END"
_LITE_DAY = "date(COALESCE({r}.last_login, {r}.created_at))"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "customer_days",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("kind", "day", name=op.f("pk_customer_days")),
    )
    op.create_table(
        "customer_day_deltas",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_day_deltas")),
    )
    op.create_table(
        "user_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_changes")),
    )
    if dialect == "postgresql":
        op.create_index("ix_user_changes_xid", "user_changes", ["xid"])
    op.create_table(
        "segment_snapshots",
        sa.Column("segment_id", sa.String(32), nullable=False),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("segment_id", name=op.f("pk_segment_snapshots")),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "user_id", name=op.f("pk_segment_members")),
    )
    # What the rollup reads: one metric of one dimension over a range of buckets.
    op.create_index(
        "ix_analytics_counters_metric_dimension_bucket",
        "analytics_counters",
        ["metric", "dimension", "bucket", "value", "n"],
    )
    if dialect == "postgresql":
        _postgresql_triggers()
        kind, day = _PG_KIND.format(r="users"), _PG_DAY.format(r="users")
    else:
        _sqlite_triggers()
        kind, day = _LITE_KIND.format(r="users"), _LITE_DAY.format(r="users")
    # Existing customers, counted once; the triggers (same transaction) take it from here.
    op.execute(
        f"INSERT INTO customer_days (kind, day, n) SELECT {kind}, {day}, count(*) "  # noqa: S608
        f"FROM users GROUP BY {kind}, {day}"
    )


def _postgresql_triggers() -> None:
    old_kind, old_day = _PG_KIND.format(r="OLD"), _PG_DAY.format(r="OLD")
    new_kind, new_day = _PG_KIND.format(r="NEW"), _PG_DAY.format(r="NEW")
    # (A CASE inside IF … THEN would end the condition at its own THEN: variables instead.)
    op.execute(f"""
        CREATE FUNCTION identa_customer_days() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_kind text;
            old_day date;
            new_kind text;
            new_day date;
        BEGIN
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
    """)  # noqa: S608 (the text comes from the constants above)
    op.execute(
        "CREATE TRIGGER users_customer_days AFTER INSERT OR DELETE ON users "
        "FOR EACH ROW EXECUTE FUNCTION identa_customer_days()"
    )
    op.execute(
        "CREATE TRIGGER users_customer_days_update AFTER UPDATE OF last_login, created_at "
        "ON users FOR EACH ROW EXECUTE FUNCTION identa_customer_days()"
    )
    op.execute("""
        CREATE FUNCTION identa_user_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            xid bigint := pg_current_xact_id()::text::bigint;
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO user_changes (user_id, xid) VALUES (OLD.user_id, xid);
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
                INSERT INTO user_changes (user_id, xid) VALUES (NEW.user_id, xid);
            END IF;
            RETURN NULL;
        END $$
    """)
    for table in ("users", "identities"):
        op.execute(
            f"CREATE TRIGGER {table}_user_changes AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION identa_user_changes()"
        )


def _sqlite_triggers() -> None:
    def delta(row: str, n: int) -> str:
        kind, day = _LITE_KIND.format(r=row), _LITE_DAY.format(r=row)
        return f"INSERT INTO customer_day_deltas (kind, day, n) VALUES ({kind}, {day}, {n})"  # noqa: S608

    changed = (
        f"({_LITE_KIND.format(r='OLD')}) IS NOT ({_LITE_KIND.format(r='NEW')}) "
        f"OR ({_LITE_DAY.format(r='OLD')}) IS NOT ({_LITE_DAY.format(r='NEW')})"
    )
    op.execute(
        f"CREATE TRIGGER users_customer_days_insert AFTER INSERT ON users BEGIN {delta('NEW', 1)}; "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER users_customer_days_delete AFTER DELETE ON users BEGIN {delta('OLD', -1)}; "
        "END"
    )
    op.execute(
        "CREATE TRIGGER users_customer_days_update AFTER UPDATE OF last_login, created_at ON users "
        f"WHEN {changed} BEGIN {delta('OLD', -1)}; {delta('NEW', 1)}; END"
    )
    note = "INSERT INTO user_changes (user_id) VALUES ({})"
    for table in ("users", "identities"):
        op.execute(
            f"CREATE TRIGGER {table}_user_changes_insert AFTER INSERT ON {table} "
            f"BEGIN {note.format('NEW.user_id')}; END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_user_changes_delete AFTER DELETE ON {table} "
            f"BEGIN {note.format('OLD.user_id')}; END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_user_changes_update AFTER UPDATE ON {table} "
            f"BEGIN {note.format('OLD.user_id')}; "
            f"INSERT INTO user_changes (user_id) SELECT NEW.user_id "
            "WHERE NEW.user_id IS NOT OLD.user_id; END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in ("users", "identities"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_user_changes ON {table}")
        op.execute("DROP TRIGGER IF EXISTS users_customer_days ON users")
        op.execute("DROP TRIGGER IF EXISTS users_customer_days_update ON users")
        op.execute("DROP FUNCTION IF EXISTS identa_user_changes()")
        op.execute("DROP FUNCTION IF EXISTS identa_customer_days()")
    else:
        for table in ("users", "identities"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_user_changes_{event}")
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS users_customer_days_{event}")
    op.drop_index("ix_analytics_counters_metric_dimension_bucket", "analytics_counters")
    for table in (
        "segment_members",
        "segment_snapshots",
        "user_changes",
        "customer_day_deltas",
        "customer_days",
    ):
        op.drop_table(table)
