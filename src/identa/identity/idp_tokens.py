"""Upstream (identity provider) tokens in a user's identities, shown only to Management API
callers holding `read:user_idp_tokens`, as Auth0 does."""

from __future__ import annotations

from typing import Any

from identa.core.secretbox import SecretBox
from identa.identity.models import User
from identa.identity.profile import user_to_dict

IDP_TOKEN_SCOPE = "read:user_idp_tokens"
TOKEN_FIELDS = ("access_token", "refresh_token", "access_token_secret", "expires_at")
TOKENS_PURPOSE = "idp-tokens"


def add_idp_tokens(out: dict[str, Any], user: User, box: SecretBox) -> dict[str, Any]:
    """Adds access_token / refresh_token to each rendered identity that has them.

    `out` is `user_to_dict(user)` (its identities in the same order as `user.identities`)."""
    rendered = out.get("identities")
    if not isinstance(rendered, list):
        return out
    for identity, item in zip(user.identities, rendered, strict=False):
        tokens = box.open_json(identity.idp_tokens)
        for key in TOKEN_FIELDS:
            if tokens.get(key) is not None:
                item[key] = tokens[key]
    return out


def user_for_caller(user: User, scopes: frozenset[str], box: SecretBox) -> dict[str, Any]:
    """`user_to_dict(user)`, with the identities' upstream tokens when the caller may see them."""
    out = user_to_dict(user)
    return add_idp_tokens(out, user, box) if IDP_TOKEN_SCOPE in scopes else out
