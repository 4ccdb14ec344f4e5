"""`identa worker` (the outbox dispatcher on its own) and `identa streams status|flush`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from rich.console import Console
from rich.table import Table

from identa.app import create_container
from identa.events.streams.service import stream_to_dict
from identa.settings import Settings


async def stream_status(settings: Settings) -> list[dict[str, Any]]:
    """Every stream with its delivery status, as GET /api/v2/log-streams/{id} shows them."""
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            out = []
            for stream in await container.streams.all(uow.session):
                row = stream_to_dict(stream)
                row["delivery"] = (await container.streams.delivery(uow.session, stream)).as_dict()
                out.append(row)
            return out
    finally:
        await container.close()


def status_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Log streams")
    for column in ("stream", "type", "status", "last delivered id", "lag", "failures", "dead"):
        table.add_column(
            column, justify="right" if column in ("lag", "failures", "dead") else "left"
        )
    styles = {"active": "green", "paused": "yellow", "suspended": "red"}
    for row in rows:
        delivery = row["delivery"]
        lag = f"{delivery['lag']}"
        if delivery["lag"] and delivery["lag_seconds"]:
            lag += f" ({delivery['lag_seconds']:.0f} s)"
        failures = f"{delivery['failures']}"
        if delivery["last_error"]:
            failures += f"\n[dim]{delivery['last_error'][:60]}[/dim]"
        table.add_row(
            f"{row['name']}\n[dim]{row['id']}[/dim]",
            row["type"],
            f"[{styles.get(row['status'], 'white')}]{row['status']}[/]",
            delivery["last_delivered_id"] or "-",
            lag,
            failures,
            str(delivery["dead_letters"]),
        )
    return table


async def run_worker(settings: Settings, console: Console) -> None:
    """The dispatcher until SIGINT or SIGTERM."""
    container, _ = create_container(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    console.print(f"log stream worker {container.dispatcher.worker_id} started")
    try:
        await container.dispatcher.run(stop)
    finally:
        await container.close()
    console.print("log stream worker stopped")


async def run_flush(settings: Settings) -> None:
    """Delivers everything deliverable now, then returns."""
    container, _ = create_container(settings)
    try:
        await container.dispatcher.deliver_all()
        await container.dispatcher.close()
    finally:
        await container.close()
