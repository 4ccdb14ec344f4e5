"""`identa users import` and `identa users export`: the jobs service run in this process, with
rich progress bars on stderr (the data itself goes to stdout or a file)."""

from __future__ import annotations

import gzip
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from identa.app import create_container
from identa.connections.errors import ConnectionNotFound
from identa.connections.models import Connection
from identa.container import Container
from identa.core.errors import DomainError
from identa.jobs.models import FAILED, Job
from identa.settings import Settings


class JobCommandError(Exception):
    pass


def parse_fields(value: str | None) -> list[dict[str, str]] | None:
    """`email,user_metadata.zip=zip`: names, each optionally `=export_as`."""
    if not value:
        return None
    out: list[dict[str, str]] = []
    for item in value.split(","):
        name, _, alias = item.strip().partition("=")
        if name:
            out.append({"name": name, "export_as": alias or name})
    return out


async def _connection(container: Container, db: Any, name_or_id: str) -> Connection:
    try:
        return await container.connections.by_id(db, name_or_id)
    except ConnectionNotFound:
        pass
    try:
        return await container.connections.by_name(db, name_or_id)
    except ConnectionNotFound as exc:
        raise JobCommandError(f"no connection named or with id {name_or_id!r}") from exc


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


async def _run(container: Container, job: Job, label: str, console: Console) -> Job:
    with _progress(console) as progress:
        task = progress.add_task(label, total=job.total or None)

        def show(current: Job) -> None:
            progress.update(task, completed=current.processed, total=current.total or None)

        finished = await container.jobs.run_until_done(job.id, on_progress=show)
        progress.update(task, completed=finished.processed, total=finished.total or 1)
    return finished


async def run_users_import(
    settings: Settings, data: bytes, *, connection: str, upsert: bool, console: Console
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Imports a file's content; returns the finished job (Auth0's shape) and refused records."""
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            conn = await _connection(container, uow.session, connection)
            try:
                job = await container.jobs.create_import(
                    uow.session, connection=conn, data=data, upsert=upsert
                )
            except DomainError as exc:
                raise JobCommandError(exc.message) from exc
            await uow.commit()
        job = await _run(container, job, "Importing users", console)
        async with container.unit_of_work() as uow:
            errors = await container.jobs.import_errors(uow.session, job)
        return container.jobs.describe(job), errors
    finally:
        await container.close()


async def run_users_export(
    settings: Settings,
    *,
    connection: str | None,
    fmt: str,
    fields: list[dict[str, str]] | None,
    limit: int | None,
    sink: BinaryIO,
    compressed: bool,
    console: Console,
) -> dict[str, Any]:
    """Exports users to `sink` (gzip data when `compressed`); returns the job."""
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            conn = await _connection(container, uow.session, connection) if connection else None
            try:
                job = await container.jobs.create_export(
                    uow.session, connection=conn, format=fmt, fields=fields, limit=limit
                )
            except DomainError as exc:
                raise JobCommandError(exc.message) from exc
            await uow.commit()
        job = await _run(container, job, "Exporting users", console)
        if job.status == FAILED:
            raise JobCommandError(f"the export failed: {job.status_details}")
        await _write(container, job.id, sink, compressed=compressed)
        return container.jobs.describe(job)
    finally:
        await container.close()


async def _write(container: Container, job_id: str, sink: BinaryIO, *, compressed: bool) -> None:
    async for piece in await container.jobs.export_pieces(job_id):
        sink.write(piece if compressed else gzip.decompress(piece))
    sink.flush()
