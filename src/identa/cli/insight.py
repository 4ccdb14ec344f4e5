"""`identa demo` and `identa analytics rollup|rebuild`: what the commands run."""

from __future__ import annotations

from collections.abc import Callable

from identa.app import create_container
from identa.jobs.demo import DemoReport, build_demo
from identa.jobs.rollup import rebuild_rollups, run_rollups
from identa.provisioning import initialise
from identa.settings import Settings


async def run_demo(settings: Settings, customers: int, say: Callable[[str], None]) -> DemoReport:
    container, _ = create_container(settings)
    try:
        await initialise(container)
        async with container.unit_of_work() as uow:
            report = await build_demo(
                uow.session,
                container.connections,
                customers=customers,
                now=container.clock.now(),
                progress=say,
            )
            await uow.commit()
        return report
    finally:
        await container.close()


async def run_rollup(settings: Settings, *, rebuild: bool) -> tuple[int, int]:
    container, _ = create_container(settings)
    try:
        if rebuild:
            return await rebuild_rollups(container.sessions, container.clock), 0
        return await run_rollups(container.sessions, container.clock)
    finally:
        await container.close()
