"""What the insert triggers of migration 0015 would write for many new users, written in bulk.

A bulk insert of users (a users import) pauses those triggers for its own transaction
(migration 0016) and calls `paused_insert_triggers`, which adds afterwards:

* `customer_day_deltas`: one row per (kind, day) with the number of users, where the triggers
  add a +1 row per user: `identa.analytics.customers` sums them, so the counts are the same;
* `user_changes`: one row per user (the triggers add one for the user and one for each
  identity; a live segment count only asks whether a user changed), on PostgreSQL with the
  transaction's id as the triggers do.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from identa.analytics.customers import LOGIN, NEVER
from identa.analytics.models import CustomerDayDelta

NewUser = tuple[str, datetime, datetime | None]  # user_id, created_at, last_login

_DELTAS = typing.cast(Table, CustomerDayDelta.__table__)
_PG_CHANGES = text(
    "INSERT INTO user_changes (user_id, xid) "
    "SELECT changed, pg_current_xact_id()::text::bigint "
    "FROM unnest(CAST(:ids AS text[])) AS changed"
)


def day_counts(users: Sequence[NewUser]) -> Counter[tuple[str, date]]:
    """(kind, UTC day) -> users, as the customer-days trigger buckets them."""
    counts: Counter[tuple[str, date]] = Counter()
    for _, created_at, last_login in users:
        kind = NEVER if last_login is None else LOGIN
        counts[(kind, (last_login or created_at).astimezone(UTC).date())] += 1
    return counts


@asynccontextmanager
async def paused_insert_triggers(
    connection: AsyncConnection, users: Sequence[NewUser]
) -> AsyncIterator[None]:
    """Inside: inserts into `users` and `identities` on this connection fire no analytics
    trigger. On leaving without an error, the effects for `users` (inserted inside) are written.
    Must run inside the caller's transaction, which commits or rolls back all of it."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        await connection.exec_driver_sql("INSERT INTO analytics_triggers_paused (id) VALUES (1)")
    else:
        await connection.execute(text("SELECT set_config('identa.bulk_insert', 'on', true)"))
    try:
        yield
    finally:
        # On PostgreSQL a failed statement leaves nothing to undo: the rollback resets it.
        if sqlite:
            await connection.exec_driver_sql("DELETE FROM analytics_triggers_paused")
    if not sqlite:
        await connection.execute(text("SELECT set_config('identa.bulk_insert', 'off', true)"))
    if not users:
        return
    await connection.execute(
        insert(_DELTAS),
        [{"kind": kind, "day": day, "n": n} for (kind, day), n in day_counts(users).items()],
    )
    if sqlite:
        await connection.exec_driver_sql(
            "INSERT INTO user_changes (user_id) VALUES (?)", [(user[0],) for user in users]
        )
    else:
        await connection.execute(_PG_CHANGES, {"ids": [user[0] for user in users]})
