"""Identifiers in the formats Auth0 clients expect to see."""

from __future__ import annotations

import secrets
import string
import time

_ALNUM = string.ascii_letters + string.digits


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def database_user_id() -> str:
    """The part after `auth0|`: 24 lowercase hex digits, like a Mongo ObjectId."""
    return secrets.token_hex(12)


def connection_id() -> str:
    return "con_" + random_alnum(16)


def client_id() -> str:
    return random_alnum(32)


def client_secret() -> str:
    return secrets.token_urlsafe(48)


def log_id() -> str:
    """A 56-digit numeric id that sorts by time, as Auth0's log ids do.

    "900" + nanoseconds since the epoch (20 digits, zero padded) + 33 random digits.
    """
    stamp = f"{time.time_ns():020d}"
    tail = f"{secrets.randbelow(10**33):033d}"
    return "900" + stamp + tail


def opaque_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
