"""Log search: Auth0's query language for GET /api/v2/logs (`q`, or `search` as auth0-python v6
names it), compiled to a SQLAlchemy WHERE clause over `log_events` for SQLite and PostgreSQL.

    select(LogEvent).where(compile_log_query(q, dialect_name))

It is the user-search language (identa.search: same parser, limits, escapes, wildcards, ranges,
dates and operators) over a different set of fields:

  * Searchable: client_id, client_name, connection, connection_id, description, date, hostname,
    ip, log_id, organization_id, user_id, user_name, user_agent, strategy, strategy_type, type.
    Anything else is an unknown field; the `.raw` suffix is refused.
  * Every field is case-sensitive, terms without a field included, and none is tokenized:
    `description:rule` does not match "Create a rule"; `description:*rule` does.
  * A term without a field searches client_name, connection, description, ip, log_id, type and
    user_name.
  * `date` takes `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or an ISO 8601 date-time (UTC unless it has an
    offset), and a date is the whole period it names: `date:2018-12-18` is that day,
    `date:[2018-12 TO 2019-01-01}` is December 2018, `date:[* TO 2018-12-19}` is before that day.
    Wildcards are refused on `date`; the other fields take `*` patterns and ranges (by code point).
  * Identa has no organizations: `organization_id` is a known field that never holds a value.
  * `_exists_:field` also works (a Lucene feature Auth0 does not document for logs).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, false, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from identa.events.models import LogEvent
from identa.search.analyzer import parse_query
from identa.search.errors import InvalidQuery
from identa.search.fields import FieldMap
from identa.search.patterns import LIKE_ESCAPE, glob_pattern, like_pattern
from identa.search.query import (
    AllOf,
    AnyOf,
    AnyText,
    Condition,
    Equals,
    Exists,
    Field,
    Kind,
    Like,
    MatchAll,
    Node,
    Not,
    Range,
    RootField,
    Test,
)

LOG_FIELDS: dict[str, Kind] = {
    "client_id": Kind.TEXT,
    "client_name": Kind.TEXT,
    "connection": Kind.TEXT,
    "connection_id": Kind.TEXT,
    "description": Kind.TEXT,
    "date": Kind.DATE,
    "hostname": Kind.TEXT,
    "ip": Kind.TEXT,
    "log_id": Kind.TEXT,
    "organization_id": Kind.TEXT,
    "user_id": Kind.TEXT,
    "user_name": Kind.TEXT,
    "user_agent": Kind.TEXT,
    "strategy": Kind.TEXT,
    "strategy_type": Kind.TEXT,
    "type": Kind.TEXT,
}
# Searchable fields without a column: they never hold a value.
_WITHOUT_COLUMN = frozenset({"organization_id"})

LOG_BARE_TERM = AnyText(
    ("client_name", "connection", "description", "ip", "log_id", "type", "user_name")
)
DIALECTS = ("sqlite", "postgresql")


def resolve_log_field(name: str) -> Field:
    kind = LOG_FIELDS.get(name)
    if kind is not None:
        return RootField(name, kind)
    head, dot, rest = name.rpartition(".")
    if dot and rest == "raw" and head in LOG_FIELDS:
        raise InvalidQuery(f"the .raw suffix is not supported ('{name}')")
    raise InvalidQuery(f"unknown field '{name}': searchable log fields are {', '.join(LOG_FIELDS)}")


LOG_FIELD_MAP = FieldMap(resolve_log_field, LOG_BARE_TERM, "date:[2018-12-18 TO *]")


def parse_log_query(query: str) -> Node:
    """The typed form of an Auth0 log-search query; InvalidQuery when it is not acceptable."""
    return parse_query(query, LOG_FIELD_MAP)


def compile_log_query(query: str, dialect_name: str) -> ColumnElement[bool]:
    """The WHERE clause over LogEvent for `query` on `dialect_name` ("sqlite" or "postgresql").

    Raises InvalidQuery (a 400 for the caller) when the query cannot be run.
    """
    if dialect_name not in DIALECTS:
        raise ValueError(f"log search supports {' and '.join(DIALECTS)}, not {dialect_name!r}")
    return _build(parse_log_query(query), dialect_name)


def _build(node: Node, dialect: str) -> ColumnElement[bool]:
    if isinstance(node, MatchAll):
        return true()
    if isinstance(node, AllOf):
        return and_(*(_build(item, dialect) for item in node.items))
    if isinstance(node, AnyOf):
        return or_(*(_build(item, dialect) for item in node.items))
    if isinstance(node, Not):
        # As for users: `NOT user_name:x` must match events without a user_name (Lucene).
        return _build(node.item, dialect).is_not(true())
    return _condition(node, dialect)


def _condition(condition: Condition, dialect: str) -> ColumnElement[bool]:
    field, test = condition.field, condition.test
    if isinstance(field, RootField):
        return _column_test(field.name, field.kind, test, dialect)
    if isinstance(field, AnyText):
        return or_(*(_column_test(name, Kind.TEXT, test, dialect) for name in field.columns))
    raise TypeError(f"log search has no field {field!r}")  # the field map never produces one


def _column_test(name: str, kind: Kind, test: Test, dialect: str) -> ColumnElement[bool]:
    """Case-sensitive text or a date, on one column of log_events."""
    if name in _WITHOUT_COLUMN:
        return false()
    column: Any = getattr(LogEvent, name)
    if isinstance(test, Exists):
        return column.is_not(None)  # type: ignore[no-any-return]
    if isinstance(test, Equals):
        return column == test.value  # type: ignore[no-any-return]
    if isinstance(test, Like):
        if dialect == "sqlite":
            # SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive matcher.
            glob = literal(glob_pattern(test), String())
            return column.op("GLOB", is_comparison=True)(glob)  # type: ignore[no-any-return]
        pattern = literal(like_pattern(test), String())
        return column.like(pattern, escape=LIKE_ESCAPE)  # type: ignore[no-any-return]
    if isinstance(test, Range):
        subject = column
        if kind is Kind.TEXT and dialect == "postgresql":
            subject = column.collate("C")  # code-point order, as SQLite compares
        checks = []
        if test.low is not None:
            low = test.low.value
            checks.append(subject >= low if test.low.inclusive else subject > low)
        if test.high is not None:
            high = test.high.value
            checks.append(subject <= high if test.high.inclusive else subject < high)
        return and_(*checks)
    raise TypeError(f"no log column test for {test!r}")
