"""A saved segment's live count without re-running its search: a snapshot of its members,
corrected by the users changed since.

Triggers (migration 0015) append a `user_changes` row whenever a user, or one of their
identities, is inserted, updated or deleted. `take` first reads a mark, then stores the members
(`segment_members`) and their number:

* PostgreSQL: the mark is the oldest transaction still running (`pg_snapshot_xmin`); every
  transaction below it had finished before the members were read, so every change the members
  miss carries a transaction id >= mark;
* SQLite (one writer at a time): the mark is the highest change id; later changes have higher ids.

`live` then counts exactly, in one statement (one database snapshot), with C the users changed
at or after the mark:

    count = snapshot count - |members ∩ C| + |C ∩ users matching the query now|

Any C that holds every user changed since the snapshot gives the right count; a larger C only
costs time. That time grows with the changes since the snapshot, so the rollup job
(`identa analytics rollup`) takes the snapshots again, and `prune` drops changes no snapshot
needs.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, delete, func, insert, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from identa.analytics.models import SegmentMember, SegmentSnapshot, UserChange
from identa.identity.models import User

# Past this many changes since its snapshot a segment is counted by its search again: cheaper.
MAX_CHANGES = 50_000

_PG_MARK = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def _postgresql(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


async def _mark(db: AsyncSession) -> int:
    if _postgresql(db):
        return int(await db.scalar(text(_PG_MARK)) or 0)
    return int(await db.scalar(select(func.coalesce(func.max(UserChange.id), 0))) or 0)


def _since(db: AsyncSession, mark: Any) -> ColumnElement[bool]:
    """The changes at or after `mark` (a value or a column)."""
    since: ColumnElement[bool] = UserChange.xid >= mark if _postgresql(db) else UserChange.id > mark
    return since


async def take(
    db: AsyncSession, segment_id: str, condition: ColumnElement[bool], now: datetime
) -> int:
    """Stores the segment's members and returns how many; caller commits."""
    mark = await _mark(db)
    await db.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))
    await db.execute(
        insert(SegmentMember).from_select(
            ["segment_id", "user_id"], select(literal(segment_id), User.user_id).where(condition)
        )
    )
    count = int(
        await db.scalar(
            select(func.count())
            .select_from(SegmentMember)
            .where(SegmentMember.segment_id == segment_id)
        )
        or 0
    )
    values = {"segment_id": segment_id, "mark": mark, "count": count, "taken_at": now}
    stmt: Any = (postgresql.insert if _postgresql(db) else sqlite.insert)(SegmentSnapshot).values(
        values
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["segment_id"], set_={"mark": mark, "count": count, "taken_at": now}
    )
    await db.execute(stmt)
    return count


async def live(db: AsyncSession, segment_id: str, condition: ColumnElement[bool]) -> int | None:
    """The exact count now, from the snapshot; None when there is none, or when so many users
    changed since that counting by the search is cheaper."""
    s = SegmentSnapshot
    mark = await db.scalar(select(s.mark).where(s.segment_id == segment_id))
    if mark is None:
        return None
    backlog = select(func.count()).select_from(
        select(UserChange.id).where(_since(db, mark)).limit(MAX_CHANGES + 1).subquery()
    )
    if int(await db.scalar(backlog) or 0) > MAX_CHANGES:
        return None
    # One statement: the snapshot row, its members and the users are read at one moment even
    # if the job replaces the snapshot meanwhile (the mark is read again, correlated).
    changed = select(UserChange.user_id).where(_since(db, s.mark)).correlate(s)
    gone = (
        select(func.count())
        .select_from(SegmentMember)
        .where(SegmentMember.segment_id == s.segment_id, SegmentMember.user_id.in_(changed))
        .correlate(s)
        .scalar_subquery()
    )
    joined = (
        select(func.count())
        .select_from(User)
        .where(User.user_id.in_(changed), per_user(condition))
        .correlate(s)
        .scalar_subquery()
    )
    found = await db.scalar(select(s.count - gone + joined).where(s.segment_id == segment_id))
    return None if found is None else int(found)


async def forget(db: AsyncSession, segment_id: str) -> None:
    await db.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))
    await db.execute(delete(SegmentSnapshot).where(SegmentSnapshot.segment_id == segment_id))


async def prune(db: AsyncSession) -> None:
    """Drops the changes older than every snapshot's mark; caller commits."""
    oldest = await db.scalar(select(func.min(SegmentSnapshot.mark)))
    if oldest is None:
        oldest = await _mark(db)
        if not _postgresql(db):
            oldest += 1  # nothing to keep: on SQLite the mark itself is a change already made
    await db.execute(delete(UserChange).where(~_since(db, oldest)))


def per_user(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` with each `users.user_id IN (SELECT …)` correlated to the user row:
    `IN (SELECT … AND <its column> = users.user_id)`. The same users match (a user is in a set
    exactly when it is in the part of the set holding it), but the database probes an index for
    each user instead of reading the whole set first: what counting a few changed users needs,
    where the search, meant for all users, reads each set once."""
    user_id = typing.cast(Table, User.__table__).c.user_id

    def replace(element: Any, **_kw: Any) -> Any:
        if (
            isinstance(element, BinaryExpression)
            and element.operator in (operators.in_op, operators.not_in_op)
            and isinstance(element.right, ScalarSelect)
            and isinstance(element.left, ColumnElement)
            and element.left.compare(user_id)
        ):
            inner = element.right.element
            if isinstance(inner, Select) and len(inner.selected_columns) == 1:
                narrowed = inner.where(inner.selected_columns[0] == user_id)
                return BinaryExpression(
                    element.left,
                    narrowed.scalar_subquery(),
                    element.operator,
                    negate=element.negate,
                )
        return None

    return visitors.replacement_traverse(condition, {}, replace)
