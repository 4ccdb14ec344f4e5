"""Progressive-profiling questions and the questions a person declined (asked again later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime


class ProfilingQuestion(Base):
    __tablename__ = "profiling_questions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Where the answer goes in user_metadata, dotted: "shoe.size".
    path: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[str]] = mapped_column(JSONDocument)
    # None: every application.
    client_ids: Mapped[list[str] | None] = mapped_column(JSONDocument, nullable=True)
    position: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "label": self.label,
            "type": self.type,
            "options": list(self.options or []),
            "client_ids": list(self.client_ids) if self.client_ids is not None else None,
            "position": self.position,
            "enabled": self.enabled,
        }


class ProfilingDecline(Base):
    __tablename__ = "profiling_declines"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    declined_at: Mapped[datetime] = mapped_column(UTCDateTime)
