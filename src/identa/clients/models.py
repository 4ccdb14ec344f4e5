"""Applications in Auth0's client shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime

APP_TYPES = ("spa", "regular_web", "native", "non_interactive")
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic", "private_key_jwt")


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    app_type: Mapped[str] = mapped_column(String(32))
    is_first_party: Mapped[bool] = mapped_column(Boolean)
    # SHA-256 of the secret: secrets are long random strings, so a fast hash is safe and keeps
    # client authentication cheap; the plain secret is shown only when created or rotated.
    client_secret_hash: Mapped[str | None] = mapped_column(String(128))
    callbacks: Mapped[list[str]] = mapped_column(JSONDocument)
    allowed_logout_urls: Mapped[list[str]] = mapped_column(JSONDocument)
    web_origins: Mapped[list[str]] = mapped_column(JSONDocument)
    allowed_origins: Mapped[list[str]] = mapped_column(JSONDocument)
    grant_types: Mapped[list[str]] = mapped_column(JSONDocument)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    logo_uri: Mapped[str | None] = mapped_column(String(2048))
    primary_color: Mapped[str | None] = mapped_column(String(16))
    client_metadata: Mapped[dict[str, str]] = mapped_column(JSONDocument)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    is_global: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
