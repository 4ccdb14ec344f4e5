"""Running a user search: one page of users and (optionally) how many match.

What GET /api/v2/users does, kept here so that the endpoint, the CLI and the benchmark run the
same statements.

Two things keep large result sets fast:

* The page is found in two steps: first the user_ids of the page (the database sorts narrow
  rows, and can often walk an index in the requested order), then those users in full.
* The total is counted exactly up to `count_limit` matches. Past it the count stops and the
  page reports `total_capped`: counting every one of 400,000 matching customers costs seconds
  on either database, and Auth0 never lets a search page beyond 1,000 results anyway.
  Segments and analytics count exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from identa.identity.models import User
from identa.search import compile_user_query, sort_clause

DEFAULT_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    total: int | None  # None when not asked for
    total_capped: bool  # True when more than `total` users match


def user_condition(q: str | None, dialect_name: str) -> ColumnElement[bool] | None:
    """The WHERE clause for `q` (None: every user). Raises InvalidQuery."""
    return compile_user_query(q, dialect_name) if q else None


async def find_users(
    session: AsyncSession,
    *,
    q: str | None,
    sort: str | None,
    offset: int,
    limit: int,
    with_total: bool,
    count_limit: int | None = DEFAULT_COUNT_LIMIT,
) -> UserPage:
    """One page of the users matching `q` in `sort` order (see sort_clause), and the total.

    `count_limit` None or 0 counts exactly however many match. Raises InvalidQuery."""
    condition = user_condition(q, session.get_bind().dialect.name)
    order = sort_clause(sort)

    total: int | None = None
    capped = False
    if with_total:
        total, capped = await count_users(session, condition, count_limit)

    ids_query = select(User.user_id).order_by(*order).offset(offset).limit(limit)
    if condition is not None:
        ids_query = ids_query.where(condition)
    ids = list((await session.scalars(ids_query)).all())
    users: list[User] = []
    if ids:
        rows = (await session.scalars(select(User).where(User.user_id.in_(ids)))).all()
        by_id = {user.user_id: user for user in rows}
        users = [by_id[user_id] for user_id in ids if user_id in by_id]
    return UserPage(users=users, total=total, total_capped=capped)


async def count_users(
    session: AsyncSession, condition: ColumnElement[bool] | None, count_limit: int | None
) -> tuple[int, bool]:
    """(matches, capped): exact up to `count_limit`; `capped` when more match than that."""
    matching: Any = select(User.user_id)
    if condition is not None:
        matching = matching.where(condition)
    if not count_limit:
        exact = select(func.count()).select_from(matching.subquery())
        return int(await session.scalar(exact) or 0), False
    bounded = select(func.count()).select_from(matching.limit(count_limit + 1).subquery())
    found = int(await session.scalar(bounded) or 0)
    if found > count_limit:
        return count_limit, True
    return found, False
