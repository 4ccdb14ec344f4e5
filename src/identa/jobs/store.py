"""Queries on jobs, their stored files and their import errors. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identa.jobs.models import RUNNABLE, Job, JobBlob, JobError

ERRORS = cast(Table, JobError.__table__)
BLOBS = cast(Table, JobBlob.__table__)


class JobStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, job: Job) -> None:
        self._session.add(job)

    async def get(self, job_id: str) -> Job | None:
        return await self._session.get(Job, job_id)

    async def fresh(self, job_id: str) -> Job | None:
        """The job as the database has it now (not a copy the session already holds)."""
        return await self._session.get(Job, job_id, populate_existing=True)

    async def add_blobs(self, job_id: str, kind: str, first_seq: int, pieces: list[bytes]) -> None:
        if pieces:
            await self._session.execute(
                insert(BLOBS),
                [
                    {"job_id": job_id, "kind": kind, "seq": first_seq + index, "data": piece}
                    for index, piece in enumerate(pieces)
                ],
            )

    async def blob_seqs(self, job_id: str, kind: str) -> list[int]:
        rows = await self._session.scalars(
            select(JobBlob.seq)
            .where(JobBlob.job_id == job_id, JobBlob.kind == kind)
            .order_by(JobBlob.seq)
        )
        return list(rows.all())

    async def blob(self, job_id: str, kind: str, seq: int) -> bytes | None:
        return await self._session.scalar(
            select(JobBlob.data).where(
                JobBlob.job_id == job_id, JobBlob.kind == kind, JobBlob.seq == seq
            )
        )

    async def add_errors(
        self, job_id: str, rows: list[tuple[int, Any, list[dict[str, str]]]]
    ) -> None:
        if rows:
            await self._session.execute(
                insert(ERRORS),
                [
                    {"job_id": job_id, "position": position, "record": record, "errors": errors}
                    for position, record, errors in rows
                ],
            )

    async def errors(self, job_id: str) -> Sequence[JobError]:
        rows = await self._session.scalars(
            select(JobError).where(JobError.job_id == job_id).order_by(JobError.position)
        )
        return rows.all()

    async def runnable(self, now: datetime, limit: int = 10) -> list[str]:
        """Jobs waiting for a worker: pending, or processing with an expired lease."""
        rows = await self._session.scalars(
            select(Job.id)
            .where(
                Job.status.in_(RUNNABLE),
                or_(Job.locked_until.is_(None), Job.locked_until < now),
            )
            .order_by(Job.created_at, Job.id)
            .limit(limit)
        )
        return list(rows.all())

    async def claim(self, job_id: str, worker: str, now: datetime, until: datetime) -> bool:
        """Takes the job's lease if it is free or expired (one atomic conditional update)."""
        result = await self._session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.status.in_(RUNNABLE),
                or_(Job.locked_until.is_(None), Job.locked_until < now, Job.locked_by == worker),
            )
            .values(locked_by=worker, locked_until=until, attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def renew(self, job_id: str, worker: str, now: datetime, until: datetime) -> bool:
        """Extends the lease; False when another worker has taken the job over."""
        result = await self._session.execute(
            update(Job)
            .where(Job.id == job_id, Job.locked_by == worker)
            .values(locked_until=until, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def delete_finished_before(self, before: datetime) -> int:
        result = await self._session.execute(
            delete(Job)
            .where(Job.finished_at.is_not(None), Job.finished_at < before)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount
