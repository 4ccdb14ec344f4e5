"""The checked, typed form of a user search: which field, which test, how they combine.

The analyzer builds it from luqum's parse tree; the SQL builders only ever see this form, so every
value in it has already been validated and converted to the field's type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class Kind(Enum):
    TEXT = "text"  # case-sensitive string
    TEXT_CI = "text, case-insensitive"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"


@dataclass(frozen=True)
class RootField:
    """A column of `users`; `name` is both the query name and the mapped attribute."""

    name: str
    kind: Kind


@dataclass(frozen=True)
class IdentityField:
    """`identities.<name>`: true when at least one of the user's identities matches."""

    name: str
    column: str
    kind: Kind


@dataclass(frozen=True)
class EmailDomain:
    """`email.domain`: the part of the e-mail after the @, case-insensitive."""


@dataclass(frozen=True)
class MetadataField:
    """`user_metadata.a.b` or `app_metadata.a.b`: a path into a JSON document."""

    document: str
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return ".".join((self.document, *self.path))


@dataclass(frozen=True)
class AnyText:
    """A term without a field: any of these text columns (case-insensitive for users; log
    search compares case-sensitively, as every log field is)."""

    columns: tuple[str, ...]


Field = RootField | IdentityField | EmailDomain | MetadataField | AnyText


@dataclass(frozen=True)
class Equals:
    """The whole value equals this (already converted to the field's type)."""

    value: str | int | bool


@dataclass(frozen=True)
class JsonEquals:
    """A metadata value equals the query text as a JSON string, or as the number or boolean the
    text spells (`30` matches both 30 and "30")."""

    text: str
    number: int | float | None
    boolean: bool | None


@dataclass(frozen=True)
class Like:
    """A `*` wildcard pattern: the literal parts between the wildcards, in order.

    `j*` is ("j", ""), `*ich*` is ("", "ich", ""), `a*b` is ("a", "b").
    """

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Bound:
    value: str | int | float | datetime
    inclusive: bool


@dataclass(frozen=True)
class Range:
    """Between two bounds; None is an open end. Metadata ranges hold either only numbers or
    only strings."""

    low: Bound | None
    high: Bound | None


@dataclass(frozen=True)
class Exists:
    """The field has a value (SQL: IS NOT NULL; metadata: a non-null, non-empty value)."""


Test = Equals | JsonEquals | Like | Range | Exists


@dataclass(frozen=True)
class Condition:
    field: Field
    test: Test


@dataclass(frozen=True)
class AllOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    """`*` alone, or an empty query."""


Node = Condition | AllOf | AnyOf | Not | MatchAll
