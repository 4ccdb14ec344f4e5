"""Log search's fields on the shared analyzer: what each name means, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identa.search import InvalidQuery, parse_user_query
from identa.search.logs import LOG_BARE_TERM, compile_log_query, parse_log_query
from identa.search.query import AnyText, Bound, Condition, Equals, Kind, Like, Range, RootField


def test_fields_are_case_sensitive_text_or_dates() -> None:
    assert parse_log_query("type:s") == Condition(RootField("type", Kind.TEXT), Equals("s"))
    assert parse_log_query("date:2018-12-18") == Condition(
        RootField("date", Kind.DATE),
        Range(
            Bound(datetime(2018, 12, 18, tzinfo=UTC), True),
            Bound(datetime(2018, 12, 19, tzinfo=UTC), False),
        ),
    )


def test_a_bare_term_searches_the_documented_fields() -> None:
    documented = ("client_name", "connection", "description", "ip", "log_id", "type", "user_name")
    assert AnyText(documented) == LOG_BARE_TERM
    assert parse_log_query("fred*") == Condition(LOG_BARE_TERM, Like(("fred", "")))


def test_user_fields_stay_user_fields() -> None:
    assert parse_user_query("logins_count:1") == Condition(
        RootField("logins_count", Kind.INTEGER), Equals(1)
    )
    with pytest.raises(InvalidQuery, match="unknown field 'logins_count'"):
        parse_log_query("logins_count:1")
    with pytest.raises(InvalidQuery, match="unknown field 'client_name'"):
        parse_user_query("client_name:x")


def test_only_sqlite_and_postgresql() -> None:
    with pytest.raises(ValueError, match="mysql"):
        compile_log_query("type:s", "mysql")


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("email:x", "unknown field 'email'"),
        ("description.raw:x", ".raw suffix"),
        ("type:s?", "? wildcard"),
        ("user_name:*ed", "at least 3"),
        ("date:2018*", "wildcards are not supported on date"),
        ("date:yesterday", "date"),
        ("type:s~1", "fuzzy"),
        ("[a TO b]", "needs a field"),
        ("type:(s", "could not be parsed"),
    ],
)
def test_unsupported_queries_say_what_is_wrong(query: str, problem: str) -> None:
    with pytest.raises(InvalidQuery, match=problem.replace("?", r"\?").replace(".", r"\.")):
        parse_log_query(query)
