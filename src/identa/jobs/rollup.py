"""The analytics rollup job: roll up new log events, store each segment's count for the day.
Run it from cron (`identa analytics rollup`); the analytics endpoints also catch up on read."""

from __future__ import annotations

import asyncio
import contextlib
import logging

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


async def run_upkeep(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    interval_seconds: float,
    stop: asyncio.Event,
) -> None:
    """Inside `identa serve`: the rollup job every `interval_seconds` until `stop` is set, so the
    segment snapshots stay fresh (live counts stay fast) and old user changes are pruned even
    where nobody set up cron. A failed run is logged and tried again next time."""
    log = logging.getLogger("identa.analytics")
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
        if stop.is_set():
            return
        try:
            events, counted = await run_rollups(sessions, clock)
        except Exception:
            log.exception("analytics upkeep failed; retrying in %s s", interval_seconds)
        else:
            log.info(
                "analytics upkeep: %s event(s) rolled up, %s segment(s) counted", events, counted
            )


async def rebuild_rollups(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    """Catches up, then recomputes every counter from the login facts. Returns events added."""
    async with UnitOfWork(sessions) as uow:
        events = await rollups.catch_up(uow.session, clock.now())
        await rollups.rebuild(uow.session, clock.now())
        await uow.commit()
    return events
