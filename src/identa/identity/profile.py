"""The normalized user profile: Auth0's JSON shape and its metadata merge rules."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from identa.core.clock import iso
from identa.core.errors import InvalidInput
from identa.identity.models import Identity, User

RESERVED_APP_METADATA_KEYS = frozenset(
    {
        "__tenant", "_id", "blocked", "clientID", "created_at", "email_verified", "email",
        "globalClientID", "global_client_id", "identities", "lastIP", "lastLogin", "loginsCount",
        "metadata", "multifactor_last_modified", "multifactor", "updated_at", "user_id",
    }
)  # fmt: skip


def gravatar_url(email: str | None, nickname: str | None) -> str:
    """Auth0's default picture: a Gravatar for the e-mail, falling back to initials."""
    digest = hashlib.md5((email or "").strip().lower().encode(), usedforsecurity=False).hexdigest()
    initials = (nickname or email or "u")[:2].lower()
    fallback = f"https%3A%2F%2Fcdn.auth0.com%2Favatars%2F{initials}.png"
    return f"https://s.gravatar.com/avatar/{digest}?s=480&r=pg&d={fallback}"


def identity_to_dict(identity: Identity, *, primary: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "connection": identity.connection_name,
        "provider": identity.provider,
        "user_id": identity.provider_user_id,
        "isSocial": identity.is_social,
    }
    if not primary and identity.profile_data:
        out["profileData"] = copy.deepcopy(identity.profile_data)
    return out


def user_to_dict(user: User) -> dict[str, Any]:
    """Auth0's user object; unset attributes are left out, as Auth0 does."""
    out: dict[str, Any] = {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "phone_number": user.phone_number,
        "phone_verified": user.phone_verified if user.phone_number else None,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "nickname": user.nickname,
        "picture": user.picture,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "identities": [
            identity_to_dict(identity, primary=index == 0)
            for index, identity in enumerate(user.identities)
        ],
        "user_metadata": copy.deepcopy(user.user_metadata or {}),
        "app_metadata": copy.deepcopy(user.app_metadata or {}),
        "last_login": iso(user.last_login),
        "last_ip": user.last_ip,
        "logins_count": user.logins_count,
        "last_password_reset": iso(user.last_password_reset),
        "blocked": user.blocked,
    }
    for key, value in (user.extra or {}).items():
        out.setdefault(key, copy.deepcopy(value))
    return {key: value for key, value in out.items() if value is not None}


# Auth0 limits a user profile to 10 KB with an extended allowance of about ten times that;
# Identa refuses metadata beyond that allowance: 100 KB for both objects together, as JSON.
MAX_METADATA_BYTES = 100 * 1024


def check_metadata_size(user_metadata: dict[str, Any], app_metadata: dict[str, Any]) -> None:
    size = len(json.dumps(user_metadata, separators=(",", ":")).encode()) + len(
        json.dumps(app_metadata, separators=(",", ":")).encode()
    )
    if size > MAX_METADATA_BYTES:
        raise InvalidInput(
            f"user_metadata and app_metadata together may hold at most {MAX_METADATA_BYTES} "
            f"bytes of JSON; this change would make them {size} bytes.",
            field="user_metadata",
        )


def validate_metadata(value: Any, field: str) -> dict[str, Any]:
    """Metadata must be an object whose keys contain neither '.' nor '$' at any depth."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object", field=field)
    _check_keys(value, field)
    if field == "app_metadata":
        reserved = sorted(RESERVED_APP_METADATA_KEYS.intersection(value))
        if reserved:
            raise InvalidInput(
                f"app_metadata may not contain the reserved key(s): {', '.join(reserved)}",
                field=field,
            )
    return value


def _check_keys(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, str) or "." in key or "$" in key:
                raise InvalidInput(
                    f'{path}: field names may not contain "." or "$" ({key!r})', field=path
                )
            _check_keys(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for inner in value:
            _check_keys(inner, path)


def merge_metadata(current: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """Auth0's rule: merge at the first level; null deletes a key; `{}` clears everything."""
    if patch == {}:
        return {}
    merged = copy.deepcopy(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


PROFILE_LIMITS = {"name": 300, "given_name": 150, "family_name": 150, "nickname": 300}
PICTURE_MAX = 2048


@dataclass(frozen=True)
class NewDatabaseUser:
    email: str
    password: str | None
    username: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    phone_number: str | None = None
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    email_verified: bool = False
    blocked: bool = False
    user_id: str | None = None
    password_hash: str | None = None


def clean_profile(changes: dict[str, Any]) -> dict[str, Any]:
    """Checks root profile attributes against Auth0's lengths; empty strings unset."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in PROFILE_LIMITS:
            if value is None or (isinstance(value, str) and not value.strip()):
                out[key] = None
                continue
            if not isinstance(value, str):
                raise InvalidInput(f"{key} must be a string", field=key)
            value = value.strip()
            if len(value) > PROFILE_LIMITS[key]:
                raise InvalidInput(
                    f"{key} must be at most {PROFILE_LIMITS[key]} characters", field=key
                )
            out[key] = value
        elif key == "picture":
            if value is None or (isinstance(value, str) and not value.strip()):
                out[key] = None
                continue
            if not isinstance(value, str) or not value.strip().startswith(("https://", "http://")):
                raise InvalidInput("picture must be an http(s) URL", field=key)
            if len(value) > PICTURE_MAX:
                raise InvalidInput(f"picture must be at most {PICTURE_MAX} characters", field=key)
            out[key] = value.strip()
        else:
            raise InvalidInput(f"unknown profile attribute: {key}", field=key)
    return out
