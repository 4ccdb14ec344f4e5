"""Bulk jobs: the use cases the Management API, the CLI and benchmarks call.

Creating a job stores it (and an import's file) in the caller's unit of work; the background
worker (`run`, started by the server, or `run_until_done` from the CLI) does the work.

    async with container.unit_of_work() as uow:
        job = await container.jobs.create_import(uow.session, connection=conn, data=raw_json)
        await uow.commit()
    job = await container.jobs.run_until_done(job.id)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identa.connections.models import Connection
from identa.connections.service import ConnectionService, is_database
from identa.core import ids
from identa.core.clock import Clock, iso
from identa.core.errors import InvalidInput
from identa.db.uow import UnitOfWork
from identa.events.service import EventRecorder
from identa.jobs import exporter
from identa.jobs.errors import ImportFileTooLarge, JobNotFound
from identa.jobs.importer import parse_users_file, split_pieces
from identa.jobs.links import ExportLinks
from identa.jobs.models import (
    COMPLETED,
    FAILED,
    INPUT,
    OUTPUT,
    PENDING,
    PROCESSING,
    USERS_EXPORT,
    USERS_IMPORT,
    VERIFICATION_EMAIL,
    Job,
)
from identa.jobs.store import JobStore
from identa.jobs.worker import JobRunner, Progress
from identa.settings import JobSettings

# Parsing a file this large would hold the event loop for a noticeable time: use a thread.
_THREAD_PARSE_BYTES = 256 * 1024


def new_job_id() -> str:
    return "job_" + ids.random_alnum(16)


class JobService:
    def __init__(
        self,
        *,
        clock: Clock,
        sessions: async_sessionmaker[AsyncSession],
        settings: JobSettings,
        events: EventRecorder,
        connections: ConnectionService,
        links: ExportLinks,
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self.settings = settings
        self.links = links
        self.runner = JobRunner(
            clock=clock,
            sessions=sessions,
            settings=settings,
            events=events,
            connections=connections,
        )

    # -- creating jobs ---------------------------------------------------------------------

    async def create_import(
        self,
        db: AsyncSession,
        *,
        connection: Connection,
        data: bytes,
        upsert: bool = False,
        external_id: str | None = None,
        send_completion_email: bool = True,
        client_id: str | None = None,
    ) -> Job:
        """Stores an import job and its file. Raises ImportFileTooLarge, InvalidImportFile
        (not JSON, not an array) or InvalidInput (not a database connection)."""
        if len(data) > self.settings.import_max_bytes:
            raise ImportFileTooLarge(
                f"Payload content length greater than maximum allowed: "
                f"{self.settings.import_max_bytes}"
            )
        if not is_database(connection):
            raise InvalidInput("Users can only be imported into database connections.")
        if len(data) > _THREAD_PARSE_BYTES:
            records = await asyncio.to_thread(parse_users_file, data)
        else:
            records = parse_users_file(data)
        job = self._new(USERS_IMPORT, connection, client_id)
        job.upsert = upsert
        job.external_id = external_id
        job.send_completion_email = send_completion_email
        job.total = len(records)
        store = JobStore(db)
        store.add(job)
        await db.flush()
        await store.add_blobs(job.id, INPUT, 0, split_pieces(data))
        return job

    async def create_export(
        self,
        db: AsyncSession,
        *,
        connection: Connection | None,
        format: str = "json",
        limit: int | None = None,
        fields: Any = None,
        client_id: str | None = None,
    ) -> Job:
        """Stores an export job. Raises InvalidExportRequest for a bad format or fields."""
        checked = exporter.check_fields(fields, format)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidInput("limit must be a positive integer", field="limit")
        job = self._new(USERS_EXPORT, connection, client_id)
        job.format = format
        job.export_limit = limit
        job.fields = checked
        JobStore(db).add(job)
        await db.flush()
        return job

    async def record_verification_email(
        self, db: AsyncSession, *, client_id: str | None, connection: Connection | None = None
    ) -> Job:
        """The job Auth0 returns for POST /jobs/verification-email: sent at once, so completed."""
        job = self._new(VERIFICATION_EMAIL, connection, client_id)
        job.status = COMPLETED
        job.finished_at = job.created_at
        JobStore(db).add(job)
        await db.flush()
        return job

    def _new(self, type_: str, connection: Connection | None, client_id: str | None) -> Job:
        now = self._clock.now()
        return Job(
            id=new_job_id(),
            type=type_,
            status=PENDING,
            connection_id=connection.id if connection else None,
            connection_name=connection.name if connection else None,
            client_id=client_id,
            upsert=False,
            send_completion_email=False,
            total=0,
            processed=0,
            inserted=0,
            updated=0,
            failed=0,
            parts=0,
            attempts=0,
            created_at=now,
            updated_at=now,
        )

    # -- reading jobs ----------------------------------------------------------------------

    async def get(self, db: AsyncSession, job_id: str) -> Job:
        job = await JobStore(db).get(job_id) if len(job_id) <= 32 else None
        if job is None:
            raise JobNotFound("The job does not exist.", job_id=job_id)
        return job

    async def import_errors(self, db: AsyncSession, job: Job) -> list[dict[str, Any]]:
        """Auth0's [{user, errors:[{code, message, path}]}] for the records an import refused."""
        rows = await JobStore(db).errors(job.id)
        return [{"user": row.record, "errors": row.errors} for row in rows]

    def describe(self, job: Job) -> dict[str, Any]:
        """Auth0's job object."""
        out: dict[str, Any] = {
            "type": job.type,
            "status": job.status,
            "id": job.id,
            "created_at": iso(job.created_at),
            "connection_id": job.connection_id,
            "connection": job.connection_name,
        }
        if job.type == VERIFICATION_EMAIL:
            return {k: v for k, v in out.items() if v is not None}
        if job.type == USERS_IMPORT:
            out["external_id"] = job.external_id
            out["upsert"] = job.upsert
            if job.status in (COMPLETED, FAILED):
                out["summary"] = {
                    "failed": job.failed,
                    "updated": job.updated,
                    "inserted": job.inserted,
                    "total": job.total,
                }
        else:
            out["format"] = job.format
            out["limit"] = job.export_limit
            out["fields"] = job.fields or None
            if job.status == COMPLETED:
                out["location"] = self.links.url(
                    job.id, self.export_filename(job), self._clock.now()
                )
        if job.status in (PENDING, PROCESSING):
            out["percentage_done"] = self.percentage(job)
            out["time_left_seconds"] = self.time_left_seconds(job)
        if job.status == FAILED:
            out["status_details"] = job.status_details
        return {k: v for k, v in out.items() if v is not None}

    def percentage(self, job: Job) -> int:
        if job.status == COMPLETED:
            return 100
        if not job.total:
            return 0
        return min(100, job.processed * 100 // job.total)

    def time_left_seconds(self, job: Job) -> int:
        if job.started_at is None or job.processed <= 0 or job.total <= job.processed:
            return 0
        elapsed = (self._clock.now() - job.started_at).total_seconds()
        return max(0, round(elapsed / job.processed * (job.total - job.processed)))

    # -- export downloads ------------------------------------------------------------------

    def export_filename(self, job: Job) -> str:
        return f"{job.id}.{job.format or 'json'}.gz"

    def download_allowed(self, job_id: str, expires: str | None, signature: str | None) -> bool:
        return self.links.check(job_id, expires, signature, self._clock.now())

    async def export_pieces(self, job_id: str) -> AsyncIterator[bytes]:
        """The finished export as gzip pieces, read one at a time (each its own transaction)."""
        async with UnitOfWork(self._sessions) as uow:
            job = await JobStore(uow.session).get(job_id)
            if job is None or job.type != USERS_EXPORT or job.status != COMPLETED:
                raise JobNotFound("The export does not exist.", job_id=job_id)
            seqs = await JobStore(uow.session).blob_seqs(job_id, OUTPUT)
        return self._pieces(job_id, seqs)

    async def _pieces(self, job_id: str, seqs: list[int]) -> AsyncIterator[bytes]:
        for seq in seqs:
            async with UnitOfWork(self._sessions) as uow:
                piece = await JobStore(uow.session).blob(job_id, OUTPUT, seq)
            if piece:
                yield piece

    # -- running ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Tells the background worker a job is waiting."""
        self.runner.wake()

    async def run(self, stop: asyncio.Event) -> None:
        await self.runner.run(stop)

    async def run_until_done(
        self,
        job_id: str,
        *,
        on_progress: Progress | None = None,
        poll_seconds: float = 0.5,
    ) -> Job:
        """Runs the job in this process (or, when another worker holds it, waits for it)."""
        while True:
            async with UnitOfWork(self._sessions) as uow:
                job = await self.get(uow.session, job_id)
            if job.status in (COMPLETED, FAILED):
                return job
            if await self.runner.claim(job_id):
                await self.runner.process(job_id, on_progress=on_progress)
                continue
            if on_progress:
                on_progress(job)
            await asyncio.sleep(poll_seconds)
