"""OAuth 2.0 / OIDC state: signing keys, APIs, client grants, codes and refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, JSONDocument, UTCDateTime


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ResourceServer(Base):
    """An API that access tokens are issued for (Auth0's resource server)."""

    __tablename__ = "resource_servers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(600), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument)
    signing_alg: Mapped[str] = mapped_column(String(16))
    token_lifetime: Mapped[int] = mapped_column(Integer)
    allow_offline_access: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_consent_for_verifiable_first_party_clients: Mapped[bool] = mapped_column(
        Boolean, default=True
    )
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClientGrant(Base):
    """Which scopes of an API a machine-to-machine application may ask for."""

    __tablename__ = "client_grants"
    __table_args__ = (UniqueConstraint("client_id", "audience"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(600))
    scope: Mapped[list[str]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthorizationCode(Base):
    """A single-use code (RFC 6749 §4.1.2), stored as its SHA-256; valid 60 s."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(64))
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(String(600))
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the code was exchanged for, so a replayed code can revoke it (RFC 6749 §4.1.2).
    issued_family_id: Mapped[str | None] = mapped_column(String(64))
    # Claims the login's rules added: {"id_token": {...}, "access_token": {...}}.
    extra_claims: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256. Rotation keeps a family: reusing a rotated
    token revokes every token of the family (OAuth 2.0 Security BCP §4.14)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(String(600))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rules' claims of the login that started the family, kept on every refresh.
    extra_claims: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)


class Consent(Base):
    """What a person allowed a third-party application to access (scopes, per API)."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id", "audience"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    # "" when the request named no API (the ID token and /userinfo only).
    audience: Mapped[str] = mapped_column(String(600))
    scopes: Mapped[list[str]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
