"""Use cases on log streams: create, change, delete, list, and their delivery status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock, iso
from identa.core.errors import NotFound
from identa.core.ids import random_alnum
from identa.events.streams import config
from identa.events.streams.config import InvalidStreamConfig
from identa.events.streams.models import ACTIVE, DeadLetter, LogStream
from identa.events.streams.sinks import missing_extra
from identa.events.streams.store import StreamStore


class StreamNotFound(NotFound):
    code = "inexistent_log_stream"


@dataclass(frozen=True)
class Delivery:
    """Where a stream stands: what it delivered, how far behind it is, what went wrong."""

    cursor: int
    last_delivered_id: str | None
    last_delivered_at: datetime | None
    delivered: int
    lag: int
    lag_seconds: float | None
    failures: int
    total_failures: int
    dead_letters: int
    last_error: str | None
    last_error_at: datetime | None
    next_attempt_at: datetime | None
    worker: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "last_delivered_id": self.last_delivered_id,
            "last_delivered_at": iso(self.last_delivered_at),
            "delivered": self.delivered,
            "lag": self.lag,
            "lag_seconds": self.lag_seconds,
            "failures": self.failures,
            "total_failures": self.total_failures,
            "dead_letters": self.dead_letters,
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "next_attempt_at": iso(self.next_attempt_at),
            "worker": self.worker,
        }


def stream_to_dict(stream: LogStream) -> dict[str, Any]:
    """Auth0's LogStream object."""
    sink = dict(stream.sink or {})
    if stream.type == "http":
        sink.setdefault("httpSigningSecret", stream.signing_secret)
    return {
        "id": stream.id,
        "name": stream.name,
        "type": stream.type,
        "status": stream.status,
        "isPriority": False,
        "filters": list(stream.filters or []),
        "sink": sink,
    }


def dead_letter_to_dict(row: DeadLetter) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "topic": row.topic,
        "outbox_id": row.outbox_id,
        "attempts": row.attempts,
        "error": row.error,
        "created_at": iso(row.created_at),
        "event": {"log_id": row.event_id, "data": row.payload},
    }


def _usable(type_: str) -> None:
    problem = missing_extra(type_)
    if problem is not None:
        raise InvalidStreamConfig(f"Payload validation error: {problem}.")


class StreamService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def all(self, session: AsyncSession) -> list[LogStream]:
        return list(await StreamStore(session).all())

    async def get(self, session: AsyncSession, stream_id: str) -> LogStream:
        stream = await StreamStore(session).get(stream_id) if len(stream_id) <= 32 else None
        if stream is None:
            raise StreamNotFound("The log stream does not exist.")
        return stream

    async def create(
        self,
        session: AsyncSession,
        *,
        name: Any,
        type_: Any,
        sink: Any,
        filters: Any = None,
        status: Any = None,
        start_from: Any = None,
    ) -> LogStream:
        """A new stream; it starts with the events written from now on, unless `start_from`
        is "earliest" (every event still in the outbox) or an event id to resume after."""
        kind = config.check_type(type_)
        checked_sink = config.check_sink(kind, sink)
        _usable(kind)
        store = StreamStore(session)
        if start_from in (None, "now"):
            cursor = await store.outbox_head()
        elif start_from == "earliest":
            cursor = 0
        elif isinstance(start_from, str) and (found := await store.outbox_id_of(start_from)):
            cursor = found
        else:
            raise InvalidStreamConfig(
                'Payload validation error: \'startFrom\' is "now", "earliest" or the id of '
                "an event still waiting in the outbox."
            )
        now = self._clock.now()
        stream = LogStream(
            id="lst_" + random_alnum(16),
            name=config.check_name(name),
            type=kind,
            status=config.check_status(status) if status is not None else ACTIVE,
            sink=checked_sink,
            filters=config.check_filters(filters),
            signing_secret=str(checked_sink.pop("httpSigningSecret", None))
            if checked_sink.get("httpSigningSecret")
            else config.new_signing_secret(),
            created_at=now,
            updated_at=now,
            cursor=cursor,
            delivered_count=0,
            failures=0,
            total_failures=0,
        )
        store.add(stream)
        await session.flush()
        return stream

    async def update(
        self, session: AsyncSession, stream: LogStream, changes: dict[str, Any]
    ) -> LogStream:
        """Auth0's PATCH: name, status, filters, and sink keys (merged into the sink)."""
        if "name" in changes:
            stream.name = config.check_name(changes["name"])
        if "filters" in changes:
            stream.filters = config.check_filters(changes["filters"])
        if "sink" in changes:
            if not isinstance(changes["sink"], dict):
                raise InvalidStreamConfig("Payload validation error: 'sink' must be an object.")
            merged = {**(stream.sink or {}), **changes["sink"]}
            secret = merged.pop("httpSigningSecret", None)
            checked = config.check_sink(stream.type, merged)
            if secret is not None and stream.type == "http":
                config.check_sink("http", {**checked, "httpSigningSecret": secret})
                stream.signing_secret = str(secret)
            stream.sink = checked
        if "status" in changes:
            status = config.check_status(changes["status"])
            if status == ACTIVE and stream.status != ACTIVE:
                # Resumed by hand: a fresh start for the retries, from where it stopped.
                stream.failures = 0
                stream.next_attempt_at = None
            stream.status = status
        stream.updated_at = self._clock.now()
        await session.flush()
        return stream

    async def delete(self, session: AsyncSession, stream: LogStream) -> None:
        await StreamStore(session).delete(stream)
        await session.flush()

    async def delivery(self, session: AsyncSession, stream: LogStream) -> Delivery:
        store = StreamStore(session)
        lag, oldest = await store.pending(stream.cursor)
        now = self._clock.now()
        leased = stream.lease_owner if stream.lease_until and stream.lease_until > now else None
        return Delivery(
            cursor=stream.cursor,
            last_delivered_id=stream.last_delivered_event_id,
            last_delivered_at=stream.last_delivered_at,
            delivered=stream.delivered_count,
            lag=lag,
            lag_seconds=round((now - oldest).total_seconds(), 3) if oldest else 0.0,
            failures=stream.failures,
            total_failures=stream.total_failures,
            dead_letters=await store.dead_letter_count(stream.id),
            last_error=stream.last_error,
            last_error_at=stream.last_error_at,
            next_attempt_at=stream.next_attempt_at,
            worker=leased,
        )

    async def dead_letters(
        self, session: AsyncSession, stream: LogStream, *, offset: int = 0, limit: int = 50
    ) -> list[DeadLetter]:
        return list(await StreamStore(session).dead_letters(stream.id, offset=offset, limit=limit))
