"""Delivers the outbox to every active stream, at least once, in order, with retries.

How it holds together:

* Each stream has its own cursor (the id of the last outbox message it handled), so streams
  move independently over the one shared outbox, and a new stream starts where the outbox is.
* A stream's row is its lease: a worker delivers to a stream only after an atomic conditional
  UPDATE made it the holder (free, its own, or expired). Every cursor move is fenced by
  `lease_owner = me`, so a worker that lost its lease cannot move the cursor; and the lease is
  renewed with each batch. Works the same on SQLite and PostgreSQL, across processes.
* Order: a stream reads in outbox id order and delivers one batch at a time, so each user's
  events (and everyone's) arrive in the order they were written. On PostgreSQL ids are handed
  out before commit, so a hole in the ids may be a transaction still running: the stream waits
  at the hole until every transaction running when it was first seen has ended (and
  `gap_grace_seconds` have passed); only then is it taken for a rollback and skipped.
* Failures: a failed batch is retried with exponential backoff (`backoff_base_seconds` * 2^n,
  capped, with jitter); after `max_attempts` it is copied to the dead letters, the cursor moves
  past it and the stream is suspended until someone sets it active again.
* Retention: log events older than `log_retention_days` are purged, and outbox messages every
  stream is past are trimmed, by whichever worker runs (both are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identa.core.clock import Clock
from identa.events.models import OutboxMessage
from identa.events.streams.config import matcher
from identa.events.streams.models import ACTIVE, SUSPENDED, DeadLetter, LogStream
from identa.events.streams.sinks import Outgoing, Sink, SinkContext, SinkError, build_sink, describe
from identa.events.streams.store import StreamStore
from identa.settings import StreamSettings

log = logging.getLogger("identa.streams")

# One pass over a stream stops after this long, so that its lease is given back now and then.
PASS_SECONDS = 5.0


class Outcome(Enum):
    IDLE = "idle"  # nothing to do (or someone else is doing it)
    MORE = "more"  # delivered, and there is more right now
    FAILED = "failed"  # the sink failed; retried after the backoff
    GONE = "gone"  # the stream is deleted, paused or suspended


@dataclass
class _Gap:
    after: int  # the cursor position the hole follows
    seen_at: float  # time.monotonic() when first seen
    xmax: int  # PostgreSQL: first transaction id not yet given out when first seen


@dataclass
class _CachedSink:
    fingerprint: tuple[Any, ...]
    sink: Sink


def backoff(settings: StreamSettings, failures: int) -> float:
    """Seconds before the next attempt after `failures` consecutive failures (with jitter)."""
    delay = min(
        settings.backoff_base_seconds * 2 ** max(failures - 1, 0), settings.backoff_max_seconds
    )
    return float(delay) * random.uniform(0.8, 1.0)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Dispatcher:
    def __init__(
        self,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        settings: StreamSettings,
        streams_dir: Path,
        *,
        worker_id: str | None = None,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._settings = settings
        self._streams_dir = streams_dir
        self.worker_id = worker_id or default_worker_id()
        self._sinks: dict[str, _CachedSink] = {}
        self._gaps: dict[str, _Gap] = {}
        self._postgres: bool | None = None

    # -- one stream --------------------------------------------------------------------------

    async def deliver(self, stream_id: str) -> Outcome:
        """One pass over one stream: claim it, deliver batches until caught up (or for
        PASS_SECONDS, or until the sink fails), give it back."""
        stream = await self._claim(stream_id)
        if stream is None:
            return await self._why_not(stream_id)
        try:
            started = time.monotonic()
            while True:
                outcome = await self._batch(stream)
                if outcome is not Outcome.MORE:
                    return outcome
                if time.monotonic() - started > PASS_SECONDS:
                    return Outcome.MORE
                if not await self._renew(stream_id):
                    return Outcome.IDLE
        finally:
            await self._release(stream_id)

    async def _why_not(self, stream_id: str) -> Outcome:
        async with self._sessions() as db:
            status = await db.scalar(select(LogStream.status).where(LogStream.id == stream_id))
        if status != ACTIVE:
            await self._drop_sink(stream_id)
            return Outcome.GONE
        return Outcome.IDLE

    async def _claim(self, stream_id: str) -> LogStream | None:
        now = self._clock.now()
        async with self._sessions() as db, db.begin():
            # A cheap look first, so that an idle stream costs a read, not a write.
            row = (
                await db.execute(
                    select(LogStream.cursor, LogStream.status, LogStream.next_attempt_at).where(
                        LogStream.id == stream_id
                    )
                )
            ).one_or_none()
            if row is None or row.status != ACTIVE:
                return None
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                return None
            waiting = await db.scalar(
                select(OutboxMessage.id).where(OutboxMessage.id > row.cursor).limit(1)
            )
            if waiting is None:
                return None
            claimed = await db.execute(
                update(LogStream)
                .where(
                    LogStream.id == stream_id,
                    LogStream.status == ACTIVE,
                    or_(
                        LogStream.lease_owner.is_(None),
                        LogStream.lease_owner == self.worker_id,
                        LogStream.lease_until < now,
                    ),
                    or_(LogStream.next_attempt_at.is_(None), LogStream.next_attempt_at <= now),
                )
                .values(
                    lease_owner=self.worker_id,
                    lease_until=now + timedelta(seconds=self._settings.lease_seconds),
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            stream = await db.get(LogStream, stream_id)
            if stream is not None:
                db.expunge(stream)
            return stream

    async def _renew(self, stream_id: str) -> bool:
        now = self._clock.now()
        async with self._sessions() as db, db.begin():
            result = await db.execute(
                update(LogStream)
                .where(LogStream.id == stream_id, LogStream.lease_owner == self.worker_id)
                .values(lease_until=now + timedelta(seconds=self._settings.lease_seconds))
                .execution_options(synchronize_session=False)
            )
            return getattr(result, "rowcount", 0) == 1

    async def _release(self, stream_id: str) -> None:
        with contextlib.suppress(Exception):
            async with self._sessions() as db, db.begin():
                await db.execute(
                    update(LogStream)
                    .where(LogStream.id == stream_id, LogStream.lease_owner == self.worker_id)
                    .values(lease_owner=None, lease_until=None)
                    .execution_options(synchronize_session=False)
                )

    async def _batch(self, stream: LogStream) -> Outcome:
        rows = await self._read(stream)
        if not rows:
            return Outcome.IDLE
        wanted = matcher(stream.filters or [])
        events = [
            Outgoing(
                outbox_id=row.id,
                topic=row.topic,
                event_type=row.event_type,
                event_id=row.event_id,
                partition_key=row.partition_key,
                payload=row.payload,
            )
            for row in rows
            if wanted is None or row.event_type in wanted
        ]
        end = rows[-1].id
        if events:
            try:
                sink = await self._sink(stream)
                await asyncio.wait_for(
                    sink.send(events), self._settings.send_timeout_seconds * 5 + 5
                )
            except SinkError as exc:
                return await self._failed(stream, events, exc.delivered, exc.message, end)
            except Exception as exc:  # a timeout, or a bug in a client library
                return await self._failed(stream, events, 0, describe(exc), end)
        moved = await self._advance(stream, end, events)
        if not moved:
            return Outcome.IDLE
        return Outcome.MORE if len(rows) >= self._settings.batch_size else Outcome.IDLE

    async def _read(self, stream: LogStream) -> list[OutboxMessage]:
        async with self._sessions() as db:
            rows = list(
                (
                    await db.scalars(
                        select(OutboxMessage)
                        .where(OutboxMessage.id > stream.cursor)
                        .order_by(OutboxMessage.id)
                        .limit(self._settings.batch_size)
                    )
                ).all()
            )
            if not rows or not await self._is_postgres(db):
                # SQLite has one writer at a time: an id is visible only once committed, and
                # every smaller id before it, so there are no holes to wait for.
                return rows
            return await self._up_to_hole(db, stream, rows)

    async def _up_to_hole(
        self, db: AsyncSession, stream: LogStream, rows: list[OutboxMessage]
    ) -> list[OutboxMessage]:
        expected = stream.cursor + 1
        for index, row in enumerate(rows):
            if row.id == expected:
                expected += 1
                continue
            position = expected - 1  # the hole starts just after this id
            if not await self._hole_closed(db, stream.id, position):
                return rows[:index]
            expected = row.id + 1
        return rows

    async def _hole_closed(self, db: AsyncSession, stream_id: str, position: int) -> bool:
        snapshot = (
            await db.execute(
                text(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
                    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
                )
            )
        ).one()
        xmin, xmax = int(snapshot[0]), int(snapshot[1])
        gap = self._gaps.get(stream_id)
        if gap is None or gap.after != position:
            self._gaps[stream_id] = _Gap(position, time.monotonic(), xmax)
            return False
        if time.monotonic() - gap.seen_at < self._settings.gap_grace_seconds or xmin < gap.xmax:
            return False
        del self._gaps[stream_id]
        log.info("stream %s: skipping outbox ids after %s (rolled back)", stream_id, position)
        return True

    async def _is_postgres(self, db: AsyncSession) -> bool:
        if self._postgres is None:
            self._postgres = db.get_bind().dialect.name == "postgresql"
        return self._postgres

    async def _advance(self, stream: LogStream, end: int, events: Sequence[Outgoing]) -> bool:
        now = self._clock.now()
        values: dict[str, Any] = {
            "cursor": end,
            "failures": 0,
            "next_attempt_at": None,
            "lease_until": now + timedelta(seconds=self._settings.lease_seconds),
        }
        if events:
            values["last_delivered_event_id"] = events[-1].event_id
            values["last_delivered_at"] = now
            values["delivered_count"] = LogStream.delivered_count + len(events)
        async with self._sessions() as db, db.begin():
            result = await db.execute(
                update(LogStream)
                .where(LogStream.id == stream.id, LogStream.lease_owner == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if getattr(result, "rowcount", 0) != 1:
            log.warning("stream %s: lease lost; another worker carries on", stream.id)
            return False
        stream.cursor = end
        stream.failures = 0
        return True

    async def _failed(
        self,
        stream: LogStream,
        events: Sequence[Outgoing],
        delivered: int,
        error: str,
        end: int,
    ) -> Outcome:
        await self._drop_sink(stream.id)
        delivered = max(0, min(delivered, len(events)))
        done, pending = events[:delivered], events[delivered:]
        now = self._clock.now()
        failures = stream.failures + 1 if not done else 1
        values: dict[str, Any] = {
            "failures": failures,
            "total_failures": LogStream.total_failures + 1,
            "last_error": error[:2000],
            "last_error_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        if done:
            values["cursor"] = pending[0].outbox_id - 1
            values["last_delivered_event_id"] = done[-1].event_id
            values["last_delivered_at"] = now
            values["delivered_count"] = LogStream.delivered_count + len(done)
        give_up = failures >= self._settings.max_attempts
        if give_up:
            values["cursor"] = end
            values["status"] = SUSPENDED
            values["next_attempt_at"] = None
        else:
            values["next_attempt_at"] = now + timedelta(seconds=backoff(self._settings, failures))
        async with self._sessions() as db, db.begin():
            result = await db.execute(
                update(LogStream)
                .where(LogStream.id == stream.id, LogStream.lease_owner == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return Outcome.IDLE
            if give_up:
                for event in pending:
                    db.add(
                        DeadLetter(
                            stream_id=stream.id,
                            outbox_id=event.outbox_id,
                            event_id=event.event_id,
                            event_type=event.event_type,
                            topic=event.topic,
                            partition_key=event.partition_key,
                            payload=event.payload,
                            error=error[:2000],
                            attempts=failures,
                            created_at=now,
                        )
                    )
        if give_up:
            log.error(
                "stream %s (%s) suspended after %s failed attempts; %s event(s) dead-lettered: %s",
                stream.id,
                stream.name,
                failures,
                len(pending),
                error,
            )
            return Outcome.GONE
        log.warning(
            "stream %s (%s) delivery failed (attempt %s of %s), retrying: %s",
            stream.id,
            stream.name,
            failures,
            self._settings.max_attempts,
            error,
        )
        return Outcome.FAILED

    async def _sink(self, stream: LogStream) -> Sink:
        fingerprint = (
            stream.type,
            repr(sorted((stream.sink or {}).items())),
            stream.signing_secret,
        )
        cached = self._sinks.get(stream.id)
        if cached is not None and cached.fingerprint == fingerprint:
            return cached.sink
        await self._drop_sink(stream.id)
        sink = build_sink(
            stream.type,
            dict(stream.sink or {}),
            SinkContext(
                stream_id=stream.id,
                signing_secret=stream.signing_secret,
                streams_dir=self._streams_dir,
                timeout=self._settings.send_timeout_seconds,
            ),
        )
        self._sinks[stream.id] = _CachedSink(fingerprint, sink)
        return sink

    async def _drop_sink(self, stream_id: str) -> None:
        cached = self._sinks.pop(stream_id, None)
        if cached is not None:
            with contextlib.suppress(Exception):
                await cached.sink.close()

    # -- every stream ------------------------------------------------------------------------

    async def active_stream_ids(self) -> list[str]:
        async with self._sessions() as db:
            rows = await db.scalars(
                select(LogStream.id).where(LogStream.status == ACTIVE).order_by(LogStream.id)
            )
            return list(rows.all())

    async def deliver_all(self, *, rounds: int = 1000) -> None:
        """Delivers to every active stream until none has anything left it can deliver now
        (tests and `identa streams flush`)."""
        for _ in range(rounds):
            outcomes = [
                await self.deliver(stream_id) for stream_id in await self.active_stream_ids()
            ]
            if Outcome.MORE not in outcomes:
                return

    async def maintain(self, *, purge_logs: bool = True) -> tuple[int, int]:
        """Purges expired log events (with `purge_logs`) and trims the outbox; returns
        (log events purged, outbox messages trimmed)."""
        days = self._settings.log_retention_days
        cutoff = self._clock.now() - timedelta(days=days) if days else None
        purged = trimmed = 0
        async with self._sessions() as db, db.begin():
            store = StreamStore(db)
            if purge_logs and cutoff is not None:
                purged = await store.purge_log_events(cutoff)
            trimmed = await store.trim_outbox(cutoff)
        if purged or trimmed:
            log.info(
                "retention: %s log event(s) purged, %s outbox message(s) trimmed", purged, trimmed
            )
        return purged, trimmed

    async def run(self, stop: asyncio.Event) -> None:
        """The worker: one task per active stream, plus retention, until `stop` is set."""
        tasks: dict[str, asyncio.Task[None]] = {}
        last_purge = last_trim = float("-inf")
        try:
            while not stop.is_set():
                try:
                    for stream_id in await self.active_stream_ids():
                        task = tasks.get(stream_id)
                        if task is None or task.done():
                            tasks[stream_id] = asyncio.create_task(
                                self._stream_loop(stream_id, stop), name=f"stream-{stream_id}"
                            )
                    clock = time.monotonic()
                    if clock - last_trim >= self._settings.trim_interval_seconds:
                        purge = clock - last_purge >= self._settings.retention_interval_seconds
                        await self.maintain(purge_logs=purge)
                        last_trim = clock
                        if purge:
                            last_purge = clock
                except Exception:
                    log.exception("log stream dispatcher pass failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        stop.wait(), timeout=max(self._settings.poll_interval_seconds, 1.0)
                    )
        finally:
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            await self.close()

    async def _stream_loop(self, stream_id: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                outcome = await self.deliver(stream_id)
            except Exception:
                log.exception("stream %s: delivery pass failed", stream_id)
                outcome = Outcome.FAILED
            if outcome is Outcome.GONE:
                return
            if outcome is Outcome.MORE:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._settings.poll_interval_seconds)

    async def close(self) -> None:
        for stream_id in list(self._sinks):
            await self._drop_sink(stream_id)
