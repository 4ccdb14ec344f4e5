"""Metadata conditions in SQL: SQL/JSON path (`@?`) on PostgreSQL, the user_search_terms index
table on SQLite.

Both look through arrays at every step of the dotted path, as Auth0 does
(`user_metadata.addresses.city:Paris` matches `{"addresses": [{"city": "Paris"}]}`).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.sql.elements import ColumnElement

from identa.identity.models import User
from identa.search.index import TERMS
from identa.search.patterns import after_prefix, glob_pattern, regex_pattern
from identa.search.query import Exists, JsonEquals, Like, MetadataField, Range, Test

_NUMERIC_TYPES = ("integer", "real")
_PRESENT = '@.type() != "null" && @.type() != "array" && (@.type() != "object" || exists(@.*))'


def metadata_condition(field: MetadataField, test: Test, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return _postgresql(getattr(User, field.document), field.path, test)
    return _sqlite(field, test)


# PostgreSQL ---------------------------------------------------------------------------------
# `document @? '<path> ? (<filter>)'` in lax mode (arrays unwrapped at each step). The GIN
# jsonb_path_ops index of migration 0006 serves equality filters, `||` of them included (the
# index extracts one hashed path+value entry per alternative; EXPLAIN shows a Bitmap Index Scan),
# so equality needs no separate `@>` form. Values are embedded as JSON-quoted literals; the
# whole path is sent as a bound parameter, which PostgreSQL reads when it plans (custom plans).


def _postgresql(
    document: ColumnElement[object], path: tuple[str, ...], test: Test
) -> ColumnElement[bool]:
    steps = "".join(f'."{segment}"' for segment in path)
    jsonpath = f"${steps} ? ({_jsonpath_filter(test)})"
    return document.op("@?", is_comparison=True)(cast(literal(jsonpath, String()), JSONPATH))


def _jsonpath_filter(test: Test) -> str:
    if isinstance(test, Exists):
        # Nulls, empty arrays (no elements to visit) and empty objects are "not indexed".
        return _PRESENT
    if isinstance(test, JsonEquals):
        options = [f"@ == {_json_string(test.text)}"]
        if test.number is not None:
            options.append(f"@ == {_json_number(test.number)}")
        if test.boolean is not None:
            options.append(f"@ == {'true' if test.boolean else 'false'}")
        return " || ".join(options)
    if isinstance(test, Like):
        return f'@ like_regex {_json_string(regex_pattern(test))} flag "s"'
    if isinstance(test, Range):
        checks = []
        for bound, inclusive_op, exclusive_op in ((test.low, ">=", ">"), (test.high, "<=", "<")):
            if bound is None:
                continue
            operator = inclusive_op if bound.inclusive else exclusive_op
            checks.append(f"@ {operator} {_jsonpath_literal(bound.value)}")
        return " && ".join(checks)
    raise TypeError(f"no metadata test for {test!r}")


def _jsonpath_literal(value: str | int | float | datetime) -> str:
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, datetime):
        raise TypeError("metadata ranges hold numbers or strings")
    return _json_number(value)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _json_number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    return format(Decimal(repr(value)), "f")  # plain digits: no exponent to trip the parser


# SQLite -------------------------------------------------------------------------------------
# The user_search_terms table (identa.search.index) holds one row per metadata value under the
# path a query names, so a test is one range of its (field, value) index:
#   users.user_id IN (SELECT user_id FROM user_search_terms WHERE field = ? AND value IN (?, ?))
# `value` has no type affinity: strings compare with strings, numbers with numbers, and in
# SQLite's order NULL < numbers < text < blobs, which the extra bounds below use to keep each
# index range tight.


def _sqlite(field: MetadataField, test: Test) -> ColumnElement[bool]:
    terms = TERMS.c
    candidates = select(terms.user_id).where(terms.field == field.name, *_sqlite_value(test))
    return User.user_id.in_(candidates)


def _sqlite_value(test: Test) -> list[ColumnElement[bool]]:
    value, kind = TERMS.c.value, TERMS.c.type
    if isinstance(test, Exists):
        return []  # nulls, empty objects and empty arrays have no row
    if isinstance(test, JsonEquals):
        # Booleans are stored as the text 'true'/'false', so the text matches them too.
        # SQLite turns this OR of equalities on one column into one IN lookup of the index.
        options = [value == literal(test.text, String())]
        if test.number is not None:
            options.append(value == literal(test.number))
        return [or_(*options)]
    if isinstance(test, Like):
        checks = [kind == "text", value.op("GLOB", is_comparison=True)(glob_pattern(test))]
        return checks + _text_prefix_bounds(value, test.parts[0])
    if isinstance(test, Range):
        numeric = any(
            bound is not None and not isinstance(bound.value, str)
            for bound in (test.low, test.high)
        )
        checks = [kind.in_(_NUMERIC_TYPES) if numeric else kind == "text"]
        if test.low is not None:
            checks.append(value >= test.low.value if test.low.inclusive else value > test.low.value)
        elif not numeric:
            checks.append(value >= "")  # above every number
        if test.high is not None:
            checks.append(
                value <= test.high.value if test.high.inclusive else value < test.high.value
            )
        elif numeric:
            checks.append(value < "")  # below every string
        return checks
    raise TypeError(f"no metadata test for {test!r}")


def _text_prefix_bounds(value: ColumnElement[Any], prefix: str) -> list[ColumnElement[bool]]:
    """`value >= prefix AND value < next` for a pattern starting with `prefix`: GLOB alone
    cannot use an index on a column without TEXT affinity. (UTF-8 bytes sort in code-point
    order, so every string starting with `prefix` lies in that range.)"""
    if not prefix:
        return [value >= ""]
    checks = [value >= prefix]
    following = after_prefix(prefix)
    if following is not None:
        checks.append(value < following)
    return checks
