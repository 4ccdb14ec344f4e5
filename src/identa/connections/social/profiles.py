"""How a provider's raw profile becomes Auth0's normalized profile.

A mapping is a dict of normalized attribute → path into the raw profile: dots walk objects,
`[]` after a name walks every element of a list (`likes.data[].name` → a list of names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROOT_ATTRIBUTES = ("name", "given_name", "family_name", "nickname", "picture")
# Limits of the normalized profile (auth0-interfaces §4); longer upstream values are cut.
ROOT_LIMITS = {"name": 300, "given_name": 150, "family_name": 150, "nickname": 300}
# Attributes an identity provider can never set at the profile root.
PROTECTED = frozenset(
    {
        "user_id", "email", "email_verified", "identities", "app_metadata", "user_metadata",
        "blocked", "created_at", "updated_at", "last_login", "last_ip", "logins_count",
        "username", "phone_number", "phone_verified", "last_password_reset", "tenant",
    }
)  # fmt: skip


@dataclass(frozen=True)
class UpstreamProfile:
    """What one login at a provider said about the person."""

    user_id: str
    email: str | None
    email_verified: bool
    root: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def lookup(data: Any, path: str) -> Any:
    """The value at `path` in `data` (see the module docstring), or None."""
    current: list[Any] = [data]
    spread = False
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        found: list[Any] = []
        for item in current:
            value = item.get(key) if isinstance(item, dict) else None
            if value is None:
                continue
            if many:
                if isinstance(value, list):
                    found.extend(value)
            else:
                found.append(value)
        current = found
        spread = spread or many
    if spread:
        return [value for value in current if value is not None] or None
    return current[0] if current else None


def truthy(value: Any) -> bool:
    """Apple sends email_verified as the string "true"; others as a boolean."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def clean_root(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ROOT_ATTRIBUTES:
        value = values.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        if key == "picture":
            if not value.startswith(("https://", "http://")) or len(value) > 2048:
                continue
        else:
            value = value[: ROOT_LIMITS[key]]
        out[key] = value
    return out


def extras(raw: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, path in mapping.items():
        if name in PROTECTED or name in ROOT_ATTRIBUTES or "." in name or "$" in name:
            continue
        value = lookup(raw, path)
        if value is not None and value != "":
            out[name] = value
    return out


def build_profile(
    raw: dict[str, Any],
    mapping: dict[str, str],
    *,
    extra_mapping: dict[str, str],
    email_verified_default: bool = False,
) -> UpstreamProfile:
    """A normalized profile from `raw` through a mapping with `user_id`, `email`,
    `email_verified` and root attributes, plus the extra attributes to keep at the root."""
    user_id = lookup(raw, mapping.get("user_id", "sub"))
    if isinstance(user_id, bool) or not isinstance(user_id, str | int) or str(user_id) == "":
        user_id = ""
    email = lookup(raw, mapping.get("email", "email"))
    email = email.strip().lower() if isinstance(email, str) and "@" in email else None
    verified_path = mapping.get("email_verified")
    verified = (
        truthy(lookup(raw, verified_path)) if verified_path else email_verified_default
    ) and email is not None
    root = clean_root({key: lookup(raw, mapping[key]) for key in ROOT_ATTRIBUTES if key in mapping})
    if "nickname" not in root and email:
        root["nickname"] = email.split("@", 1)[0]
    if "name" not in root:
        parts = [root.get("given_name"), root.get("family_name")]
        joined = " ".join(p for p in parts if p)
        if joined or email:
            root["name"] = joined or email
    return UpstreamProfile(
        user_id=str(user_id),
        email=email,
        email_verified=verified,
        root=root,
        extra=extras(raw, extra_mapping),
        raw=raw,
    )


OIDC_CLAIMS = {
    "user_id": "sub",
    "email": "email",
    "email_verified": "email_verified",
    "name": "name",
    "given_name": "given_name",
    "family_name": "family_name",
    "nickname": "nickname",
    "picture": "picture",
}
