"""Metadata conditions in SQL: SQL/JSON path (`@?`) on PostgreSQL, json_tree on SQLite.

Both walk the dotted path and look through arrays at every step, as Auth0 does
(`user_metadata.addresses.city:Paris` matches `{"addresses": [{"city": "Paris"}]}`).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONPATH
from sqlalchemy.sql.elements import ColumnElement

from identa.search.patterns import glob_pattern, regex_pattern
from identa.search.query import Exists, JsonEquals, Like, Range, Test

_NUMERIC_TYPES = ("integer", "real")
_PRESENT = '@.type() != "null" && @.type() != "array" && (@.type() != "object" || exists(@.*))'


def metadata_condition(
    document: ColumnElement[object], path: tuple[str, ...], test: Test, dialect: str
) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return _postgresql(document, path, test)
    return _sqlite(document, path, test)


# PostgreSQL ---------------------------------------------------------------------------------
# `document @? '<path> ? (<filter>)'` in lax mode (arrays unwrapped at each step) can use a GIN
# index (jsonb_path_ops) for equality filters. Values are embedded as JSON-quoted literals; the
# whole path is sent as a bound parameter.


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
# One json_tree() per path step, joined in a single EXISTS (nesting one EXISTS per step would
# overflow SQLite's 100-deep parser stack on long paths). json_tree(x) yields x and everything
# nested in it; a row whose fullkey has no "." is x or an element of arrays inside x (object keys
# always add ".key"), which is exactly "x, looking through arrays".


def _sqlite(
    document: ColumnElement[object], path: tuple[str, ...], test: Test
) -> ColumnElement[bool]:
    source = _member(document, path[0])
    steps: list[Any] = []
    for index in range(len(path)):
        step = func.json_tree(source).table_valued("value", "type", "fullkey").alias()
        steps.append(step)
        if index + 1 < len(path):
            # Only objects have members; the CASE keeps `->` away from plain strings.
            source = case((step.c.type == "object", _member(step.c.value, path[index + 1])))
    joined = steps[0]
    for step in steps[1:]:
        # json_tree's argument refers to the step before it: SQLite runs it once per row there.
        joined = joined.join(step, true())
    last = steps[-1]
    return (
        select(literal_column("1"))
        .select_from(joined)
        .where(*(func.instr(step.c.fullkey, ".") == 0 for step in steps))
        .where(_sqlite_value(last.c.value, last.c.type, test))
        .exists()
    )


def _member(json_text: ColumnElement[object], segment: str) -> ColumnElement[object]:
    # `->` (SQLite ≥ 3.38) keeps JSON typing: true stays true, "30" stays a string.
    return json_text.op("->")(literal(f'$."{segment}"', String()))


def _sqlite_value(
    value: ColumnElement[object], kind: ColumnElement[object], test: Test
) -> ColumnElement[bool]:
    if isinstance(test, Exists):
        return and_(kind.not_in(["null", "array"]), or_(kind != "object", value != "{}"))
    if isinstance(test, JsonEquals):
        options = [and_(kind == "text", value == test.text)]
        if test.number is not None:
            options.append(and_(kind.in_(_NUMERIC_TYPES), value == test.number))
        if test.boolean is not None:
            options.append(kind == ("true" if test.boolean else "false"))
        return or_(*options)
    if isinstance(test, Like):
        glob = value.op("GLOB", is_comparison=True)(literal(glob_pattern(test), String()))
        return and_(kind == "text", glob)
    if isinstance(test, Range):
        numeric = any(
            bound is not None and not isinstance(bound.value, str)
            for bound in (test.low, test.high)
        )
        checks = [kind.in_(_NUMERIC_TYPES) if numeric else kind == "text"]
        if test.low is not None:
            checks.append(value >= test.low.value if test.low.inclusive else value > test.low.value)
        if test.high is not None:
            checks.append(
                value <= test.high.value if test.high.inclusive else value < test.high.value
            )
        return and_(*checks)
    raise TypeError(f"no metadata test for {test!r}")
