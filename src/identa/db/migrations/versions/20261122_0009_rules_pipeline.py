"""rules pipeline: fail-open rules, rule claims on codes and refresh tokens, progressive profiling

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import identa.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("rules") as batch:
        batch.add_column(
            sa.Column("fail_open", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("extra_claims", _json(), nullable=True))
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("extra_claims", _json(), nullable=True))
    op.create_table(
        "profiling_questions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("options", _json(), nullable=False),
        sa.Column("client_ids", _json(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", identa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", identa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiling_questions")),
    )
    op.create_table(
        "profiling_declines",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("question_id", sa.String(length=32), nullable=False),
        sa.Column("declined_at", identa.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_profiling_declines_user_id_users"),
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "question_id", name=op.f("pk_profiling_declines")),
    )


def downgrade() -> None:
    op.drop_table("profiling_declines")
    op.drop_table("profiling_questions")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("extra_claims")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("extra_claims")
    with op.batch_alter_table("rules") as batch:
        batch.drop_column("fail_open")
