"""Rules and their configuration values (Auth0's rules and rules-configs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, UTCDateTime


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    script: Mapped[str] = mapped_column(Text)
    order: Mapped[int] = mapped_column("rule_order", Integer, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    runtime: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32))
    # Identa extension: a failing fail-open rule is skipped instead of failing the login.
    fail_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RuleConfig(Base):
    """A secret a rule reads as `configuration[key]`; never returned by the API."""

    __tablename__ = "rules_configs"

    key: Mapped[str] = mapped_column(String(127), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
