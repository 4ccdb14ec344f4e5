"""SQLite's index of metadata values for user search: the `user_search_terms` table.

Migration 0006 creates it and three triggers on `users` (after insert; after an update of
user_id, user_metadata or app_metadata; after delete) that rewrite a user's rows from the JSON in
SQL. Every write path therefore keeps it current — the ORM, Core `insert(User)` executemany of a
bulk import, plain SQL — and no application code has to call anything.

One row per scalar in a metadata document, and per non-empty object, with its path as a query
names it (arrays add no step: `user_metadata.addresses.city` for {"addresses": [{"city": …}]}):

    user_id  field                          value          type
    u1       user_metadata.interests        'fitness'      text
    u1       user_metadata.age              30             integer
    u1       app_metadata.beta              'true'         true      (booleans as text)
    u1       user_metadata.prefs            x''            object    (for _exists_ only)

`value` has no type affinity: "30" stays text, 30 a number. Searches go through the index on
(field, value), which also holds user_id, so they never read `users` to find candidates.
PostgreSQL needs none of this: GIN (jsonb_path_ops) indexes the documents themselves.
"""

from __future__ import annotations

from sqlalchemy import column, table, text
from sqlalchemy.ext.asyncio import AsyncSession

TERMS = table(
    "user_search_terms",
    column("user_id"),
    column("field"),
    column("value"),
    column("type"),
)


async def rebuild(session: AsyncSession) -> None:
    """Rebuilds every row on SQLite (a repair tool: the triggers keep the table current).

    Rewriting the documents fires the update trigger, which replaces each user's rows.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    await session.execute(text("DELETE FROM user_search_terms"))
    await session.execute(
        text("UPDATE users SET user_metadata = user_metadata, app_metadata = app_metadata")
    )
