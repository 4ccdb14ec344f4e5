"""Users in Auth0's normalized-profile shape, their identities and database credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from identa.db.base import Base, JSONDocument, UTCDateTime


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str | None] = mapped_column(String(128), index=True)
    phone_number: Mapped[str | None] = mapped_column(String(32))
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(150))
    family_name: Mapped[str | None] = mapped_column(String(150))
    nickname: Mapped[str | None] = mapped_column(String(300))
    picture: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_ip: Mapped[str | None] = mapped_column(String(64))
    logins_count: Mapped[int] = mapped_column(Integer, default=0)
    last_password_reset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    user_metadata: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    app_metadata: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    # Attributes passed through from an identity provider (gender, locale, …) kept at the root.
    extra: Mapped[dict[str, Any]] = mapped_column(JSONDocument)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        order_by="Identity.position",
        lazy="selectin",
    )


class Identity(Base):
    """One account at one connection. `position` 0 is the primary identity."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("connection_id", "provider_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="RESTRICT"))
    connection_name: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(64))
    provider_user_id: Mapped[str] = mapped_column(String(255))
    is_social: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    profile_data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Upstream access/refresh tokens, sealed with identa.core.secretbox (never in clear).
    idp_tokens: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    # What was asked of the provider and what it granted: scopes, attributes that came back.
    idp_grant: Mapped[dict[str, Any] | None] = mapped_column(
        JSONDocument, nullable=True, default=None
    )

    user: Mapped[User] = relationship(back_populates="identities")


class PasswordCredential(Base):
    """Login e-mail, username and password hash of a database-connection identity.

    The unique constraints are what makes a second sign-up with the same e-mail (or username)
    on one connection impossible, even when two requests race.
    """

    __tablename__ = "password_credentials"
    __table_args__ = (
        UniqueConstraint("connection_id", "email_key"),
        UniqueConstraint("connection_id", "username_key"),
    )

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    email_key: Mapped[str | None] = mapped_column(String(254))
    username_key: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BruteForceBlock(Base):
    """Failed password attempts for one identifier from one IP, and whether that pair is blocked."""

    __tablename__ = "brute_force_counters"
    __table_args__ = (
        UniqueConstraint("connection_id", "identifier", "ip"),
        Index("ix_brute_force_counters_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
