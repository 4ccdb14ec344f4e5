"""Auth0's sort=field:1|-1 as ORDER BY, with user_id as the tie-breaker."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from identa.identity.models import User
from identa.search import InvalidQuery, sort_clause


def order_by(sort: str | None) -> str:
    statement = select(User.user_id).order_by(*sort_clause(sort))
    return str(statement.compile(dialect=postgresql.dialect())).split("ORDER BY ")[1]


def test_ascending_with_the_tie_breaker_in_the_same_direction() -> None:
    assert order_by("created_at:1") == "users.created_at ASC, users.user_id ASC"
    assert order_by("created_at:-1") == "users.created_at DESC, users.user_id DESC"


def test_users_without_a_value_come_last() -> None:
    assert order_by("last_login:-1") == "users.last_login DESC NULLS LAST, users.user_id DESC"
    assert order_by("email:1") == "users.email ASC NULLS LAST, users.user_id ASC"


def test_user_id_alone_needs_no_tie_breaker() -> None:
    assert order_by("user_id:-1") == "users.user_id DESC"
    assert order_by(None) == "users.user_id ASC"
    assert order_by("") == "users.user_id ASC"


@pytest.mark.parametrize(
    "bad", ["created_at", "created_at:2", "created_at:asc", "picture:1", "user_metadata.a:1", ":1"]
)
def test_invalid_sorts_are_refused(bad: str) -> None:
    with pytest.raises(InvalidQuery, match="invalid sort"):
        sort_clause(bad)
