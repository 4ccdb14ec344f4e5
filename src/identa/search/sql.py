"""Typed query → SQLAlchemy WHERE clause over `users`, for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, and_, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from identa.identity.models import Identity, User
from identa.search.json_sql import metadata_condition
from identa.search.patterns import LIKE_ESCAPE, after_prefix, glob_pattern, like_pattern
from identa.search.query import (
    AllOf,
    AnyOf,
    AnyText,
    Condition,
    EmailDomain,
    Equals,
    Exists,
    IdentityField,
    JsonEquals,
    Kind,
    Like,
    MatchAll,
    MetadataField,
    Node,
    Not,
    Range,
    RootField,
    Test,
)

DIALECTS = ("sqlite", "postgresql")


def build(node: Node, dialect: str) -> ColumnElement[bool]:
    if dialect not in DIALECTS:
        raise ValueError(f"user search supports {' and '.join(DIALECTS)}, not {dialect!r}")
    return _build(node, dialect)


def _build(node: Node, dialect: str) -> ColumnElement[bool]:
    if isinstance(node, MatchAll):
        return true()
    if isinstance(node, AllOf):
        return and_(*(_build(item, dialect) for item in node.items))
    if isinstance(node, AnyOf):
        return or_(*(_build(item, dialect) for item in node.items))
    if isinstance(node, Not):
        # "IS NOT TRUE" rather than NOT: a comparison with a NULL column is unknown, and
        # `NOT name:x` must still match users without a name, as in Lucene.
        return _build(node.item, dialect).is_not(true())
    return _condition(node, dialect)


def _condition(condition: Condition, dialect: str) -> ColumnElement[bool]:
    field, test = condition.field, condition.test
    if isinstance(field, RootField):
        return _column_test(getattr(User, field.name), field.kind, test, dialect)
    if isinstance(field, IdentityField):
        # An uncorrelated IN rather than a correlated EXISTS: SQLite then reads the matching
        # identities from the (connection_name, user_id) index once, instead of probing per user.
        # user_id is never NULL, so IN is never unknown and NOT (IS NOT TRUE) stays exact.
        query: Select[Any] = select(Identity.user_id)
        if not isinstance(test, Exists):
            column = getattr(Identity, field.column)
            query = query.where(_column_test(column, field.kind, test, dialect))
        return User.user_id.in_(query)
    if isinstance(field, EmailDomain):
        return _email_domain(test, dialect)
    if isinstance(field, MetadataField):
        return metadata_condition(field, test, dialect)
    assert isinstance(field, AnyText)
    return or_(
        *(_column_test(getattr(User, name), Kind.TEXT_CI, test, dialect) for name in field.columns)
    )


def _column_test(column: Any, kind: Kind, test: Test, dialect: str) -> ColumnElement[bool]:
    folded = kind is Kind.TEXT_CI
    text = kind in (Kind.TEXT, Kind.TEXT_CI)
    if isinstance(test, Exists):
        return column.is_not(None)  # type: ignore[no-any-return]
    if isinstance(test, Equals):
        if folded:
            folded_value = func.lower(literal(test.value, String()))
            return _folded(column, dialect) == folded_value  # type: ignore[no-any-return]
        return column == test.value  # type: ignore[no-any-return]
    if isinstance(test, Like):
        return _like(column, test, folded, dialect)
    if isinstance(test, Range):
        subject = _folded(column, dialect) if folded else column
        if text and not folded and dialect == "postgresql":
            subject = subject.collate("C")  # code-point order, as on SQLite and in JSON paths
        checks = []
        for bound, is_low in ((test.low, True), (test.high, False)):
            if bound is None:
                continue
            value: Any = func.lower(literal(bound.value, String())) if folded else bound.value
            if is_low:
                checks.append(subject >= value if bound.inclusive else subject > value)
            else:
                checks.append(subject <= value if bound.inclusive else subject < value)
        return and_(*checks)
    assert not isinstance(test, JsonEquals), "JSON tests only apply to metadata"
    raise TypeError(f"no column test for {test!r}")


def _folded(column: Any, dialect: str) -> Any:
    """lower(column), on PostgreSQL in the C collation: code-point order (as on SQLite and in
    JSON paths), and the collation of the expression indexes, which only serve comparisons in
    their own collation. Equality and LIKE mean the same in any deterministic collation."""
    lowered = func.lower(column)
    return lowered.collate("C") if dialect == "postgresql" else lowered


def _like(column: Any, pattern: Like, folded: bool, dialect: str) -> ColumnElement[bool]:
    if folded:
        lowered = func.lower(literal(like_pattern(pattern), String()))
        subject = _folded(column, dialect)
        match = subject.like(lowered, escape=LIKE_ESCAPE)
        prefix = pattern.parts[0]
        if dialect == "sqlite" and prefix.isascii():
            # SQLite only turns LIKE into an index range on a plain column, not on lower(col).
            return and_(match, *_prefix_bounds(subject, prefix.lower()))
        return match  # type: ignore[no-any-return]
    if dialect == "sqlite":
        # SQLite's LIKE ignores ASCII case; GLOB is the case-sensitive matcher.
        match = column.op("GLOB", is_comparison=True)(literal(glob_pattern(pattern), String()))
        return and_(match, *_prefix_bounds(column, pattern.parts[0]))
    # In the C collation PostgreSQL turns LIKE 'prefix%' into a B-tree range.
    return column.collate("C").like(  # type: ignore[no-any-return]
        literal(like_pattern(pattern), String()), escape=LIKE_ESCAPE
    )


def _prefix_bounds(subject: Any, prefix: str) -> list[ColumnElement[bool]]:
    """A range every string starting with `prefix` lies in (redundant with the pattern, but an
    index can serve it). UTF-8 bytes sort in code-point order, as SQLite's BINARY compares."""
    if not prefix:
        return []
    checks = [subject >= literal(prefix, String())]
    following = after_prefix(prefix)
    if following is not None:
        checks.append(subject < literal(following, String()))
    return checks


def _email_domain(test: Test, dialect: str) -> ColumnElement[bool]:
    """Everything after the @, case-insensitive: `example.com` is `%@example.com`."""
    if isinstance(test, Exists):
        pattern = Like(("", "@", ""))
    elif isinstance(test, Equals):
        pattern = Like(("", "@" + str(test.value)))
    elif isinstance(test, Like):
        pattern = Like(("", "@" + test.parts[0], *test.parts[1:]))
    else:
        raise TypeError(f"no e-mail domain test for {test!r}")
    return _like(User.email, pattern, True, dialect)
