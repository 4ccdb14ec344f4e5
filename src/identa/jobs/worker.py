"""Runs jobs in the background: claims a job with a lease, works through it chunk by chunk from
its checkpoint, and finishes it. Several workers (server processes, the CLI) may run at once: a
job belongs to whoever holds its lease, renewed with every chunk; a crashed worker's lease
expires and another one resumes the job where its last committed chunk left it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identa.connections.errors import ConnectionNotFound
from identa.connections.models import Connection
from identa.connections.service import ConnectionService, requires_username
from identa.core import ids
from identa.core.clock import Clock
from identa.core.context import SYSTEM
from identa.db.uow import UnitOfWork
from identa.events.catalog import LogType
from identa.events.service import EventRecorder, EventSubject
from identa.identity.validation import DEFAULT_USERNAME_MAX, DEFAULT_USERNAME_MIN
from identa.jobs import exporter
from identa.jobs.errors import LeaseLost
from identa.jobs.importer import RecordChecker, parse_users_file, write_chunk
from identa.jobs.models import (
    COMPLETED,
    FAILED,
    INPUT,
    OUTPUT,
    PROCESSING,
    USERS_EXPORT,
    USERS_IMPORT,
    Job,
)
from identa.jobs.records import RecordValidator
from identa.jobs.store import JobStore
from identa.settings import JobSettings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
CHUNK_RETRIES = 5
Progress = Callable[[Job], None]


class Stopped(Exception):
    """The worker was asked to stop (or to simulate a crash) between two chunks."""


class JobRunner:
    def __init__(
        self,
        *,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        settings: JobSettings,
        events: EventRecorder,
        connections: ConnectionService,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._settings = settings
        self._events = events
        self._connections = connections
        self.worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{ids.random_alnum(8)}"
        self._wake = asyncio.Event()

    # -- the loop --------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """The background worker: runs claimable jobs until `stop` is set."""
        last_cleanup: datetime | None = None
        while not stop.is_set():
            ran = False
            try:
                ran = await self.run_next(stop)
                now = self._clock.now()
                if last_cleanup is None or now - last_cleanup > timedelta(minutes=10):
                    await self.delete_expired()
                    last_cleanup = now
            except Exception:
                log.exception("jobs worker pass failed")
            if ran:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED),
                    timeout=self._settings.poll_interval_seconds,
                )
            for waiter in waiters:
                waiter.cancel()

    async def run_next(self, stop: asyncio.Event | None = None) -> bool:
        """Claims and runs one waiting job; False when there was none."""
        async with UnitOfWork(self._sessions) as uow:
            candidates = await JobStore(uow.session).runnable(self._clock.now())
        for job_id in candidates:
            if await self.claim(job_id):
                await self.process(job_id, stop=stop)
                return True
        return False

    async def claim(self, job_id: str) -> bool:
        now = self._clock.now()
        async with UnitOfWork(self._sessions) as uow:
            claimed = await JobStore(uow.session).claim(
                job_id, self.worker_id, now, self._lease(now)
            )
            await uow.commit()
        return claimed

    async def process(
        self,
        job_id: str,
        *,
        stop: asyncio.Event | None = None,
        on_progress: Progress | None = None,
        max_chunks: int | None = None,
    ) -> None:
        """Runs a job this worker has claimed. `max_chunks` stops after that many chunks
        without releasing the lease, as a crash would (for tests)."""
        try:
            async with UnitOfWork(self._sessions) as uow:
                job = await JobStore(uow.session).get(job_id)
            if job is None:
                return
            if job.type == USERS_IMPORT:
                await self._run_import(job, stop, on_progress, max_chunks)
            elif job.type == USERS_EXPORT:
                await self._run_export(job, stop, on_progress, max_chunks)
        except Stopped:
            if max_chunks is None:
                await self._release(job_id)
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job_id)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            await self._failed_attempt(job_id, f"{type(exc).__name__}: {exc}")

    # -- imports ---------------------------------------------------------------------------

    async def _run_import(
        self,
        job: Job,
        stop: asyncio.Event | None,
        on_progress: Progress | None,
        max_chunks: int | None,
    ) -> None:
        async with UnitOfWork(self._sessions) as uow:
            db = uow.session
            try:
                connection = await self._connections.by_id(db, job.connection_id or "")
            except ConnectionNotFound:
                connection = None
            store = JobStore(db)
            data = b"".join(
                [
                    await store.blob(job.id, INPUT, seq) or b""
                    for seq in await store.blob_seqs(job.id, INPUT)
                ]
            )
        if connection is None:
            await self._finish(
                job.id, FAILED, "The connection does not exist (CONNECTION_NOT_FOUND)."
            )
            return
        records = await asyncio.to_thread(parse_users_file, data)
        validator = RecordValidator(
            requires_username=requires_username(connection),
            username_min=_bound(connection, "min", DEFAULT_USERNAME_MIN),
            username_max=_bound(connection, "max", DEFAULT_USERNAME_MAX),
        )
        checker = RecordChecker(validator)
        start, chunks = job.processed, 0
        if start:
            # Resuming: the records already written still count for the repeats in the file.
            await asyncio.to_thread(checker.check, records[:start])
        size = self._settings.import_chunk_size
        while start < len(records):
            self._checkpoint_reached(stop, chunks, max_chunks)
            end = min(start + size, len(records))
            # Not ahead of the writes in a thread: that thread holding the GIL would slow the
            # event loop's database round trips more than it gains.
            checked = await asyncio.to_thread(checker.check, records[start:end])
            for attempt in range(CHUNK_RETRIES):
                try:
                    job = await self._import_chunk(job, connection, records, checked, start)
                    break
                except (IntegrityError, OperationalError):
                    # A concurrent sign-up took an e-mail or username between our check and our
                    # insert (or the database was busy): the chunk rolled back whole; redo it.
                    if attempt == CHUNK_RETRIES - 1:
                        raise
                    await asyncio.sleep(0.05 * (attempt + 1))
            start, chunks = end, chunks + 1
            if on_progress:
                on_progress(job)
        await self._finish(job.id, COMPLETED, None)

    async def _import_chunk(
        self,
        job: Job,
        connection: Connection,
        records: list[Any],
        checked: list[Any],
        start: int,
    ) -> Job:
        end = start + len(checked)
        now = self._clock.now()
        async with UnitOfWork(self._sessions) as uow:
            db = uow.session
            store = JobStore(db)
            if not await store.renew(job.id, self.worker_id, now, self._lease(now)):
                raise LeaseLost("lease lost")
            result = await write_chunk(
                db,
                connection,
                upsert=job.upsert,
                start=start,
                raw=records[start:end],
                checked=checked,
                now=now,
            )
            await store.add_errors(job.id, result.refused)
            await db.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status=PROCESSING,
                    started_at=func.coalesce(Job.started_at, now),
                    processed=end,
                    inserted=Job.inserted + result.inserted,
                    updated=Job.updated + result.updated,
                    failed=Job.failed + len(result.refused),
                )
                .execution_options(synchronize_session=False)
            )
            fresh = await store.fresh(job.id)
            await uow.commit()
        assert fresh is not None
        return fresh

    # -- exports ---------------------------------------------------------------------------

    async def _run_export(
        self,
        job: Job,
        stop: asyncio.Event | None,
        on_progress: Progress | None,
        max_chunks: int | None,
    ) -> None:
        fields = list(job.fields or [])
        fmt = job.format or "json"
        chunks = 0
        if job.started_at is None:
            job = await self._start_export(job, fmt, fields)
        size = self._settings.export_chunk_size
        while True:
            remaining = (job.export_limit - job.processed) if job.export_limit else size
            if remaining <= 0:
                break
            self._checkpoint_reached(stop, chunks, max_chunks)
            want = min(size, remaining)
            now = self._clock.now()
            async with UnitOfWork(self._sessions) as uow:
                db = uow.session
                store = JobStore(db)
                if not await store.renew(job.id, self.worker_id, now, self._lease(now)):
                    raise LeaseLost("lease lost")
                row = await store.fresh(job.id)
                assert row is not None
                users = await exporter.next_users(db, row.connection_id, row.cursor, want)
                if users:
                    piece = await asyncio.to_thread(_render_piece, users, fmt, fields)
                    await store.add_blobs(row.id, OUTPUT, row.parts, [piece])
                    row.processed += len(users)
                    row.cursor = users[-1].user_id
                    row.parts += 1
                    row.updated_at = now
                    await db.flush()
                await uow.commit()
            job = row
            chunks += 1
            if on_progress:
                on_progress(job)
            if len(users) < want:
                break
        await self._finish(job.id, COMPLETED, None)

    async def _start_export(self, job: Job, fmt: str, fields: list[dict[str, str]]) -> Job:
        now = self._clock.now()
        async with UnitOfWork(self._sessions) as uow:
            db = uow.session
            store = JobStore(db)
            if not await store.renew(job.id, self.worker_id, now, self._lease(now)):
                raise LeaseLost("lease lost")
            row = await store.fresh(job.id)
            assert row is not None
            total = await exporter.count_users(db, row.connection_id)
            row.total = min(total, row.export_limit) if row.export_limit else total
            row.status, row.started_at = PROCESSING, now
            if fmt == "csv":
                await store.add_blobs(
                    row.id, OUTPUT, 0, [exporter.compress(exporter.csv_header(fields))]
                )
                row.parts = 1
            await db.flush()
            await uow.commit()
        return row

    # -- endings ---------------------------------------------------------------------------

    async def _finish(self, job_id: str, status: str, details: str | None) -> None:
        now = self._clock.now()
        async with UnitOfWork(self._sessions) as uow:
            db = uow.session
            job = await JobStore(db).fresh(job_id)
            if job is None:
                return
            job.status, job.status_details = status, details
            job.finished_at = job.updated_at = now
            job.locked_by, job.locked_until = None, None
            if job.type == USERS_IMPORT:
                self._record_import_event(db, job)
            await uow.commit()

    def _record_import_event(self, db: AsyncSession, job: Job) -> None:
        ok = job.status == COMPLETED
        summary = {"failed": job.failed, "updated": job.updated, "inserted": job.inserted,
                   "total": job.total}  # fmt: skip
        self._events.record(
            db,
            LogType.SUCCESS_USERS_IMPORT if ok else LogType.FAILED_USERS_IMPORT,
            subject=EventSubject(
                client_id=job.client_id,
                connection=job.connection_name,
                connection_id=job.connection_id,
                strategy="auth0",
            ),
            request=SYSTEM,
            description=(
                f"Imported users: {job.inserted} inserted, {job.updated} updated, "
                f"{job.failed} failed."
                if ok
                else f"Users import failed: {job.status_details or 'unknown error'}"
            ),
            details={"job_id": job.id, "external_id": job.external_id, "summary": summary},
        )

    async def _release(self, job_id: str) -> None:
        async with UnitOfWork(self._sessions) as uow:
            await uow.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.locked_by == self.worker_id)
                .values(locked_by=None, locked_until=None, attempts=Job.attempts - 1)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()

    async def _failed_attempt(self, job_id: str, reason: str) -> None:
        async with UnitOfWork(self._sessions) as uow:
            job = await JobStore(uow.session).fresh(job_id)
            give_up = job is not None and job.attempts >= MAX_ATTEMPTS
            if job is not None and not give_up:
                job.locked_by, job.locked_until = None, None
                job.status_details = reason[:2000]
                await uow.commit()
        if give_up:
            await self._finish(job_id, FAILED, reason[:2000])

    async def delete_expired(self) -> int:
        before = self._clock.now() - timedelta(seconds=self._settings.retention_seconds)
        async with UnitOfWork(self._sessions) as uow:
            deleted = await JobStore(uow.session).delete_finished_before(before)
            await uow.commit()
        return deleted

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self._settings.lease_seconds)

    def _checkpoint_reached(
        self, stop: asyncio.Event | None, chunks: int, max_chunks: int | None
    ) -> None:
        if (stop is not None and stop.is_set()) or (
            max_chunks is not None and chunks >= max_chunks
        ):
            raise Stopped()


def _render_piece(users: list[Any], fmt: str, fields: list[dict[str, str]]) -> bytes:
    return exporter.compress(exporter.render(users, fmt, fields))


def _bound(connection: Connection, key: str, default: int) -> int:
    validation = (connection.options or {}).get("validation") or {}
    bounds = validation.get("username") if isinstance(validation, dict) else None
    value = bounds.get(key) if isinstance(bounds, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else default
