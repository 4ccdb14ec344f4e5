"""Saved segments: a name and a user search query (the Management API's language), with a live
count (a snapshot of the members corrected by the users changed since: segment_counts),
members by page, exports streamed in user_id order, a daily count trend, and hand-off of the
members to the log streams for a campaign.

Trend: `snapshot` stores each segment's count for the day (run daily by `identa analytics
rollup`, and at creation); the trend is those snapshots plus today's live count.
Hand-off writes one outbox message per member (topic `segment`, type `segment.handoff`) in the
caller's transaction; streams deliver them as they deliver log events (a stream with filters
takes them when its filters name `segment.handoff`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from identa.analytics import segment_counts
from identa.analytics.models import Segment, SegmentCount
from identa.core.clock import iso
from identa.core.errors import InvalidInput, NotFound
from identa.events.lifecycle import event_id
from identa.events.models import OutboxMessage
from identa.identity.models import User
from identa.identity.profile import user_to_dict
from identa.jobs.exporter import DEFAULT_CSV_FIELDS, csv_cell, csv_header, lookup
from identa.search import InvalidQuery, compile_user_query
from identa.search.service import count_users, find_users

EXPORT_CHUNK = 2000
SEGMENT_TOPIC = "segment"
HANDOFF = "segment.handoff"


class SegmentNotFound(NotFound):
    code = "inexistent_segment"


class InvalidSegment(InvalidInput):
    code = "invalid_segment"


@dataclass(frozen=True)
class Members:
    users: list[User]
    total: int


def condition_for(db: AsyncSession, query: str) -> ColumnElement[bool]:
    try:
        return compile_user_query(query, db.get_bind().dialect.name)
    except InvalidQuery as exc:
        raise InvalidSegment(f"Invalid segment query: {exc.message}") from exc


def segment_to_dict(segment: Segment, count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": segment.id,
        "name": segment.name,
        "query": segment.query,
        "description": segment.description,
        "created_at": iso(segment.created_at),
        "updated_at": iso(segment.updated_at),
    }
    if count is not None:
        out["count"] = count
    return out


async def count(db: AsyncSession, query: str) -> int:
    """Runs the search and counts every match."""
    total, _ = await count_users(db, condition_for(db, query), None)
    return total


async def live_count(db: AsyncSession, segment: Segment) -> int:
    """The saved segment's exact count now: from its snapshot when it has one (see
    identa.analytics.segment_counts), else by its search."""
    condition = condition_for(db, segment.query)
    found = await segment_counts.live(db, segment.id, condition)
    if found is None:
        found, _ = await count_users(db, condition, None)
    return found


async def create(
    db: AsyncSession, now: datetime, *, name: str, query: str, description: str | None
) -> tuple[Segment, int]:
    if not name.strip() or len(name) > 255:
        raise InvalidSegment("'name' must be 1 to 255 characters.")
    if not query.strip():
        raise InvalidSegment("'query' must not be empty (use * for every customer).")
    condition = condition_for(db, query)
    if await db.scalar(select(Segment.id).where(Segment.name == name)):
        raise InvalidSegment(f"A segment named '{name}' already exists.")
    segment = Segment(
        id="seg_" + secrets.token_hex(8),
        name=name,
        query=query,
        description=description,
        created_at=now,
        updated_at=now,
    )
    db.add(segment)
    await db.flush()
    members = await segment_counts.take(db, segment.id, condition, now)
    await _store_count(db, segment.id, now, members)
    return segment, members


async def get(db: AsyncSession, segment_id: str) -> Segment:
    segment = await db.get(Segment, segment_id[:32])
    if segment is None:
        raise SegmentNotFound(f"Segment {segment_id[:64]} not found.")
    return segment


async def all_segments(db: AsyncSession) -> list[Segment]:
    return list((await db.scalars(select(Segment).order_by(Segment.created_at))).all())


async def remove(db: AsyncSession, segment_id: str) -> None:
    segment = await get(db, segment_id)
    await db.execute(delete(SegmentCount).where(SegmentCount.segment_id == segment.id))
    await segment_counts.forget(db, segment.id)
    await db.delete(segment)


async def members(db: AsyncSession, segment: Segment, *, page: int, per_page: int) -> Members:
    condition_for(db, segment.query)
    found = await find_users(
        db,
        q=segment.query,
        sort=None,
        offset=page * per_page,
        limit=per_page,
        with_total=False,
    )
    return Members(users=found.users, total=await live_count(db, segment))


async def _store_count(db: AsyncSession, segment_id: str, now: datetime, n: int) -> None:
    values = {"segment_id": segment_id, "day": now.date(), "count": n, "taken_at": now}
    stmt: Any = (
        postgresql.insert(SegmentCount)
        if db.get_bind().dialect.name == "postgresql"
        else sqlite.insert(SegmentCount)
    ).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["segment_id", "day"], set_={"count": n, "taken_at": now}
    )
    await db.execute(stmt)


async def snapshot(db: AsyncSession, now: datetime) -> int:
    """Stores today's count of every segment, and its members afresh (the base of its live
    count); returns how many segments."""
    segments = await all_segments(db)
    for segment in segments:
        try:
            condition = condition_for(db, segment.query)
        except InvalidSegment:
            continue
        n = await segment_counts.take(db, segment.id, condition, now)
        await _store_count(db, segment.id, now, n)
    return len(segments)


async def trend(db: AsyncSession, segment: Segment, now: datetime) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(SegmentCount.day, SegmentCount.count)
        .where(SegmentCount.segment_id == segment.id)
        .order_by(SegmentCount.day)
    )
    points: dict[date, int] = dict(rows.all())
    points[now.date()] = await live_count(db, segment)
    return [{"date": day.isoformat(), "count": n} for day, n in sorted(points.items())]


async def _member_chunks(
    db: AsyncSession, segment: Segment, chunk: int = EXPORT_CHUNK
) -> AsyncIterator[list[User]]:
    condition = condition_for(db, segment.query)
    after: str | None = None
    while True:
        query = select(User).where(condition).order_by(User.user_id).limit(chunk)
        if after is not None:
            query = query.where(User.user_id > after)
        rows = list((await db.scalars(query)).all())
        if not rows:
            return
        yield rows
        after = rows[-1].user_id
        db.expunge_all()
        if len(rows) < chunk:
            return


async def export(db: AsyncSession, segment: Segment, fmt: str) -> AsyncIterator[bytes]:
    """Every member, in user_id order: CSV (a header, then one row each) or a JSON array. An
    empty segment gives the header alone, or `[]`."""
    if fmt == "csv":
        yield csv_header([])
        async for rows in _member_chunks(db, segment):
            lines = []
            for user in rows:
                profile = user_to_dict(user)
                lines.append(",".join(csv_cell(lookup(profile, p)) for p in DEFAULT_CSV_FIELDS))
            yield ("\n".join(lines) + "\n").encode()
        return
    yield b"["
    first = True
    async for rows in _member_chunks(db, segment):
        parts = [json.dumps(user_to_dict(user), ensure_ascii=False) for user in rows]
        yield (("" if first else ",") + "\n" + ",\n".join(parts)).encode()
        first = False
    yield b"\n]\n" if not first else b"]\n"


async def handoff(
    db: AsyncSession, segment: Segment, now: datetime, *, log_stream_id: str, campaign: str | None
) -> int:
    """One outbox message per member; the caller commits. Returns how many."""
    sent = 0
    async for rows in _member_chunks(db, segment):
        for user in rows:
            ident = event_id()
            db.add(
                OutboxMessage(
                    topic=SEGMENT_TOPIC,
                    event_type=HANDOFF,
                    partition_key=user.user_id,
                    event_id=ident,
                    payload={
                        "id": ident,
                        "type": HANDOFF,
                        "date": iso(now),
                        "segment": {"id": segment.id, "name": segment.name},
                        "campaign": campaign,
                        "log_stream_id": log_stream_id,
                        "user_id": user.user_id,
                        "data": {"object": user_to_dict(user)},
                    },
                    created_at=now,
                )
            )
            sent += 1
        await db.flush()
    return sent
