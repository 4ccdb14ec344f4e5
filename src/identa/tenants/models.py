"""The single tenant's settings row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime

TENANT_ROW_ID = 1


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    friendly_name: Mapped[str] = mapped_column(String(255))
    support_email: Mapped[str | None] = mapped_column(String(254))
    support_url: Mapped[str | None] = mapped_column(String(2048))
    default_connection: Mapped[str | None] = mapped_column(String(128))
    default_password_policy: Mapped[str] = mapped_column(String(16))
    brute_force_enabled: Mapped[bool] = mapped_column(Boolean)
    brute_force_max_attempts: Mapped[int] = mapped_column(Integer)
    brute_force_allowlist: Mapped[list[str]] = mapped_column(JSONDocument)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
