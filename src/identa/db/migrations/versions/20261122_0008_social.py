"""social connections: sealed upstream tokens and the consented grant on identities

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("idp_tokens", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "idp_grant",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("idp_grant")
        batch.drop_column("idp_tokens")
