"""The customer explorer: a user search (the Management API's language, or a plain text box for
e-mail and name fragments), a sort, a choice of columns and checkpoint paging over every match.

Paging is keyset paging on (sort value, user_id): each page ends with a checkpoint naming its
last row, the next page starts after it. It reaches every match (no 1,000-result window) and
costs the same on page 1 and page 10,000. The total is counted exactly up to the search's count
limit and then flagged as capped, as GET /api/v2/users does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from identa.core.errors import InvalidInput
from identa.enrichment.models import CustomerProfile
from identa.identity.models import User
from identa.search import InvalidQuery, sort_clause
from identa.search.service import count_users, user_condition

# Column key -> heading, in display order.
COLUMNS: dict[str, str] = {
    "email": "Email",
    "name": "Name",
    "connections": "Connections",
    "country": "Country",
    "logins": "Logins",
    "last_login": "Last login",
    "created": "Created",
    "gender": "Gender",
    "age": "Age",
    "sentiment": "Sentiment",
    "blocked": "Blocked",
    "verified": "Email verified",
}
DEFAULT_COLUMNS = ("email", "name", "connections", "country", "logins", "last_login", "created")
# Sort key -> (heading, root field of the search's sort).
SORTS: dict[str, tuple[str, str]] = {
    "created": ("Created", "created_at"),
    "last_login": ("Last login", "last_login"),
    "logins": ("Logins count", "logins_count"),
    "name": ("Name", "name"),
    "email": ("Email", "email"),
}
DEFAULT_SORT = "created"
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
MAX_TEXT = 200
# Lucene's special characters, escaped with a backslash in a plain-text term.
_SPECIAL = set('+-&|!(){}[]^"~*?:\\/ ')
# The fields a plain-text fragment is looked up in.
_TEXT_FIELDS = ("email", "name", "nickname", "username")


class InvalidCheckpoint(InvalidInput):
    code = "invalid_checkpoint"


@dataclass(frozen=True)
class ExplorerQuery:
    q: str = ""
    text: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = True
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    take: int = DEFAULT_PAGE_SIZE
    after: str | None = None  # the checkpoint of the previous page
    position: int = 0  # how many rows came before this page (for "21 to 40 of 300")

    def search(self) -> str | None:
        """The whole search: the query, and each word of the text box, all required."""
        parts = [f"({self.q.strip()})"] if self.q.strip() else []
        text = text_query(self.text)
        if text:
            parts.append(text)
        return " AND ".join(parts) or None

    def sort_spec(self) -> str:
        return f"{SORTS[self.sort][1]}:{'-1' if self.descending else '1'}"


def explorer_query(
    *,
    q: str | None,
    text: str | None,
    sort: str | None,
    direction: str | None,
    columns: Sequence[str],
    take: str | None,
    after: str | None,
    position: str | None,
) -> ExplorerQuery:
    """An ExplorerQuery from loosely typed inputs (a query string): unknown columns, sorts and
    sizes fall back to the defaults rather than failing."""
    chosen = tuple(key for key in COLUMNS if key in set(columns)) or DEFAULT_COLUMNS
    size = int(take) if take and take.isdigit() and int(take) in PAGE_SIZES else DEFAULT_PAGE_SIZE
    at = int(position) if position and position.isdigit() and len(position) <= 9 else 0
    return ExplorerQuery(
        q=(q or "").strip(),
        text=(text or "").strip()[:MAX_TEXT],
        sort=sort if sort in SORTS else DEFAULT_SORT,
        descending=direction != "asc",
        columns=chosen,
        take=size,
        after=after or None,
        position=at if after else 0,
    )


def text_query(text: str) -> str:
    """The plain-text box as a search: every word must be part of the e-mail, name, nickname
    or username (any case). Words shorter than three characters match from the start."""
    terms: list[str] = []
    for word in text.split():
        escaped = "".join("\\" + char if char in _SPECIAL else char for char in word)
        pattern = f"*{escaped}*" if len(word) >= 3 else f"{escaped}*"
        terms.append("(" + " OR ".join(f"{name}:{pattern}" for name in _TEXT_FIELDS) + ")")
    return " AND ".join(terms)


@dataclass(frozen=True)
class CustomerRow:
    user: User
    profile: CustomerProfile | None

    @property
    def connections(self) -> list[str]:
        return [identity.connection_name for identity in self.user.identities]

    def age(self, today: date) -> int | None:
        born = self.profile.birthdate if self.profile else None
        if born is None:
            return None
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class ExplorerPage:
    rows: list[CustomerRow]
    total: int
    total_capped: bool
    next_checkpoint: str | None
    query: ExplorerQuery
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def first_position(self) -> int:
        return self.query.position + 1 if self.rows else 0

    @property
    def last_position(self) -> int:
        return self.query.position + len(self.rows)


async def explore(db: AsyncSession, query: ExplorerQuery, count_limit: int | None) -> ExplorerPage:
    """One page of customers. Raises InvalidQuery (bad search) or InvalidCheckpoint."""
    condition = user_condition(query.search(), db.get_bind().dialect.name)
    total, capped = await count_users(db, condition, count_limit)
    order = sort_clause(query.sort_spec())
    ids_query = select(User.user_id).order_by(*order).limit(query.take + 1)
    if condition is not None:
        ids_query = ids_query.where(condition)
    if query.after:
        ids_query = ids_query.where(_after(query, decode_checkpoint(query.after)))
    ids = list((await db.scalars(ids_query)).all())
    more = len(ids) > query.take
    ids = ids[: query.take]
    users: dict[str, User] = {}
    profiles: dict[str, CustomerProfile] = {}
    if ids:
        users = {u.user_id: u for u in await db.scalars(select(User).where(User.user_id.in_(ids)))}
        found = await db.scalars(select(CustomerProfile).where(CustomerProfile.user_id.in_(ids)))
        profiles = {p.user_id: p for p in found}
    rows = [CustomerRow(users[i], profiles.get(i)) for i in ids if i in users]
    checkpoint = encode_checkpoint(query, rows[-1].user) if more and rows else None
    return ExplorerPage(
        rows=rows,
        total=total,
        total_capped=capped,
        next_checkpoint=checkpoint,
        query=query,
    )


# -- checkpoints -------------------------------------------------------------------------------


def _sort_column(query: ExplorerQuery) -> Any:
    return getattr(User, SORTS[query.sort][1])


def encode_checkpoint(query: ExplorerQuery, last: User) -> str:
    value = getattr(last, SORTS[query.sort][1])
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([query.sort, value, last.user_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_checkpoint(raw: str) -> tuple[str, Any, str]:
    """(sort key, value, user_id) of a checkpoint this module wrote."""
    try:
        if len(raw) > 2000:
            raise ValueError("too long")
        padded = raw + "=" * (-len(raw) % 4)
        sort, value, user_id = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        if sort not in SORTS or not isinstance(user_id, str):
            raise ValueError("malformed")
        field_name = SORTS[sort][1]
        if value is not None and field_name in ("created_at", "last_login"):
            value = datetime.fromisoformat(value)
        elif value is not None and field_name == "logins_count" and not isinstance(value, int):
            raise ValueError("not a count")
        elif value is not None and field_name in ("name", "email") and not isinstance(value, str):
            raise ValueError("not a text")
        return sort, value, user_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCheckpoint(
            "This page link is not valid any more: start again from the first page."
        ) from exc


def _after(query: ExplorerQuery, checkpoint: tuple[str, Any, str]) -> ColumnElement[bool]:
    """Rows after the checkpoint in the ORDER BY of sort_clause: value, then user_id, in the
    same direction, with rows without a value last."""
    sort, value, user_id = checkpoint
    if sort != query.sort:
        raise InvalidCheckpoint("The sort changed: start again from the first page.")
    column = _sort_column(query)
    tie = User.user_id < user_id if query.descending else User.user_id > user_id
    if value is None:
        return and_(column.is_(None), tie)
    beyond = column < value if query.descending else column > value
    nullable = bool(column.property.columns[0].nullable)
    after = or_(beyond, and_(column == value, tie))
    return or_(after, column.is_(None)) if nullable else after


__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "PAGE_SIZES",
    "SORTS",
    "CustomerRow",
    "ExplorerPage",
    "ExplorerQuery",
    "InvalidCheckpoint",
    "InvalidQuery",
    "explore",
    "explorer_query",
    "text_query",
]
