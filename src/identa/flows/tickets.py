"""Single-use tickets sent by e-mail; only the SHA-256 of the token is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core import ids
from identa.core.clock import Clock
from identa.core.digests import token_digest
from identa.flows.errors import TicketInvalid
from identa.flows.models import Ticket

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"


@dataclass(frozen=True)
class IssuedTicket:
    ticket: Ticket
    token: str


class TicketService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def issue(
        self,
        db: AsyncSession,
        *,
        purpose: str,
        user_id: str,
        ttl_seconds: int,
        client_id: str | None = None,
        result_url: str | None = None,
        identity_id: int | None = None,
        mark_email_verified: bool = False,
    ) -> IssuedTicket:
        now = self._clock.now()
        token = ids.opaque_token(32)
        ticket = Ticket(
            id=ids.opaque_token(12),
            token_hash=token_digest(token),
            purpose=purpose,
            user_id=user_id,
            identity_id=identity_id,
            client_id=client_id,
            result_url=result_url,
            mark_email_verified=mark_email_verified,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
            used_at=None,
        )
        db.add(ticket)
        await db.flush()
        return IssuedTicket(ticket=ticket, token=token)

    async def peek(self, db: AsyncSession, token: str | None, purpose: str) -> Ticket:
        """The live ticket for a token, without using it up."""
        if not token or len(token) > 256:
            raise TicketInvalid("This link is invalid or has expired.")
        ticket = await db.scalar(select(Ticket).where(Ticket.token_hash == token_digest(token)))
        if (
            ticket is None
            or ticket.purpose != purpose
            or ticket.used_at is not None
            or ticket.expires_at <= self._clock.now()
        ):
            raise TicketInvalid("This link is invalid or has expired.")
        return ticket

    async def consume(self, db: AsyncSession, token: str | None, purpose: str) -> Ticket:
        """Uses a ticket up. The conditional update makes a second, racing use fail."""
        ticket = await self.peek(db, token, purpose)
        result = await db.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id, Ticket.used_at.is_(None))
            .values(used_at=self._clock.now())
            .returning(Ticket.id)
        )
        if result.first() is None:
            raise TicketInvalid("This link is invalid or has expired.")
        return ticket

    async def invalidate_for_user(self, db: AsyncSession, user_id: str, purpose: str) -> None:
        await db.execute(
            update(Ticket)
            .where(Ticket.user_id == user_id, Ticket.purpose == purpose, Ticket.used_at.is_(None))
            .values(used_at=self._clock.now())
        )
