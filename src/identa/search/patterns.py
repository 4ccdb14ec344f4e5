"""Wildcard patterns rendered for SQL LIKE, SQLite GLOB and SQL/JSON like_regex, with every
literal character escaped for the target syntax."""

from __future__ import annotations

import string

from identa.search.query import Like

LIKE_ESCAPE = "\\"
_REGEX_SPECIALS = frozenset(string.punctuation)


def like_pattern(pattern: Like) -> str:
    """`%` for each `*`; `%`, `_` and the escape character itself are escaped."""
    return "%".join(escape_like(part) for part in pattern.parts)


def escape_like(text: str) -> str:
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def glob_pattern(pattern: Like) -> str:
    """SQLite GLOB (case-sensitive, unlike its LIKE): literal `*`, `?` and `[` go in brackets."""
    return "*".join(
        part.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]") for part in pattern.parts
    )


def regex_pattern(pattern: Like) -> str:
    """An anchored POSIX regular expression; punctuation is escaped (a backslash before a
    non-alphanumeric character is always that literal character)."""
    escaped = (
        "".join("\\" + char if char in _REGEX_SPECIALS else char for char in part)
        for part in pattern.parts
    )
    return "^" + ".*".join(escaped) + "$"


def after_prefix(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (in code-point order),
    or None when there is none that UTF-8 can spell."""
    following = ord(prefix[-1]) + 1
    if following > 0x10FFFF or 0xD800 <= following <= 0xDFFF:
        return None
    return prefix[:-1] + chr(following)
