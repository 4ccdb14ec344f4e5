"""customer insight: enrichment (profiles, devices, interests, mentions) and analytics (login
facts, rolled-up counters, rollup state, segments and their daily counts)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _user_fk() -> sa.ForeignKey:
    return sa.ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE")


def upgrade() -> None:
    op.create_table(
        "customer_profiles",
        sa.Column("user_id", sa.String(255), _user_fk(), nullable=False),
        sa.Column("country_code", sa.String(8), nullable=True),
        sa.Column("country_name", sa.String(128), nullable=True),
        sa.Column("region", sa.String(128), nullable=True),
        sa.Column("city", sa.String(128), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("gender", sa.String(16), nullable=True),
        sa.Column("birthdate", sa.Date(), nullable=True),
        sa.Column("locale", sa.String(32), nullable=True),
        sa.Column("income_band", sa.String(32), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("sentiment_count", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_customer_profiles")),
    )
    op.create_index(
        op.f("ix_customer_profiles_country_code"), "customer_profiles", ["country_code"]
    )
    op.create_table(
        "customer_interests",
        sa.Column("user_id", sa.String(255), _user_fk(), nullable=False),
        sa.Column("interest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "interest", name=op.f("pk_customer_interests")),
    )
    op.create_index("ix_customer_interests_interest", "customer_interests", ["interest"])
    op.create_table(
        "customer_devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(255), _user_fk(), nullable=False),
        sa.Column("device_key", sa.String(255), nullable=False),
        sa.Column("device_type", sa.String(16), nullable=False),
        sa.Column("browser", sa.String(64), nullable=False),
        sa.Column("browser_version", sa.String(32), nullable=True),
        sa.Column("os", sa.String(64), nullable=False),
        sa.Column("os_version", sa.String(32), nullable=True),
        sa.Column("device", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("last_ip", sa.String(64), nullable=True),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("logins", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_devices")),
        sa.UniqueConstraint(
            "user_id", "device_key", name=op.f("uq_customer_devices_user_id_device_key")
        ),
    )
    op.create_table(
        "customer_mentions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255), _user_fk(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("compound", sa.Float(), nullable=False),
        sa.Column("positive", sa.Float(), nullable=False),
        sa.Column("neutral", sa.Float(), nullable=False),
        sa.Column("negative", sa.Float(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_mentions")),
    )
    op.create_index(
        "ix_customer_mentions_user_id_created_at", "customer_mentions", ["user_id", "created_at"]
    )
    op.create_table(
        "login_facts",
        sa.Column("log_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("connection", sa.String(128), nullable=False),
        sa.Column("country", sa.String(8), nullable=False),
        sa.Column("device_type", sa.String(16), nullable=False),
        sa.Column("browser", sa.String(64), nullable=False),
        sa.Column("os", sa.String(64), nullable=False),
        sa.Column("gender", sa.String(16), nullable=False),
        sa.Column("age_band", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_login_facts")),
    )
    op.create_index("ix_login_facts_day_kind", "login_facts", ["day", "kind"])
    op.create_index("ix_login_facts_user_id_day", "login_facts", ["user_id", "day"])
    op.create_table(
        "analytics_counters",
        sa.Column("bucket", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("n", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "metric", "dimension", "value", name=op.f("pk_analytics_counters")
        ),
    )
    op.create_table(
        "analytics_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("watermark", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_state")),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )
    op.create_table(
        "segment_counts",
        sa.Column("segment_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "day", name=op.f("pk_segment_counts")),
    )


def downgrade() -> None:
    for table in (
        "segment_counts",
        "segments",
        "analytics_state",
        "analytics_counters",
        "login_facts",
        "customer_mentions",
        "customer_devices",
        "customer_interests",
        "customer_profiles",
    ):
        op.drop_table(table)
