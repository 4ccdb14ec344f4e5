"""Which names a query may search, and what kind of value each holds."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from identa.search.errors import InvalidQuery
from identa.search.query import (
    AnyText,
    EmailDomain,
    Field,
    IdentityField,
    Kind,
    MetadataField,
    RootField,
)


@dataclass(frozen=True)
class FieldMap:
    """One searchable collection: how a field name resolves (InvalidQuery when it does not), what
    a term without a field searches, and a range to show in the error for a range without one."""

    resolve: Callable[[str], Field]
    bare_term: AnyText
    range_example: str


# Auth0's searchable root attributes (profile schema "search" flag); `picture` is not searchable.
ROOT_FIELDS: dict[str, Kind] = {
    "user_id": Kind.TEXT,
    "email": Kind.TEXT_CI,
    "email_verified": Kind.BOOLEAN,
    "username": Kind.TEXT,
    "phone_number": Kind.TEXT,
    "phone_verified": Kind.BOOLEAN,
    "name": Kind.TEXT_CI,
    "given_name": Kind.TEXT_CI,
    "family_name": Kind.TEXT_CI,
    "nickname": Kind.TEXT_CI,
    "created_at": Kind.DATE,
    "updated_at": Kind.DATE,
    "last_login": Kind.DATE,
    "last_ip": Kind.TEXT,
    "logins_count": Kind.INTEGER,
    "blocked": Kind.BOOLEAN,
}

IDENTITY_FIELDS: dict[str, IdentityField] = {
    "connection": IdentityField("connection", "connection_name", Kind.TEXT),
    "provider": IdentityField("provider", "provider", Kind.TEXT),
    "user_id": IdentityField("user_id", "provider_user_id", Kind.TEXT),
    "isSocial": IdentityField("isSocial", "is_social", Kind.BOOLEAN),
}

# What a term without a field searches (never metadata).
BARE_TERM = AnyText(
    ("email", "name", "given_name", "family_name", "nickname", "username", "user_id")
)

METADATA_DOCUMENTS = ("user_metadata", "app_metadata")
MAX_PATH_SEGMENTS = 16
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def resolve(name: str) -> Field:
    if name in ROOT_FIELDS:
        return RootField(name, ROOT_FIELDS[name])
    if name == "email.domain":
        return EmailDomain()
    head, dot, rest = name.partition(".")
    if dot and head == "identities":
        if rest in IDENTITY_FIELDS:
            return IDENTITY_FIELDS[rest]
        known = ", ".join(f"identities.{key}" for key in IDENTITY_FIELDS)
        raise InvalidQuery(f"unknown field '{name}': searchable identity fields are {known}")
    if head in METADATA_DOCUMENTS:
        return _metadata(head, rest, dotted=bool(dot), name=name)
    if name == "picture":
        raise InvalidQuery("the field 'picture' is not searchable")
    raise InvalidQuery(f"unknown field '{name}'")


def _metadata(document: str, rest: str, *, dotted: bool, name: str) -> MetadataField:
    if not dotted or not rest:
        raise InvalidQuery(f"'{document}' needs a path, for example {document}.plan")
    path = tuple(rest.split("."))
    if path[-1] == "raw" and len(path) > 1:
        raise InvalidQuery(f"the .raw suffix is not supported ('{name}')")
    if len(path) > MAX_PATH_SEGMENTS:
        raise InvalidQuery(f"the path '{name}' has more than {MAX_PATH_SEGMENTS} parts")
    for segment in path:
        if not _SEGMENT.fullmatch(segment):
            raise InvalidQuery(
                f"invalid path '{name}': each part may only hold letters, digits, '_' and '-'"
            )
    return MetadataField(document, path)


USER_FIELDS = FieldMap(resolve, BARE_TERM, "logins_count:[1 TO 10]")
