"""Persisted flow state: a login transaction, and single-use e-mail tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.connections.service import requires_username, signup_disabled
from identa.db.base import Base, JSONDocument, UTCDateTime
from identa.events.service import EventSubject
from identa.identity.models import User
from identa.sessions.service import IssuedSession
from identa.tenants.service import TenantSettings


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


@dataclass(frozen=True)
class Links:
    """Absolute URLs of the pages e-mails point to."""

    public_url: str

    def verify_email(self, token: str) -> str:
        return f"{self.public_url}/lo/verify_email?{urlencode({'ticket': token})}"

    def reset_password(self, token: str) -> str:
        return f"{self.public_url}/lo/reset?{urlencode({'ticket': token})}"

    def page(self, path: str) -> str:
        return f"{self.public_url}{path}"


@dataclass(frozen=True)
class FlowView:
    flow: LoginFlow
    client: Client
    # The application's database connection; None when it has only social/enterprise ones.
    connection: Connection | None
    tenant: TenantSettings
    # (connection name, button label) of each social/enterprise connection of the application.
    buttons: tuple[tuple[str, str], ...] = ()

    @property
    def requires_username(self) -> bool:
        return self.connection is not None and requires_username(self.connection)

    @property
    def signup_allowed(self) -> bool:
        return self.connection is not None and not signup_disabled(self.connection)

    @property
    def password_login(self) -> bool:
        return self.connection is not None


@dataclass(frozen=True)
class LoginOutcome:
    user: User
    session: IssuedSession
    redirect_to: str


def subject_for(
    client: Client | None,
    connection: Connection | None,
    user: User | None = None,
    user_name: str | None = None,
) -> EventSubject:
    return EventSubject(
        client_id=client.client_id if client else None,
        client_name=client.name if client else None,
        connection=connection.name if connection else None,
        connection_id=connection.id if connection else None,
        strategy=connection.strategy if connection else None,
        user_id=user.user_id if user else None,
        user_name=(user.email or user.username) if user else user_name,
    )
