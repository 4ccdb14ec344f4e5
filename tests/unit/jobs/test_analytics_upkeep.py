"""The analytics upkeep `identa serve` runs on its own: the rollup job on a timer, so segment
snapshots are taken again (and old user changes pruned) where nobody set up cron."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from identa.analytics import segments
from identa.analytics.models import SegmentMember, SegmentSnapshot
from identa.container import Container
from identa.jobs.rollup import run_upkeep
from tests.factories import create_user


async def _snapshot(container: Container, segment_id: str) -> tuple[int, int]:
    async with container.unit_of_work() as uow:
        taken = await uow.session.get(SegmentSnapshot, segment_id)
        members = await uow.session.scalar(
            select(func.count()).where(SegmentMember.segment_id == segment_id)
        )
        assert taken is not None
        return taken.count, int(members or 0)


async def test_the_upkeep_takes_segment_snapshots_again_until_stopped(
    container: Container,
) -> None:
    await create_user(container, "ada@example.com")
    async with container.unit_of_work() as uow:
        segment, counted = await segments.create(
            uow.session, container.clock.now(), name="examples", query="email:*@example.com",
            description=None,
        )  # fmt: skip
        await uow.commit()
    assert counted == 1
    await create_user(container, "bob@example.com")
    assert await _snapshot(container, segment.id) == (1, 1)  # the snapshot is not live by itself

    stop = asyncio.Event()
    task = asyncio.create_task(run_upkeep(container.sessions, container.clock, 0.05, stop))
    try:
        for _ in range(200):
            if await _snapshot(container, segment.id) == (2, 2):
                break
            await asyncio.sleep(0.05)
        assert await _snapshot(container, segment.id) == (2, 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert task.done() and task.exception() is None
