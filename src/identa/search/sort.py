"""Auth0's `sort=field:1|-1` for GET /api/v2/users, as ORDER BY clauses with a stable order."""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import UnaryExpression

from identa.identity.models import User
from identa.search.errors import InvalidQuery
from identa.search.fields import ROOT_FIELDS

SORTABLE = frozenset(ROOT_FIELDS)


def sort_clause(sort: str | None) -> tuple[UnaryExpression[Any], ...]:
    """ORDER BY for `sort` (None or "" → by user_id).

    Users without a value come last in both directions (Elasticsearch's `missing: _last`).
    `user_id` breaks ties, in the same direction, so pages never overlap or skip and a single
    index on (field, user_id) can serve the order.
    """
    if not sort:
        return (User.user_id.asc(),)
    field, colon, direction = sort.strip().partition(":")
    if field not in SORTABLE or not colon or direction not in ("1", "-1"):
        raise InvalidQuery(
            f"invalid sort '{sort}': use field:1 or field:-1 with one of "
            + ", ".join(sorted(SORTABLE))
        )
    ascending = direction == "1"
    column = getattr(User, field)
    order = column.asc() if ascending else column.desc()
    if column.property.columns[0].nullable:
        order = order.nulls_last()
    tie_breaker = User.user_id.asc() if ascending else User.user_id.desc()
    return (order,) if field == "user_id" else (order, tie_breaker)
