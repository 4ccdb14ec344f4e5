"""Validation of users-import records against Auth0's import schema, in pure Python.

Each record becomes either a `ValidRecord` or a list of Auth0-style errors {code, message, path}
(codes such as OBJECT_REQUIRED, INVALID_TYPE, FORMAT, MAX_LENGTH, PATTERN, DUPLICATED_USER).
This runs for every row of a large file, so the common case (an ASCII e-mail) avoids the full
e-mail validator: the domain is checked once and cached, the local part by a strict pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from identa.core import ids
from identa.core.errors import InvalidInput
from identa.identity.bulk import UPSERTABLE, ImportedUser
from identa.identity.errors import InvalidEmail
from identa.identity.imported_hashes import HashSpecError, check_password_hash, from_custom_spec
from identa.identity.profile import PICTURE_MAX, validate_metadata
from identa.identity.validation import (
    MAX_EMAIL_LENGTH,
    MAX_LOCAL_PART,
    MAX_USERNAME,
    USERNAME_PATTERN,
    normalize_email,
)

ErrorList = list[dict[str, str]]

STRING_LIMITS = {"given_name": 150, "family_name": 150, "name": 300, "nickname": 300}
BOOLEANS = ("email_verified", "phone_verified", "blocked")
PHONE = re.compile(r"^\+[0-9]{1,15}$")
LOCAL_ID = re.compile(r"^[^\s|]+$")
MAX_LOCAL_ID = 255 - len("auth0|")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ASCII_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_EMAIL_LIKE_USERNAME = re.compile(r"^[^@]+@[^@]+\.[^@]+$")
_DOMAIN_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class ValidRecord:
    user: ImportedUser
    # Upsertable root attributes the record sets; on upsert only these change.
    changes: dict[str, Any]
    # A custom_password_hash (upsertable, unlike password_hash, which only applies to inserts).
    custom_hash: str | None


def error(code: str, message: str, path: str = "") -> dict[str, str]:
    return {"code": code, "message": message, "path": path}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "integer" if isinstance(value, int) else "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


class EmailNormalizer:
    """Same answers as identity.validation.normalize_email, fast for plain ASCII addresses."""

    def __init__(self) -> None:
        self._domains: dict[str, str | None] = {}

    def __call__(self, email: str) -> str:
        email = email.strip()
        if len(email) > MAX_EMAIL_LENGTH:
            raise InvalidEmail(f"Email must be at most {MAX_EMAIL_LENGTH} characters.")
        local, at, domain = email.rpartition("@")
        if at and domain.isascii() and len(local) <= MAX_LOCAL_PART and _ASCII_LOCAL.match(local):
            normalized = self._domain(domain)
            if normalized is not None:
                return f"{local}@{normalized}".lower()
        return normalize_email(email)

    def _domain(self, domain: str) -> str | None:
        if domain in self._domains:
            return self._domains[domain]
        try:
            normalized: str | None = normalize_email(f"a@{domain}").rpartition("@")[2]
        except InvalidEmail:
            normalized = None  # let the full validator produce the message
        if len(self._domains) >= _DOMAIN_CACHE_SIZE:
            self._domains.clear()
        self._domains[domain] = normalized
        return normalized


class RecordValidator:
    def __init__(self, *, requires_username: bool, username_min: int, username_max: int) -> None:
        self._requires_username = requires_username
        self._username_min = username_min
        self._username_max = min(username_max, MAX_USERNAME)
        self._email = EmailNormalizer()

    def validate(self, raw: Any) -> ValidRecord | ErrorList:
        if not isinstance(raw, dict):
            return [error("INVALID_TYPE", f"Expected type object but found type {kind(raw)}")]
        errors: ErrorList = []
        email = self._check_email(raw.get("email"), errors)
        strings: dict[str, str | None] = {}
        for key, limit in STRING_LIMITS.items():
            strings[key] = self._string(raw, key, limit, errors)
        picture = self._string(raw, "picture", PICTURE_MAX, errors)
        if picture is not None and not picture.startswith(("https://", "http://")):
            errors.append(
                error("FORMAT", "Object didn't pass validation for format uri", "picture")
            )
        flags = {key: self._boolean(raw, key, errors) for key in BOOLEANS}
        username = self._check_username(raw.get("username"), errors)
        phone = self._string(raw, "phone_number", 16, errors)
        if phone is not None and not PHONE.match(phone):
            errors.append(
                error("PATTERN", "String does not match pattern ^\\+[0-9]{1,15}$", "phone_number")
            )
        local_id = self._check_user_id(raw.get("user_id"), errors)
        metadata = {
            key: self._metadata(raw, key, errors) for key in ("user_metadata", "app_metadata")
        }
        password_hash, custom_hash = self._check_hashes(raw, errors)
        factors = raw.get("mfa_factors")
        if factors is not None and not isinstance(factors, list):
            errors.append(
                error("INVALID_TYPE", f"Expected type array but found type {kind(factors)}",
                      "mfa_factors")
            )  # fmt: skip
        if errors or email is None:
            return errors
        user = ImportedUser(
            local_id=local_id or ids.database_user_id(),
            email=email,
            email_verified=bool(flags["email_verified"]),
            username=username,
            phone_number=phone,
            phone_verified=bool(flags["phone_verified"]),
            given_name=strings["given_name"],
            family_name=strings["family_name"],
            name=strings["name"],
            nickname=strings["nickname"],
            picture=picture,
            blocked=bool(flags["blocked"]),
            user_metadata=metadata["user_metadata"],
            app_metadata=metadata["app_metadata"],
            password_hash=password_hash or custom_hash,
        )
        values = {**strings, "picture": picture, **flags, **metadata}
        changes = {key: values[key] for key in UPSERTABLE if raw.get(key) is not None}
        return ValidRecord(user=user, changes=changes, custom_hash=custom_hash)

    # -- fields ----------------------------------------------------------------------------

    def _check_email(self, value: Any, errors: ErrorList) -> str | None:
        if value is None:
            errors.append(error("OBJECT_REQUIRED", "Missing required property: email", "email"))
            return None
        if not isinstance(value, str):
            errors.append(
                error("INVALID_TYPE", f"Expected type string but found type {kind(value)}", "email")
            )
            return None
        if len(value) > MAX_EMAIL_LENGTH:
            errors.append(
                error("MAX_LENGTH", f"String is too long ({len(value)} chars), maximum "
                      f"{MAX_EMAIL_LENGTH}", "email")
            )  # fmt: skip
            return None
        try:
            return self._email(value)
        except InvalidEmail as exc:
            errors.append(
                error("FORMAT", f"Object didn't pass validation for format email: {exc.message}",
                      "email")
            )  # fmt: skip
            return None

    def _check_username(self, raw_value: Any, errors: ErrorList) -> str | None:
        if raw_value is None:
            if self._requires_username:
                errors.append(
                    error("OBJECT_REQUIRED", "Missing required property: username", "username")
                )
            return None
        if not isinstance(raw_value, str):
            errors.append(
                error("INVALID_TYPE", f"Expected type string but found type {kind(raw_value)}",
                      "username")
            )  # fmt: skip
            return None
        value: str = raw_value.strip()
        if len(value) > self._username_max:
            errors.append(
                error("MAX_LENGTH", f"String is too long ({len(value)} chars), maximum "
                      f"{self._username_max}", "username")
            )  # fmt: skip
        elif len(value) < self._username_min:
            errors.append(
                error("MIN_LENGTH", f"String is too short ({len(value)} chars), minimum "
                      f"{self._username_min}", "username")
            )  # fmt: skip
        elif not USERNAME_PATTERN.match(value):
            errors.append(
                error("PATTERN", "Username may contain letters, digits and @ ` ^ $ ! - # . + ' ~ _"
                      " only", "username")
            )  # fmt: skip
        elif "@" in value and _EMAIL_LIKE_USERNAME.match(value):
            errors.append(error("FORMAT", "Username may not be an email address", "username"))
        else:
            return value.lower()
        return None

    def _check_user_id(self, raw_value: Any, errors: ErrorList) -> str | None:
        if raw_value is None:
            return None
        if not isinstance(raw_value, str):
            errors.append(
                error("INVALID_TYPE", f"Expected type string but found type {kind(raw_value)}",
                      "user_id")
            )  # fmt: skip
            return None
        value: str = raw_value.removeprefix("auth0|")
        if len(value) > MAX_LOCAL_ID:
            errors.append(
                error("MAX_LENGTH", f"String is too long ({len(value)} chars), maximum "
                      f"{MAX_LOCAL_ID}", "user_id")
            )  # fmt: skip
            return None
        if not value or not LOCAL_ID.match(value):
            errors.append(
                error("PATTERN", "user_id may not be empty or contain spaces or '|'", "user_id")
            )
            return None
        return value

    def _string(self, raw: dict[str, Any], key: str, limit: int, errors: ErrorList) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            errors.append(
                error("INVALID_TYPE", f"Expected type string but found type {kind(value)}", key)
            )
            return None
        if len(value) > limit:
            errors.append(
                error("MAX_LENGTH", f"String is too long ({len(value)} chars), maximum {limit}",
                      key)
            )  # fmt: skip
            return None
        if not value.strip():
            errors.append(error("MIN_LENGTH", "String is too short (0 chars), minimum 1", key))
            return None
        return value.strip()

    def _boolean(self, raw: dict[str, Any], key: str, errors: ErrorList) -> bool | None:
        value = raw.get(key)
        if value is None or isinstance(value, bool):
            return value
        errors.append(
            error("INVALID_TYPE", f"Expected type boolean but found type {kind(value)}", key)
        )
        return None

    def _metadata(self, raw: dict[str, Any], key: str, errors: ErrorList) -> dict[str, Any] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            errors.append(
                error("INVALID_TYPE", f"Expected type object but found type {kind(value)}", key)
            )
            return None
        try:
            return validate_metadata(value, key)
        except InvalidInput as exc:
            errors.append(error("NOT_PASSED", exc.message, key))
            return None

    def _check_hashes(
        self, raw: dict[str, Any], errors: ErrorList
    ) -> tuple[str | None, str | None]:
        plain, custom = raw.get("password_hash"), raw.get("custom_password_hash")
        if plain is not None and custom is not None:
            errors.append(
                error("NOT_PASSED", "password_hash and custom_password_hash are mutually "
                      "exclusive", "custom_password_hash")
            )  # fmt: skip
            return None, None
        try:
            if plain is not None:
                return check_password_hash(plain), None
            if custom is not None:
                return None, from_custom_spec(custom)
        except HashSpecError as exc:
            errors.append(error(exc.code, exc.message, exc.path))
        return None, None
