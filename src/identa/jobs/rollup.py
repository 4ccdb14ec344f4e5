"""The analytics rollup job: roll up new log events, store each segment's count for the day.
Run it from cron (`identa analytics rollup`); the analytics endpoints also catch up on read."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from identa.analytics import rollups, segments
from identa.core.clock import Clock
from identa.db.uow import UnitOfWork


async def run_rollups(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> tuple[int, int]:
    """(events rolled up, segments counted)."""
    async with UnitOfWork(sessions) as uow:
        events = await rollups.catch_up(uow.session, clock.now())
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        counted = await segments.snapshot(uow.session, clock.now())
        await uow.commit()
    return events, counted


async def rebuild_rollups(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Catches up, then recomputes every counter from the login facts. Returns events added."""
    async with UnitOfWork(sessions) as uow:
        events = await rollups.catch_up(uow.session, clock.now())
        await rollups.rebuild(uow.session, clock.now())
        await uow.commit()
    return events
