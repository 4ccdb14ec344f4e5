"""log streams: stream configuration with its delivery cursor and lease, and dead letters

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import identa.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    utc = identa.db.base.UTCDateTime(timezone=True)
    op.create_table(
        "log_streams",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sink", _json(), nullable=False),
        sa.Column("filters", _json(), nullable=False),
        sa.Column("signing_secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("last_delivered_event_id", sa.String(length=64), nullable=True),
        sa.Column("last_delivered_at", utc, nullable=True),
        sa.Column("delivered_count", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("total_failures", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", utc, nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_streams")),
    )
    op.create_table(
        "log_stream_dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stream_id", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("partition_key", sa.String(length=255), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["log_streams.id"],
            name=op.f("fk_log_stream_dead_letters_stream_id_log_streams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_stream_dead_letters")),
    )
    with op.batch_alter_table("log_stream_dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            "ix_log_stream_dead_letters_stream_id_id", ["stream_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("log_stream_dead_letters", schema=None) as batch_op:
        batch_op.drop_index("ix_log_stream_dead_letters_stream_id_id")
    op.drop_table("log_stream_dead_letters")
    op.drop_table("log_streams")
