"""Bulk jobs (users imports and exports) as durable rows: their state, progress checkpoint,
uploaded file and produced export, and per-record import errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime

USERS_IMPORT = "users_import"
USERS_EXPORT = "users_export"
VERIFICATION_EMAIL = "verification_email"

PENDING = "pending"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
RUNNABLE = (PENDING, PROCESSING)

INPUT = "input"
OUTPUT = "output"


class Job(Base):
    """One job. `processed` (and `cursor` for exports) is the checkpoint: it is updated in the
    same transaction as the rows a chunk writes, so a restarted worker resumes exactly there."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created_at", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(32))
    connection_name: Mapped[str | None] = mapped_column(String(128))
    client_id: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    upsert: Mapped[bool] = mapped_column(Boolean, default=False)
    send_completion_email: Mapped[bool] = mapped_column(Boolean, default=True)
    format: Mapped[str | None] = mapped_column(String(8))
    export_limit: Mapped[int | None] = mapped_column(Integer)
    fields: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDocument, nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(255))
    parts: Mapped[int] = mapped_column(Integer, default=0)
    status_details: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class JobBlob(Base):
    """A piece of a job's uploaded file (`input`) or of its export (`output`, one gzip member
    per chunk, so the pieces concatenated are one valid .gz file)."""

    __tablename__ = "job_blobs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class JobError(Base):
    """A record an import refused, as sent, with Auth0-style errors {code, message, path}."""

    __tablename__ = "job_errors"
    __table_args__ = (Index("ix_job_errors_job_id_position", "job_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    record: Mapped[Any] = mapped_column(JSONDocument)
    errors: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
