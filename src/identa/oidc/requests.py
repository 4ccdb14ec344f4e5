"""Validating an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).

Until the client and its redirect_uri are known to be good, errors must not be sent to the
redirect_uri (no open redirect): such errors have `redirectable=False`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from identa.clients.models import Client
from identa.oidc.errors import OAuthError

RESPONSE_TYPES = {"code", "id_token", "token id_token", "id_token token"}
RESPONSE_MODES = {"query", "fragment", "form_post", "web_message"}
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43,128}$")
MAX_PARAM = 2048


class AuthorizeError(OAuthError):
    def __init__(
        self, error: str, description: str, *, redirectable: bool, status: int = 400
    ) -> None:
        super().__init__(error, description, status)
        self.redirectable = redirectable


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_type: str
    response_mode: str
    scope: str
    state: str | None = None
    nonce: str | None = None
    audience: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    connection: str | None = None
    prompt: str | None = None
    screen_hint: str | None = None
    max_age: int | None = None
    login_hint: str | None = None
    ui_locales: str | None = None

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuthorizationRequest:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _one(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_PARAM:
        raise AuthorizeError("invalid_request", f"{name} is too long", redirectable=False)
    return value


def parse_authorization_request(client: Client, params: dict[str, str]) -> AuthorizationRequest:
    """Checks the request against the client. The client must already exist."""
    redirect_uri = _one(params, "redirect_uri")
    if redirect_uri is None:
        if len(client.callbacks) != 1:
            raise AuthorizeError("invalid_request", "missing redirect_uri", redirectable=False)
        redirect_uri = client.callbacks[0]
    # Exact string matching (OAuth 2.0 Security BCP §4.1.3).
    if redirect_uri not in client.callbacks:
        raise AuthorizeError(
            "invalid_request",
            f'The redirect_uri "{redirect_uri}" is not in the list of allowed callback URLs.',
            redirectable=False,
        )
    response_type = " ".join(sorted((_one(params, "response_type") or "").split(), reverse=True))
    response_type = {"token id_token": "id_token token"}.get(response_type, response_type)
    state = _one(params, "state")
    default_mode = "query" if response_type == "code" else "fragment"
    response_mode = _one(params, "response_mode") or default_mode

    def fail(error: str, description: str) -> AuthorizeError:
        return AuthorizeError(error, description, redirectable=True)

    if response_mode not in RESPONSE_MODES:
        raise AuthorizeError(
            "invalid_request", f"Unsupported response_mode: {response_mode}", redirectable=False
        )
    if not response_type:
        raise fail("invalid_request", "missing response_type parameter")
    if response_type not in RESPONSE_TYPES:
        raise fail("unsupported_response_type", f"Unsupported response_type: {response_type}")
    if response_type != "code":
        if not (client.extra or {}).get("implicit_enabled"):
            raise fail("unauthorized_client", "The implicit flow is not enabled for this client.")
        if response_mode == "query":
            raise fail("invalid_request", "response_mode=query is not allowed with tokens")
    grants = client.grant_types or []
    if response_type == "code" and "authorization_code" not in grants:
        raise fail(
            "unauthorized_client", "Grant type 'authorization_code' not allowed for the client."
        )
    scope = _one(params, "scope") or "openid"
    nonce = _one(params, "nonce")
    if "id_token" in response_type and not nonce:
        raise fail("invalid_request", "nonce is required with response_type containing id_token")
    challenge = _one(params, "code_challenge")
    method = _one(params, "code_challenge_method")
    if challenge is not None:
        method = method or "plain"
        if method != "S256":
            raise fail("invalid_request", "code_challenge_method must be S256")
        if not PKCE_CHALLENGE.match(challenge):
            raise fail("invalid_request", "code_challenge is malformed")
    elif client.token_endpoint_auth_method == "none" and response_type == "code":
        raise fail(
            "invalid_request", "PKCE (code_challenge with S256) is required for public clients"
        )
    prompt = _one(params, "prompt")
    if prompt is not None and not set(prompt.split()) <= {
        "none",
        "login",
        "consent",
        "select_account",
    }:
        raise fail("invalid_request", f"Unsupported prompt: {prompt}")
    max_age_raw = _one(params, "max_age")
    max_age: int | None = None
    if max_age_raw is not None:
        if not max_age_raw.isdigit():
            raise fail("invalid_request", "max_age must be a number of seconds")
        max_age = int(max_age_raw)
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_type=response_type,
        response_mode=response_mode,
        scope=scope,
        state=state,
        nonce=nonce,
        audience=_one(params, "audience"),
        code_challenge=challenge,
        code_challenge_method=method if challenge else None,
        connection=_one(params, "connection"),
        prompt=prompt,
        screen_hint=_one(params, "screen_hint"),
        max_age=max_age,
        login_hint=_one(params, "login_hint"),
        ui_locales=_one(params, "ui_locales"),
    )
