"""Password hashes brought in by a users import (Auth0's `password_hash` and
`custom_password_hash`): checked when imported, stored in a form `PasswordHasher` can verify.

bcrypt and argon2 PHC strings are stored as they are. Everything else (md4/md5/sha*, hmac,
pbkdf2, scrypt, ldap, salted bcrypt) is stored as `$identa-imported$<base64url JSON>` holding the
algorithm's parameters. Every imported hash is replaced by argon2id at the first successful login.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

import bcrypt

IMPORTED_PREFIX = "$identa-imported$"
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
_ARGON2 = re.compile(
    r"^\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$"
)
_PBKDF2 = re.compile(
    r"^\$pbkdf2(?:-([a-z0-9\-]+))?\$([^$]*)\$([A-Za-z0-9+/.=]*)\$([A-Za-z0-9+/.=]+)$"
)
_LDAP = re.compile(r"^\{([A-Za-z0-9]+)\}([A-Za-z0-9+/=]+)$")

DIGESTS = ("md4", "md5", "ripemd160", "sha1", "sha224", "sha256", "sha384", "sha512", "whirlpool")
PLAIN_DIGESTS = ("md4", "md5", "sha1", "sha256", "sha512")
ALGORITHMS = ("argon2", "bcrypt", "hmac", "ldap", *PLAIN_DIGESTS, "pbkdf2", "scrypt")
PASSWORD_ENCODINGS = {
    "ascii": "ascii",
    "utf8": "utf-8",
    "utf16le": "utf-16-le",
    "ucs2": "utf-16-le",
    "latin1": "latin-1",
    "binary": "latin-1",
}
LDAP_SCHEMES = {
    "MD5": ("md5", False),
    "SMD5": ("md5", True),
    "SHA": ("sha1", False),
    "SSHA": ("sha1", True),
    "SHA256": ("sha256", False),
    "SSHA256": ("sha256", True),
    "SHA384": ("sha384", False),
    "SSHA384": ("sha384", True),
    "SHA512": ("sha512", False),
    "SSHA512": ("sha512", True),
}
# scrypt parameters beyond these would let one import row pin a CPU core or exhaust memory.
SCRYPT_MAX_COST = 2**20
SCRYPT_MAX_MEMORY = 256 * 1024 * 1024


class HashSpecError(ValueError):
    """An imported hash that cannot be used; `code` is one of Auth0's job error codes."""

    def __init__(self, code: str, message: str, path: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path


def digest_available(name: str) -> bool:
    try:
        hashlib.new(name)
    except ValueError:
        return False
    return True


def is_bcrypt(value: str) -> bool:
    return bool(_BCRYPT.match(value))


def check_password_hash(value: Any) -> str:
    """Auth0's `password_hash`: a bcrypt hash, stored unchanged."""
    if not isinstance(value, str):
        raise HashSpecError(
            "INVALID_TYPE", f"Expected type string but found type {_kind(value)}", "password_hash"
        )
    if not is_bcrypt(value):
        raise HashSpecError(
            "PATTERN", "password_hash must be a bcrypt hash ($2a$ or $2b$)", "password_hash"
        )
    return value


def from_custom_spec(spec: Any) -> str:
    """Auth0's `custom_password_hash` object as the string kept in the credential."""
    root = "custom_password_hash"
    if not isinstance(spec, dict):
        raise HashSpecError("INVALID_TYPE", f"Expected type object but found {_kind(spec)}", root)
    algorithm = spec.get("algorithm")
    if algorithm is None:
        raise HashSpecError("OBJECT_REQUIRED", "Missing required property: algorithm", root)
    if algorithm not in ALGORITHMS:
        raise HashSpecError(
            "ENUM_MISMATCH", f"No enum match for: {algorithm!r}", f"{root}.algorithm"
        )
    hash_spec = spec.get("hash")
    if not isinstance(hash_spec, dict):
        raise HashSpecError("OBJECT_REQUIRED", "Missing required property: hash", root)
    value = hash_spec.get("value")
    if not isinstance(value, str) or not value:
        raise HashSpecError("OBJECT_REQUIRED", "Missing required property: value", f"{root}.hash")
    if len(value) > 4096:
        raise HashSpecError("MAX_LENGTH", "String is too long", f"{root}.hash.value")
    params: dict[str, Any] = {"a": algorithm}
    password = spec.get("password")
    if password is not None:
        encoding = password.get("encoding", "utf8") if isinstance(password, dict) else None
        if encoding not in PASSWORD_ENCODINGS:
            raise HashSpecError(
                "ENUM_MISMATCH", f"No enum match for: {encoding!r}", f"{root}.password.encoding"
            )
        if encoding != "utf8":
            params["e"] = encoding
    salt = _salt(spec.get("salt"), f"{root}.salt")

    if algorithm == "argon2":
        if not _ARGON2.match(value):
            raise HashSpecError("FORMAT", "hash.value must be an argon2 PHC string", f"{root}.hash")
        return value
    if algorithm == "bcrypt":
        if not value.startswith(BCRYPT_PREFIXES) or not is_bcrypt(value):
            raise HashSpecError(
                "FORMAT", "hash.value must be a bcrypt hash ($2a$, $2b$ or $2y$)", f"{root}.hash"
            )
        if salt is None and "e" not in params:
            return value
        params["b"] = value
        _put_salt(params, salt)
        return _pack(params)
    if algorithm == "pbkdf2":
        return _pack({**params, **_pbkdf2(value, f"{root}.hash.value")})
    if algorithm == "ldap":
        return _pack({**params, **_ldap(value, f"{root}.hash.value")})

    encoding = hash_spec.get("encoding", "hex")
    if encoding not in ("hex", "base64"):
        raise HashSpecError(
            "ENUM_MISMATCH", f"No enum match for: {encoding!r}", f"{root}.hash.encoding"
        )
    params["h"] = _b64(_decode(value, encoding, f"{root}.hash.value"))
    _put_salt(params, salt)
    if algorithm in PLAIN_DIGESTS:
        if not digest_available(algorithm):
            raise HashSpecError(
                "ENUM_MISMATCH", f"{algorithm} is not available on this server", f"{root}.algorithm"
            )
        return _pack(params)
    if algorithm == "hmac":
        digest = hash_spec.get("digest")
        if digest not in DIGESTS or not digest_available(str(digest)):
            raise HashSpecError(
                "ENUM_MISMATCH", f"No enum match for: {digest!r}", f"{root}.hash.digest"
            )
        key = hash_spec.get("key")
        if not isinstance(key, dict) or not isinstance(key.get("value"), str):
            raise HashSpecError("OBJECT_REQUIRED", "Missing required property: key", f"{root}.hash")
        key_encoding = key.get("encoding", "utf8")
        params["d"] = digest
        params["k"] = _b64(_decode(key["value"], key_encoding, f"{root}.hash.key.value"))
        return _pack(params)
    # scrypt
    keylen = spec.get("keylen")
    if not isinstance(keylen, int) or isinstance(keylen, bool) or not 1 <= keylen <= 1024:
        raise HashSpecError("OBJECT_REQUIRED", "keylen must be an integer (1-1024)", root)
    cost, block, parallel = (
        spec.get("cost", 16384),
        spec.get("blockSize", 8),
        spec.get("parallelization", 1),
    )
    for name, number in (("cost", cost), ("blockSize", block), ("parallelization", parallel)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise HashSpecError("INVALID_TYPE", f"{name} must be a positive integer", root)
    if cost > SCRYPT_MAX_COST or cost & (cost - 1) or 128 * cost * block > SCRYPT_MAX_MEMORY:
        raise HashSpecError("MAXIMUM", "scrypt parameters are too large", f"{root}.cost")
    params.update(n=cost, r=block, q=parallel, l=keylen)
    return _pack(params)


def verify_imported(stored_hash: str, password: str) -> bool:
    """Checks a password against an `$identa-imported$` hash."""
    try:
        params = json.loads(base64.urlsafe_b64decode(_pad(stored_hash[len(IMPORTED_PREFIX) :])))
        return _verify(params, password)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return False


def _verify(params: dict[str, Any], password: str) -> bool:
    algorithm = params["a"]
    secret = password.encode(PASSWORD_ENCODINGS[params.get("e", "utf8")])
    salt = base64.b64decode(params["s"]) if "s" in params else b""
    salted = secret + salt if params.get("p") == "suffix" else salt + secret
    if algorithm == "bcrypt":
        stored = params["b"]
        stored = "$2b$" + stored[4:] if stored.startswith("$2y$") else stored
        return bcrypt.checkpw(salted, stored.encode("ascii"))
    expected = base64.b64decode(params["h"])
    if algorithm in PLAIN_DIGESTS:
        actual = hashlib.new(algorithm, salted).digest()
    elif algorithm == "hmac":
        actual = hmac.new(base64.b64decode(params["k"]), salted, params["d"]).digest()
    elif algorithm == "pbkdf2":
        actual = hashlib.pbkdf2_hmac(params["d"], secret, salt, params["i"], len(expected))
    elif algorithm == "ldap":
        actual = hashlib.new(params["d"], secret + salt).digest()
    elif algorithm == "scrypt":
        actual = hashlib.scrypt(
            secret,
            salt=salt,
            n=params["n"],
            r=params["r"],
            p=params["q"],
            dklen=params["l"],
            maxmem=SCRYPT_MAX_MEMORY + 1024 * 1024,
        )
        expected = expected[: params["l"]]
    else:
        return False
    return hmac.compare_digest(actual, expected)


def _pbkdf2(value: str, path: str) -> dict[str, Any]:
    match = _PBKDF2.match(value)
    if not match:
        raise HashSpecError("FORMAT", "hash.value must be a pbkdf2 PHC string", path)
    digest = (match.group(1) or "sha1").replace("-", "")
    if digest not in DIGESTS or not digest_available(digest):
        raise HashSpecError("ENUM_MISMATCH", f"unsupported pbkdf2 digest: {digest}", path)
    options = dict(part.split("=", 1) for part in match.group(2).split(",") if "=" in part)
    try:
        iterations = int(options.get("i", options.get("rounds", "100000")))
    except ValueError as exc:
        raise HashSpecError("FORMAT", "pbkdf2 iterations must be a number", path) from exc
    if not 1 <= iterations <= 10_000_000:
        raise HashSpecError("MAXIMUM", "pbkdf2 iterations out of range", path)
    salt = _phc_b64(match.group(3), path)
    expected = _phc_b64(match.group(4), path)
    return {"d": digest, "i": iterations, "s": _b64(salt), "h": _b64(expected)}


def _ldap(value: str, path: str) -> dict[str, Any]:
    match = _LDAP.match(value)
    if not match or match.group(1).upper() not in LDAP_SCHEMES:
        raise HashSpecError("FORMAT", "hash.value must be an RFC 2307 {SCHEME}base64 hash", path)
    digest, salted = LDAP_SCHEMES[match.group(1).upper()]
    raw = _decode(match.group(2), "base64", path)
    size = hashlib.new(digest).digest_size
    if len(raw) < size or (not salted and len(raw) != size):
        raise HashSpecError("FORMAT", "the hash has the wrong length for its scheme", path)
    out = {"d": digest, "h": _b64(raw[:size])}
    if salted:
        out["s"] = _b64(raw[size:])
    return out


def _salt(value: Any, path: str) -> tuple[bytes, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise HashSpecError("OBJECT_REQUIRED", "Missing required property: value", path)
    position = value.get("position", "prefix")
    if position not in ("prefix", "suffix"):
        raise HashSpecError("ENUM_MISMATCH", f"No enum match for: {position!r}", f"{path}.position")
    raw = _decode(value["value"], value.get("encoding", "utf8"), f"{path}.value")
    return raw, position


def _put_salt(params: dict[str, Any], salt: tuple[bytes, str] | None) -> None:
    if salt is not None:
        params["s"] = _b64(salt[0])
        params["p"] = salt[1]


def _decode(value: str, encoding: Any, path: str) -> bytes:
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        if encoding == "base64":
            return base64.b64decode(_pad(value.strip()), validate=True)
        if encoding == "utf8":
            return value.encode("utf-8")
    except (ValueError, binascii.Error) as exc:
        raise HashSpecError("FORMAT", f"not valid {encoding}", path) from exc
    raise HashSpecError("ENUM_MISMATCH", f"No enum match for: {encoding!r}", path)


def _phc_b64(value: str, path: str) -> bytes:
    # PHC strings use unpadded base64; passlib's variant writes "." for "+".
    return _decode(value.replace(".", "+"), "base64", path)


def _pad(value: str) -> str:
    return value + "=" * (-len(value) % 4)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _pack(params: dict[str, Any]) -> str:
    raw = json.dumps(params, separators=(",", ":"), sort_keys=True).encode()
    return IMPORTED_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
