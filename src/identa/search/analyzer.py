"""Turns luqum's parse tree into the typed query (identa.search.query), enforcing which fields
exist (a FieldMap: users, logs) and which tests each kind of field allows."""

from __future__ import annotations

from typing import Any

from luqum import tree  # type: ignore[import-untyped]

from identa.search.errors import InvalidQuery
from identa.search.fields import USER_FIELDS, FieldMap
from identa.search.query import (
    AllOf,
    AnyOf,
    AnyText,
    Bound,
    Condition,
    EmailDomain,
    Equals,
    Exists,
    Field,
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
)
from identa.search.syntax import Literal, decode_phrase, decode_word, parse
from identa.search.values import (
    json_boolean,
    json_number,
    parse_boolean,
    parse_integer,
    parse_period,
)

EXISTS_FIELD = "_exists_"
MIN_LEADING_WILDCARD_LITERAL = 3
_TEXT_KINDS = (Kind.TEXT, Kind.TEXT_CI)


class _ExistsMarker:
    """Field context inside `_exists_:…`, where each term names a field."""


_EXISTS = _ExistsMarker()
Context = Field | _ExistsMarker | None


def parse_user_query(query: str) -> Node:
    """The typed form of an Auth0 user-search query; InvalidQuery when it is not acceptable."""
    return parse_query(query, USER_FIELDS)


def parse_query(query: str, fields: FieldMap) -> Node:
    """The typed form of `query` over the fields of `fields`; InvalidQuery when not acceptable."""
    if not query.strip():
        return MatchAll()
    return _node(parse(query), None, fields)


def field_label(field: Field) -> str:
    if isinstance(field, RootField):
        return field.name
    if isinstance(field, IdentityField):
        return f"identities.{field.name}"
    if isinstance(field, EmailDomain):
        return "email.domain"
    if isinstance(field, MetadataField):
        return field.name
    return "a term without a field"


def _node(item: Any, context: Context, fields: FieldMap) -> Node:
    if isinstance(item, tree.SearchField):
        name = str(item.name)
        if context is not None:
            raise InvalidQuery(f"the field '{name}' cannot be used inside another field's value")
        return _node(item.expr, _EXISTS if name == EXISTS_FIELD else fields.resolve(name), fields)
    if isinstance(item, tree.BaseGroup):
        return _node(item.expr, context, fields)
    if isinstance(item, tree.AndOperation | tree.UnknownOperation):
        # An implicit operator (`a b`) is AND, Auth0's documented default for user search.
        return _all_of([_node(operand, context, fields) for operand in item.operands])
    if isinstance(item, tree.OrOperation):
        return _any_of([_node(operand, context, fields) for operand in item.operands])
    if isinstance(item, tree.Not | tree.Prohibit):
        inner = _node(item.a, context, fields)
        return inner.item if isinstance(inner, Not) else Not(inner)
    if isinstance(item, tree.Plus):
        return _node(item.a, context, fields)
    if isinstance(item, tree.Boost):
        return _node(item.expr, context, fields)  # relevance is meaningless for a filter
    if isinstance(item, tree.Word):
        return _term(decode_word(str(item.value)), context, fields)
    if isinstance(item, tree.Phrase):
        return _term(decode_phrase(str(item.value)), context, fields)
    if isinstance(item, tree.Range):
        return _range(
            _bound_text(item.low), bool(item.include_low),
            _bound_text(item.high), bool(item.include_high),
            context, fields,
        )  # fmt: skip
    if isinstance(item, tree.From):
        return _range(_bound_text(item.a), bool(item.include), None, True, context, fields)
    if isinstance(item, tree.To):
        return _range(None, True, _bound_text(item.a), bool(item.include), context, fields)
    if isinstance(item, tree.Fuzzy | tree.Proximity):
        raise InvalidQuery(f"fuzzy and proximity searches (~) are not supported: '{item}'")
    if isinstance(item, tree.Regex):
        raise InvalidQuery(f"regular expressions are not supported: '{item}'")
    raise InvalidQuery(f"unsupported syntax: '{item}'")


# Flattening `(a AND b) AND c` and dropping `NOT NOT` keeps the SQL shallow: SQLite's parser
# gives up past about a hundred nested levels.


def _all_of(items: list[Node]) -> Node:
    flat = [part for item in items for part in (item.items if isinstance(item, AllOf) else [item])]
    return flat[0] if len(flat) == 1 else AllOf(tuple(flat))


def _any_of(items: list[Node]) -> Node:
    flat = [part for item in items for part in (item.items if isinstance(item, AnyOf) else [item])]
    return flat[0] if len(flat) == 1 else AnyOf(tuple(flat))


def _term(value: Literal | Like, context: Context, fields: FieldMap) -> Node:
    if isinstance(context, _ExistsMarker):
        if not isinstance(value, Literal):
            raise InvalidQuery("_exists_ takes a field name, not a pattern")
        return Condition(fields.resolve(value.text), Exists())
    field: Field = fields.bare_term if context is None else context
    if isinstance(value, Like):
        if not any(value.parts):  # `*` alone: any value at all
            return MatchAll() if isinstance(field, AnyText) else Condition(field, Exists())
        _check_pattern(value, field)
        return Condition(field, value)
    return Condition(field, _equals(value.text, field))


def _check_pattern(pattern: Like, field: Field) -> None:
    kind = field.kind if isinstance(field, RootField | IdentityField) else Kind.TEXT
    if kind not in _TEXT_KINDS:
        raise InvalidQuery(f"wildcards are not supported on {field_label(field)}")
    literal_length = sum(len(part) for part in pattern.parts)
    if pattern.parts[0] == "" and literal_length < MIN_LEADING_WILDCARD_LITERAL:
        raise InvalidQuery(
            f"a pattern starting with * needs at least {MIN_LEADING_WILDCARD_LITERAL} other "
            f"characters: '{'*'.join(pattern.parts)}'"
        )


def _equals(text: str, field: Field) -> Equals | JsonEquals | Range:
    if isinstance(field, MetadataField):
        return JsonEquals(text, json_number(text), json_boolean(text))
    if not isinstance(field, RootField | IdentityField):
        return Equals(text)
    label = field_label(field)
    if field.kind is Kind.INTEGER:
        return Equals(parse_integer(text, label))
    if field.kind is Kind.BOOLEAN:
        return Equals(parse_boolean(text, label))
    if field.kind is Kind.DATE:
        # A date names a period; `created_at:2017-12` is any time in December 2017.
        period = parse_period(text, label)
        return Range(Bound(period.start, True), Bound(period.end, False))
    return Equals(text)


def _bound_text(item: Any) -> str | None:
    """A range bound's text, or None for `*` (open)."""
    if isinstance(item, tree.Prohibit) and isinstance(item.a, tree.Word | tree.Phrase):
        inner = _bound_text(item.a)
        if inner is None:
            raise InvalidQuery("a range bound cannot be '-*'")
        return "-" + inner
    if isinstance(item, tree.Phrase):
        return decode_phrase(str(item.value)).text
    if isinstance(item, tree.Word):
        value = decode_word(str(item.value))
        if isinstance(value, Literal):
            return value.text
        if not any(value.parts):
            return None
        raise InvalidQuery(f"wildcards are not allowed in range bounds: '{item.value}'")
    raise InvalidQuery(f"invalid range bound: '{item}'")


def _range(
    low: str | None,
    include_low: bool,
    high: str | None,
    include_high: bool,
    context: Context,
    fields: FieldMap,
) -> Node:
    if context is None:
        raise InvalidQuery(f"a range needs a field, for example {fields.range_example}")
    if isinstance(context, _ExistsMarker):
        raise InvalidQuery("_exists_ takes a field name, not a range")
    field = context
    label = field_label(field)
    if isinstance(field, EmailDomain | AnyText):
        raise InvalidQuery(f"ranges are not supported on {label}")
    if low is None and high is None:
        return Condition(field, Exists())
    if isinstance(field, MetadataField):
        return Condition(field, _metadata_range(low, include_low, high, include_high))
    kind = field.kind
    if kind is Kind.BOOLEAN:
        raise InvalidQuery(f"ranges are not supported on {label} (a boolean)")
    if kind is Kind.INTEGER:
        return Condition(
            field,
            Range(
                None if low is None else Bound(parse_integer(low, label), include_low),
                None if high is None else Bound(parse_integer(high, label), include_high),
            ),
        )
    if kind is Kind.DATE:
        return Condition(field, _date_range(low, include_low, high, include_high, label))
    return Condition(
        field,
        Range(
            None if low is None else Bound(low, include_low),
            None if high is None else Bound(high, include_high),
        ),
    )


def _date_range(
    low: str | None, include_low: bool, high: str | None, include_high: bool, label: str
) -> Range:
    """Each bound is a period: `[2017-12 TO` starts with December, `{2017-12 TO` after it;
    `TO 2017-12]` ends with December (inclusive), `TO 2017-12}` before it."""
    start = end = None
    if low is not None:
        period = parse_period(low, label)
        start = Bound(period.start if include_low else period.end, True)
    if high is not None:
        period = parse_period(high, label)
        end = Bound(period.end if include_high else period.start, False)
    return Range(start, end)


def _metadata_range(
    low: str | None, include_low: bool, high: str | None, include_high: bool
) -> Range:
    """Numbers when every bound is a number, otherwise strings (compared by code point)."""
    texts = [text for text in (low, high) if text is not None]
    numbers = [json_number(text) for text in texts]
    if all(number is not None for number in numbers):

        def bound(text: str | None, inclusive: bool) -> Bound | None:
            if text is None:
                return None
            number = json_number(text)
            assert number is not None
            return Bound(number, inclusive)

        return Range(bound(low, include_low), bound(high, include_high))
    return Range(
        None if low is None else Bound(low, include_low),
        None if high is None else Bound(high, include_high),
    )
