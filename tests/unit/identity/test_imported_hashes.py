"""Auth0's custom_password_hash algorithms: checked at import, verified at login, then rehashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import bcrypt
import pytest

from identa.identity.imported_hashes import HashSpecError, from_custom_spec
from identa.identity.passwords import PasswordHasher

PASSWORD = "Tr0ub4dor&3"


def hasher() -> PasswordHasher:
    return PasswordHasher(memory_cost_kib=1024, time_cost=1, parallelism=1)


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def phc64(raw: bytes) -> str:
    return b64(raw).rstrip("=")


SALT = b"pepper-salt"
SPECS: list[dict[str, Any]] = [
    {
        "algorithm": "md5",
        "hash": {"value": hashlib.md5(PASSWORD.encode(), usedforsecurity=False).hexdigest()},
    },
    {
        "algorithm": "sha1",
        "hash": {
            "value": b64(hashlib.sha1(PASSWORD.encode() + SALT, usedforsecurity=False).digest()),
            "encoding": "base64",
        },
        "salt": {"value": SALT.decode(), "position": "suffix"},
    },
    {
        "algorithm": "sha256",
        "hash": {"value": hashlib.sha256(SALT + PASSWORD.encode()).hexdigest(), "encoding": "hex"},
        "salt": {"value": SALT.hex(), "encoding": "hex"},
    },
    {
        "algorithm": "sha512",
        "hash": {"value": hashlib.sha512(PASSWORD.encode("utf-16-le")).hexdigest()},
        "password": {"encoding": "utf16le"},
    },
    {
        "algorithm": "hmac",
        "hash": {
            "value": hmac.new(b"k3y", PASSWORD.encode(), "sha256").hexdigest(),
            "encoding": "hex",
            "digest": "sha256",
            "key": {"value": b64(b"k3y"), "encoding": "base64"},
        },
    },
    {
        "algorithm": "pbkdf2",
        "hash": {
            "value": "$pbkdf2-sha512$i=1000,l=64$"
            + phc64(SALT)
            + "$"
            + phc64(hashlib.pbkdf2_hmac("sha512", PASSWORD.encode(), SALT, 1000, 64)),
            "encoding": "utf8",
        },
    },
    {
        "algorithm": "scrypt",
        "hash": {
            "value": hashlib.scrypt(PASSWORD.encode(), salt=SALT, n=1024, r=8, p=1, dklen=32).hex(),
            "encoding": "hex",
        },
        "salt": {"value": SALT.decode()},
        "keylen": 32,
        "cost": 1024,
    },
    {
        "algorithm": "ldap",
        "hash": {
            "value": "{SSHA}"
            + b64(hashlib.sha1(PASSWORD.encode() + SALT, usedforsecurity=False).digest() + SALT)
        },
    },
    {
        "algorithm": "bcrypt",
        "hash": {"value": bcrypt.hashpw(SALT + PASSWORD.encode(), bcrypt.gensalt(4)).decode()},
        "salt": {"value": SALT.decode(), "position": "prefix"},
    },
    {
        "algorithm": "bcrypt",
        "hash": {
            "value": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4))
            .decode()
            .replace("$2b$", "$2y$", 1)
        },
    },
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: str(s["algorithm"]))
def test_imported_hashes_verify_and_ask_for_a_rehash(spec: dict[str, Any]) -> None:
    stored = from_custom_spec(spec)
    result = hasher().verify_sync(stored, PASSWORD)
    assert result.ok and result.needs_rehash
    assert not hasher().verify_sync(stored, PASSWORD + "x").ok


@pytest.mark.parametrize(
    ("spec", "code", "path"),
    [
        ("nope", "INVALID_TYPE", "custom_password_hash"),
        ({"hash": {"value": "x"}}, "OBJECT_REQUIRED", "custom_password_hash"),
        (
            {"algorithm": "rot13", "hash": {"value": "x"}},
            "ENUM_MISMATCH",
            "custom_password_hash.algorithm",
        ),
        ({"algorithm": "md5"}, "OBJECT_REQUIRED", "custom_password_hash"),
        (
            {"algorithm": "md5", "hash": {"value": "zz", "encoding": "hex"}},
            "FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            {"algorithm": "bcrypt", "hash": {"value": "$2x$10$abc"}},
            "FORMAT",
            "custom_password_hash.hash",
        ),
        (
            {"algorithm": "argon2", "hash": {"value": "plain"}},
            "FORMAT",
            "custom_password_hash.hash",
        ),
        (
            {"algorithm": "hmac", "hash": {"value": "00", "digest": "sha256"}},
            "OBJECT_REQUIRED",
            "custom_password_hash.hash",
        ),
        (
            {"algorithm": "scrypt", "hash": {"value": "00"}},
            "OBJECT_REQUIRED",
            "custom_password_hash",
        ),
        (
            {"algorithm": "scrypt", "hash": {"value": "00"}, "keylen": 32, "cost": 2**30},
            "MAXIMUM",
            "custom_password_hash.cost",
        ),
        (
            {"algorithm": "pbkdf2", "hash": {"value": "$pbkdf2-sha256$i=x$AA$AA"}},
            "FORMAT",
            "custom_password_hash.hash.value",
        ),
        (
            {
                "algorithm": "md5",
                "hash": {"value": "00"},
                "salt": {"value": "s", "position": "middle"},
            },
            "ENUM_MISMATCH",
            "custom_password_hash.salt.position",
        ),
    ],
)
def test_unusable_specs_are_refused(spec: Any, code: str, path: str) -> None:
    with pytest.raises(HashSpecError) as caught:
        from_custom_spec(spec)
    assert (caught.value.code, caught.value.path) == (code, path)


def test_a_tampered_imported_hash_never_verifies() -> None:
    assert not hasher().verify_sync("$identa-imported$not-base64!", PASSWORD).ok
    assert not hasher().verify_sync("$identa-imported$e30", PASSWORD).ok
