"""rules-configs values sealed at rest (SecretBox, purpose "rules-configs")

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-22 21:00:00

The deployment's secret key comes from the caller (`identa.db.migrate.upgrade(...,
secret_key=...)`), else from IDENTA_SECRET_KEY or the data directory's `secret.key`. It is only
needed when there are rows to convert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

from identa.core.secretbox import SecretBox

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSE = "rules-configs"
configs = sa.table("rules_configs", sa.column("key", sa.String), sa.column("value", sa.Text))


def _secret_key() -> str:
    given = context.config.attributes.get("secret_key")
    if isinstance(given, str) and given:
        return given
    from identa.provisioning import SECRET_FILE
    from identa.settings import Settings

    settings = Settings()
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    raise RuntimeError(
        "rules-configs values must be sealed with the deployment's secret key: set "
        "IDENTA_SECRET_KEY or IDENTA_DATA_DIR (with its secret.key) and migrate again"
    )


def _convert(change: Callable[[SecretBox, str], str | None]) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(configs.c.key, configs.c.value)).all()
    if not rows:
        return
    box = SecretBox(_secret_key(), PURPOSE)
    for key, value in rows:
        new = change(box, value)
        if new is not None and new != value:
            bind.execute(configs.update().where(configs.c.key == key).values(value=new))


def _seal(box: SecretBox, value: str) -> str | None:
    return None if SecretBox.is_sealed(value) else box.seal(value)


def _open(box: SecretBox, value: str) -> str | None:
    if not SecretBox.is_sealed(value):
        return None
    clear = box.open(value)
    if clear is None:
        raise RuntimeError("a rules-configs value was sealed under another secret key")
    return clear


def upgrade() -> None:
    _convert(_seal)


def downgrade() -> None:
    _convert(_open)
