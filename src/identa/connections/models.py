"""Connections in Auth0's shape, and which applications each one is enabled for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime

DEFAULT_DATABASE_CONNECTION = "Username-Password-Authentication"
DATABASE_STRATEGY = "auth0"


class Connection(Base):
    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    strategy: Mapped[str] = mapped_column(String(64), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    is_domain_connection: Mapped[bool] = mapped_column(Boolean, default=False)
    show_as_button: Mapped[bool] = mapped_column(Boolean, default=True)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectionClient(Base):
    """A row per (connection, application) pair the connection is enabled for."""

    __tablename__ = "connection_clients"

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
