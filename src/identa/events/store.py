"""Appends log events and outbox messages; never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.events.models import LogEvent, OutboxMessage


class EventStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, event: LogEvent, message: OutboxMessage) -> None:
        self._session.add(event)
        self._session.add(message)

    async def for_user(self, user_id: str, limit: int = 100) -> Sequence[LogEvent]:
        rows = await self._session.scalars(
            select(LogEvent)
            .where(LogEvent.user_id == user_id)
            .order_by(LogEvent.log_id.desc())
            .limit(limit)
        )
        return rows.all()

    async def recent(self, limit: int = 100) -> Sequence[LogEvent]:
        rows = await self._session.scalars(
            select(LogEvent).order_by(LogEvent.log_id.desc()).limit(limit)
        )
        return rows.all()
