"""Persisted flow state: a login transaction, and single-use e-mail tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime


class LoginFlow(Base):
    """What a person is doing on the hosted pages and where they go when done.

    `request` holds whatever started the flow (for OIDC, the authorization request) so the flow
    can resume it after the person has logged in or signed up.
    """

    __tablename__ = "login_flows"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    connection: Mapped[str | None] = mapped_column(String(128))
    screen: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    return_to: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[str | None] = mapped_column(String(255))


class Ticket(Base):
    """A single-use link sent by e-mail (verify the address, reset the password)."""

    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), nullable=True
    )
    client_id: Mapped[str | None] = mapped_column(String(64))
    result_url: Mapped[str | None] = mapped_column(Text)
    mark_email_verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
