"""Reading the query text: limits, luqum's Lucene parser, and the escapes and `*` wildcards
inside terms and phrases."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from luqum import tree  # type: ignore[import-untyped]
from luqum.exceptions import ParseError  # type: ignore[import-untyped]
from luqum.thread import parse as luqum_parse  # type: ignore[import-untyped]

from identa.search.errors import InvalidQuery
from identa.search.query import Like

MAX_QUERY_LENGTH = 2000
MAX_DEPTH = 20  # nesting of groups, operators and fields; SQLite's parser stack is shallow
MAX_TERMS = 100  # values and range bounds; keeps SQLite under its expression-depth limit
_ALLOWED_CONTROLS = frozenset("\t\n\r")


@dataclass(frozen=True)
class Literal:
    """A term or phrase without wildcards, escapes removed."""

    text: str


def parse(query: str) -> Any:
    """luqum's tree for `query`, after checking the limits; InvalidQuery when it cannot be read."""
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"the query is {len(query)} characters long; the limit is {MAX_QUERY_LENGTH}"
        )
    for char in query:
        if unicodedata.category(char) in ("Cc", "Cs") and char not in _ALLOWED_CONTROLS:
            raise InvalidQuery(
                f"the query contains the character U+{ord(char):04X}, which is not allowed"
            )
    try:
        root = luqum_parse(query)
    except ParseError as exc:
        raise InvalidQuery(f"the query could not be parsed: {exc}") from exc
    except Exception as exc:
        # luqum also fails from inside its tree classes on odd input (`a^.` raises a decimal
        # error, `"a"~.` a ValueError); untrusted text that cannot be read is a 400, not a 500.
        raise InvalidQuery(f"the query could not be parsed near '{query[:40]}'") from exc
    _check_shape(root)
    return root


def _check_shape(root: Any) -> None:
    """Depth and size limits, checked without recursion (a deep tree must not blow the stack)."""
    terms = 0
    pending: list[tuple[Any, int]] = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidQuery(f"the query is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, tree.Term):
            terms += 1
            if terms > MAX_TERMS:
                raise InvalidQuery(f"the query has more than {MAX_TERMS} terms")
        pending.extend((child, depth + 1) for child in node.children)


def decode_word(raw: str) -> Literal | Like:
    """An unquoted term: `\\x` is a literal x, `*` a wildcard, `?` refused."""
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\":
            if index + 1 == len(raw):
                raise InvalidQuery(f"the term '{raw}' ends with a lone backslash")
            current.append(raw[index + 1])
            index += 2
            continue
        if char == "*":
            parts.append("".join(current))
            current = []
        elif char == "?":
            raise InvalidQuery(f"the ? wildcard is not supported (in '{raw}'); use *")
        else:
            current.append(char)
        index += 1
    if not parts:
        return Literal("".join(current))
    parts.append("".join(current))
    return Like(tuple(parts))


def decode_phrase(raw: str) -> Literal:
    """A quoted phrase is matched exactly: no wildcards inside, `\\"` is a quote."""
    body = raw[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        if body[index] == "\\" and index + 1 < len(body):
            out.append(body[index + 1])
            index += 2
        else:
            out.append(body[index])
            index += 1
    return Literal("".join(out))
