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

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import column, table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Term = tuple[str, str, Any, str]
_NAMEABLE_KEY = re.compile(r"[A-Za-z0-9_-]*")

TERMS = table(
    "user_search_terms",
    column("user_id"),
    column("field"),
    column("value"),
    column("type"),
)


def terms_of(user_id: str, user_metadata: Any, app_metadata: Any) -> set[Term]:
    """The rows the triggers would write for one user, computed in Python.

    Bulk imports use this: they already hold the documents, and inserting the rows with one
    executemany is several times cheaper than the trigger's recursive walk per user.
    tests/contract/test_search_terms.py checks it against the triggers."""
    out: set[Term] = set()

    def walk(field: str, value: Any, root: bool) -> None:
        if isinstance(value, dict):
            if value and not root:
                out.add((user_id, field, b"", "object"))
            for key, inner in value.items():
                if _NAMEABLE_KEY.fullmatch(key):
                    walk(f"{field}.{key}", inner, False)
        elif isinstance(value, list):
            for inner in value:
                walk(field, inner, False)
        elif isinstance(value, bool):
            word = "true" if value else "false"
            out.add((user_id, field, word, word))
        elif isinstance(value, int):
            out.add((user_id, field, value, "integer"))
        elif isinstance(value, float):
            out.add((user_id, field, value, "real"))
        elif isinstance(value, str):
            out.add((user_id, field, value, "text"))

    walk("user_metadata", user_metadata or {}, True)
    walk("app_metadata", app_metadata or {}, True)
    return out


async def insert_terms_paused(
    connection: AsyncConnection, insert_users: Any, users: Iterable[tuple[str, Any, Any]]
) -> None:
    """On SQLite, runs `insert_users()` with the insert trigger paused, then writes the users'
    terms with one executemany; elsewhere just runs `insert_users()`.

    `users` yields (user_id, user_metadata, app_metadata). The pause is a row in
    `search_terms_paused`, added and removed inside the caller's transaction: SQLite has one
    writer at a time and readers never see it, so no other write can miss its terms."""
    if connection.dialect.name != "sqlite":
        await insert_users()
        return
    await connection.exec_driver_sql("INSERT INTO search_terms_paused (id) VALUES (1)")
    try:
        await insert_users()
    finally:
        await connection.exec_driver_sql("DELETE FROM search_terms_paused")
    rows: list[Term] = []
    for user_id, user_metadata, app_metadata in users:
        rows.extend(terms_of(user_id, user_metadata, app_metadata))
    # In the table's key order: the clustered b-tree is then filled page after page.
    rows.sort(key=lambda row: (row[0], row[1]))
    if rows:
        await connection.exec_driver_sql(
            "INSERT OR IGNORE INTO user_search_terms (user_id, field, value, type) "
            "VALUES (?, ?, ?, ?)",
            rows,
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
