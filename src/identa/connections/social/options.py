"""Options of social and enterprise connections: checking them when an administrator saves a
connection, keeping the upstream secrets sealed, and reading them back.

Secrets (`client_secret`, Apple's `app_secret`) are stored encrypted and never returned by the
Management API: reads leave them out of `options`. A PATCH that omits them keeps the stored
ones (Auth0 replaces the whole `options` object on PATCH, which would otherwise force every
client to resend a secret it cannot read); sending `null` removes one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from identa.connections.social.presets import (
    GENERIC,
    PRESETS,
    SECRET_OPTIONS,
    ProviderSpec,
)
from identa.core.errors import InvalidInput
from identa.core.secretbox import SecretBox

SYNC_MODES = ("on_each_login", "on_first_login", "never_on_login")
DEFAULT_SYNC = "on_each_login"
ENDPOINT_KEYS = ("authorization", "token", "profile", "emails", "jwks", "issuer")
MAX_SCOPES = 50


def _url(value: Any, key: str) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidInput(f"options.{key} must be an http(s) URL", field=key)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"options.{key} must be an http(s) URL", field=key)
    return value


def _string(options: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = options.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"options.{key} is required", field=key)
        return None
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise InvalidInput(f"options.{key} must be a non-empty string", field=key)
    return value


def requested_scopes(spec: ProviderSpec, options: dict[str, Any]) -> list[str]:
    """The scopes to ask for: `scope` (space separated) or `scopes` (a list or a string),
    else the strategy's defaults; plus those Auth0's boolean options (user_birthday, …) add."""
    raw = options.get("scope", options.get("scopes"))
    if isinstance(raw, str):
        scopes = raw.replace(",", " ").split()
    elif isinstance(raw, list):
        scopes = [s for s in raw if isinstance(s, str) and s]
    else:
        scopes = list(spec.scopes)
    for option, scope in spec.scope_options.items():
        if options.get(option) is True:
            scopes.append(scope)
    if spec.protocol == "oidc" and spec.strategy in ("oidc", "google-oauth2"):
        scopes = ["openid", *scopes]
    return list(dict.fromkeys(scopes))


def sync_mode(options: dict[str, Any]) -> str:
    value = options.get("set_user_root_attributes")
    return value if value in SYNC_MODES else DEFAULT_SYNC


def requires_email(spec: ProviderSpec, options: dict[str, Any]) -> bool:
    value = options.get("require_email")
    return value if isinstance(value, bool) else spec.requires_email


def extra_mapping(spec: ProviderSpec, options: dict[str, Any]) -> dict[str, str]:
    """Extra attributes kept at the profile root: the strategy's, plus `profile_attributes`."""
    mapping = dict(spec.extra_mapping)
    custom = options.get("profile_attributes")
    if isinstance(custom, dict):
        mapping.update({k: v for k, v in custom.items() if isinstance(v, str)})
    return mapping


def prepare_options(
    strategy: str,
    options: dict[str, Any],
    box: SecretBox,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Checks the options of an upstream connection and seals its secrets for storage."""
    if strategy not in PRESETS and strategy not in GENERIC:
        raise InvalidInput(f"unknown upstream strategy: {strategy}")
    out = dict(options)
    for key in SECRET_OPTIONS:
        if key in out and out[key] is None:
            out.pop(key)
        elif key in out:
            secret = _string(out, key)
            assert secret is not None
            out[key] = secret if SecretBox.is_sealed(secret) else box.seal(secret)
        elif previous and key in previous and "client_id" not in _changed(previous, options):
            out[key] = previous[key]
    _string(out, "client_id", required=True)
    if strategy == "apple":
        if "app_secret" in out:
            _string(out, "team_id", required=True)
            _string(out, "kid", required=True)
        elif "client_secret" not in out:
            raise InvalidInput("options.app_secret (the Sign in with Apple key) is required")
    elif "client_secret" not in out:
        raise InvalidInput("options.client_secret is required", field="client_secret")
    if strategy == "oidc":
        if out.get("discovery_url") is None and out.get("issuer") is None:
            raise InvalidInput("options.discovery_url (or issuer) is required")
        for key in ("discovery_url", "issuer"):
            if out.get(key) is not None:
                _url(out[key], key)
        if out.get("type", "back_channel") != "back_channel":
            raise InvalidInput("only options.type=back_channel (authorization code) is supported")
    if strategy == "oauth2":
        for key in ("authorizationURL", "tokenURL"):
            _url(out.get(key), key)
        profile = out.get("profileURL", out.get("userinfo_url"))
        _url(profile, "profileURL")
        mapping = out.get("profile_map", out.get("profile_mapping"))
        if mapping is not None and (
            not isinstance(mapping, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
        ):
            raise InvalidInput("options.profile_map must map attributes to paths (strings)")
    scope = out.get("scope", out.get("scopes"))
    if scope is not None and not (
        (isinstance(scope, str) and len(scope) <= 2048)
        or (
            isinstance(scope, list)
            and len(scope) <= MAX_SCOPES
            and all(isinstance(s, str) for s in scope)
        )
    ):
        raise InvalidInput("options.scope must be a space-separated string (or scopes a list)")
    if "set_user_root_attributes" in out and out["set_user_root_attributes"] not in SYNC_MODES:
        raise InvalidInput(
            "options.set_user_root_attributes must be one of " + ", ".join(SYNC_MODES)
        )
    attributes = out.get("profile_attributes")
    if attributes is not None and (
        not isinstance(attributes, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
    ):
        raise InvalidInput("options.profile_attributes must map attribute names to paths")
    endpoints = out.get("endpoints")
    if endpoints is not None:
        if not isinstance(endpoints, dict) or set(endpoints) - set(ENDPOINT_KEYS):
            raise InvalidInput("options.endpoints takes " + ", ".join(ENDPOINT_KEYS))
        for key, value in endpoints.items():
            if key != "issuer":
                _url(value, f"endpoints.{key}")
    if "require_email" in out and not isinstance(out["require_email"], bool):
        raise InvalidInput("options.require_email must be a boolean")
    return out


def _changed(previous: dict[str, Any], options: dict[str, Any]) -> set[str]:
    """Options whose value differs: a new client_id without a new secret drops the old one."""
    return {k for k in options if options.get(k) != previous.get(k)}


def public_options(strategy: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options as the Management API shows them: without the sealed secrets."""
    if strategy not in PRESETS and strategy not in GENERIC:
        return dict(options)
    return {k: v for k, v in options.items() if k not in SECRET_OPTIONS}
