"""Queue an e-mail inside the caller's transaction; a courier sends what is due, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identa.core.clock import Clock
from identa.notify.models import MailMessage
from identa.notify.providers import MailProvider, OutgoingMail

log = logging.getLogger("identa.mail")

MAX_ATTEMPTS = 8
PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text_body: str
    html_body: str | None


class MailRenderer(Protocol):
    """Turns a template name and its variables into a message (the hosted pages provide it)."""

    def render(self, template: str, context: dict[str, Any]) -> RenderedMail: ...


class Notifier:
    def __init__(self, clock: Clock, renderer: MailRenderer) -> None:
        self._clock = clock
        self._renderer = renderer

    def enqueue(
        self, db: AsyncSession, *, template: str, recipient: str, context: dict[str, Any]
    ) -> MailMessage:
        rendered = self._renderer.render(template, context)
        now = self._clock.now()
        message = MailMessage(
            template=template,
            recipient=recipient,
            subject=rendered.subject,
            text_body=rendered.text_body,
            html_body=rendered.html_body,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        db.add(message)
        return message


class Courier:
    """Sends queued mail. Several may run: on PostgreSQL rows are claimed with SKIP LOCKED."""

    def __init__(
        self,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        provider: MailProvider,
        sender: str,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._provider = provider
        self._sender = sender

    async def deliver_due(self, limit: int = 50) -> int:
        """Sends every due message once; returns how many were sent."""
        sent = 0
        async with self._sessions() as db, db.begin():
            query = (
                select(MailMessage)
                .where(
                    MailMessage.status == PENDING, MailMessage.next_attempt_at <= self._clock.now()
                )
                .order_by(MailMessage.id)
                .limit(limit)
            )
            if db.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for message in (await db.scalars(query)).all():
                try:
                    await self._provider.send(
                        OutgoingMail(
                            sender=self._sender,
                            recipient=message.recipient,
                            subject=message.subject,
                            text_body=message.text_body,
                            html_body=message.html_body,
                        )
                    )
                except Exception as exc:  # any provider failure is retried later
                    message.attempts += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if message.attempts >= MAX_ATTEMPTS:
                        message.status = FAILED
                        log.error(
                            "giving up on email %s to %s: %s", message.id, message.recipient, exc
                        )
                    else:
                        delay = min(2**message.attempts, 3600)
                        message.next_attempt_at = self._clock.now() + timedelta(seconds=delay)
                        log.warning(
                            "email %s to %s failed, retrying in %ss: %s",
                            message.id,
                            message.recipient,
                            delay,
                            exc,
                        )
                    continue
                message.attempts += 1
                message.status = SENT
                message.sent_at = self._clock.now()
                sent += 1
        return sent

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("mail courier pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
