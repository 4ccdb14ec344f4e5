"""The SQL side of bulk user writes: rows straight to the driver (COPY on PostgreSQL), key
lookups with the keys as one parameter, and the per-chunk connection settings they rely on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, String, Table, any_, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from identa.db.base import UTCDateTime

IMPORT_CACHE_KIB = 64 * 1024


@asynccontextmanager
async def sqlite_cache(connection: AsyncConnection) -> AsyncIterator[None]:
    """On SQLite, a page cache of IMPORT_CACHE_KIB for this connection while a chunk is
    inserted (a dozen indexes of `users` and the search terms are written at random places;
    the default 2 MiB cache keeps few of their pages), then the connection's own size again.
    Memory only: durability and locking are unchanged."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = int((await connection.exec_driver_sql("PRAGMA cache_size")).scalar_one())
    if before < 0 and -before >= IMPORT_CACHE_KIB:
        yield
        return
    await connection.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        await connection.exec_driver_sql(f"PRAGMA cache_size = {before}")


@asynccontextmanager
async def custom_plans(session: AsyncSession) -> AsyncIterator[None]:
    """On PostgreSQL, plans the statements run inside for their parameters every time. The
    tables grow during an import: a generic plan made while they were small (a sequential scan)
    would otherwise be kept for the prepared statements of later chunks. (Not for the inserts:
    the foreign key checks would be planned again for each row.)"""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = await session.scalar(text("SELECT current_setting('plan_cache_mode')"))
    await session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
    yield
    await session.execute(
        text("SELECT set_config('plan_cache_mode', :before, true)"), {"before": before}
    )


def among(session: AsyncSession, column: Any, values: list[str]) -> ColumnElement[bool]:
    """`column IN values` with the values as one bound parameter (a text array on PostgreSQL,
    a JSON array on SQLite): an expanding IN of thousands of values costs more to render and
    bind than the query costs to run."""
    if session.get_bind().dialect.name == "postgresql":
        among: ColumnElement[bool] = column == any_(bindparam(None, values, type_=ARRAY(String)))
        return among
    listed = text("SELECT value FROM json_each(:values)").bindparams(values=json.dumps(values))
    among = column.in_(listed.columns(value=String))
    return among


class RawInsert:
    """INSERT … VALUES executed with the DBAPI's executemany, values adapted as the column
    types would (JSON text, UTC timestamps as SQLite stores them, booleans)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._dialect = connection.dialect
        self._sqlite = self._dialect.name == "sqlite"
        self._last_time: datetime | None = None
        self._last_adapted: Any = None

    async def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        names = list(rows[0])
        quote = self._dialect.identifier_preparer.quote
        style = self._dialect.paramstyle
        if style == "qmark":
            marks = ", ".join("?" for _ in names)
        elif style in ("numeric_dollar", "numeric"):
            sign = "$" if style == "numeric_dollar" else ":"
            marks = ", ".join(f"{sign}{index + 1}" for index in range(len(names)))
        else:
            marks = ", ".join("%s" for _ in names)
        # Identifiers come from the table definition, every value is a bound parameter.
        columns = ", ".join(quote(name) for name in names)
        sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"  # noqa: S608
        special = [
            (index, adapt)
            for index, name in enumerate(names)
            if (adapt := self._adapter(table.c[name].type)) is not None
        ]
        values: list[tuple[Any, ...]] = []
        for row in rows:
            items = list(row.values())
            for index, adapt in special:
                items[index] = adapt(items[index])
            values.append(tuple(items))
        if self._dialect.driver == "asyncpg":
            # COPY in the connection's transaction: several times faster than executemany.
            # (Row triggers fire for COPY as for INSERT.)
            raw = await self._connection.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table.name, columns=names, records=values
            )
            return
        await self._connection.exec_driver_sql(sql, values)

    def _adapter(self, column_type: Any) -> Callable[[Any], Any] | None:
        if isinstance(column_type, UTCDateTime):
            return self._timestamp
        if isinstance(column_type, JSON):
            return _json
        return None

    def _timestamp(self, value: datetime | None) -> Any:
        # A chunk's rows share one timestamp: adapt it once.
        if value is None or value is self._last_time:
            return None if value is None else self._last_adapted
        adapted: Any = value.astimezone(UTC)
        if self._sqlite:
            adapted = adapted.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        self._last_time, self._last_adapted = value, adapted
        return adapted


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
