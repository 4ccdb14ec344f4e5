"""Queries on streams, their dead letters and the outbox they read; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.events.models import LogEvent, OutboxMessage
from identa.events.streams.models import DeadLetter, LogStream


class StreamStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, stream: LogStream) -> None:
        self._session.add(stream)

    async def get(self, stream_id: str) -> LogStream | None:
        return await self._session.get(LogStream, stream_id)

    async def all(self) -> Sequence[LogStream]:
        rows = await self._session.scalars(
            select(LogStream).order_by(LogStream.created_at, LogStream.id)
        )
        return rows.all()

    async def delete(self, stream: LogStream) -> None:
        await self._session.execute(delete(DeadLetter).where(DeadLetter.stream_id == stream.id))
        await self._session.delete(stream)

    async def outbox_head(self) -> int:
        """The id of the newest outbox message, 0 when there is none."""
        value = await self._session.scalar(select(func.max(OutboxMessage.id)))
        return int(value or 0)

    async def outbox_id_of(self, event_id: str) -> int | None:
        value = await self._session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.event_id == event_id)
        )
        return int(value) if value is not None else None

    async def pending(self, cursor: int) -> tuple[int, datetime | None]:
        """How many outbox messages lie past `cursor`, and when the oldest was written."""
        row = (
            await self._session.execute(
                select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.id > cursor
                )
            )
        ).one()
        oldest = row[1]
        if isinstance(oldest, str):  # SQLite returns the aggregate untyped
            oldest = datetime.fromisoformat(oldest)
        return int(row[0] or 0), oldest

    async def dead_letter_count(self, stream_id: str) -> int:
        value = await self._session.scalar(
            select(func.count(DeadLetter.id)).where(DeadLetter.stream_id == stream_id)
        )
        return int(value or 0)

    async def dead_letters(
        self, stream_id: str, *, offset: int = 0, limit: int = 50
    ) -> Sequence[DeadLetter]:
        rows = await self._session.scalars(
            select(DeadLetter)
            .where(DeadLetter.stream_id == stream_id)
            .order_by(DeadLetter.id)
            .offset(offset)
            .limit(limit)
        )
        return rows.all()

    async def purge_log_events(self, before: datetime) -> int:
        result = await self._session.execute(delete(LogEvent).where(LogEvent.date < before))
        return int(getattr(result, "rowcount", 0) or 0)

    async def trim_outbox(self, expired_before: datetime | None) -> int:
        """Deletes messages every stream is past (and, with `expired_before`, any older).

        The newest message always stays: on SQLite a deleted highest id would be handed out
        again, behind the streams' cursors.
        """
        head = await self.outbox_head()
        if head == 0:
            return 0
        lowest = await self._session.scalar(select(func.min(LogStream.cursor)))
        bound = head - 1 if lowest is None else min(int(lowest), head - 1)
        condition = OutboxMessage.id <= bound
        if expired_before is not None:
            condition = condition | (
                (OutboxMessage.created_at < expired_before) & (OutboxMessage.id < head)
            )
        result = await self._session.execute(delete(OutboxMessage).where(condition))
        return int(getattr(result, "rowcount", 0) or 0)
