"""A configured log stream with its delivery state (cursor, lease, failures), and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime

ACTIVE, PAUSED, SUSPENDED = "active", "paused", "suspended"


class LogStream(Base):
    """One stream. Its row is also the lease: one worker at a time delivers to it.

    `cursor` is the id of the last outbox message handled (delivered, filtered out or
    dead-lettered); the outbox is shared by every stream, so each keeps its own position.
    """

    __tablename__ = "log_streams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    sink: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    filters: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    signing_secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # -- delivery state, written by the dispatcher holding the lease -------------------------
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_delivered_event_id: Mapped[str | None] = mapped_column(String(64))
    last_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_count: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    total_failures: Mapped[int] = mapped_column(BigInteger, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeadLetter(Base):
    """An event a stream gave up on; a copy, since the outbox row may be trimmed."""

    __tablename__ = "log_stream_dead_letters"
    __table_args__ = (Index("ix_log_stream_dead_letters_stream_id_id", "stream_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    stream_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("log_streams.id", ondelete="CASCADE")
    )
    outbox_id: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    partition_key: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
