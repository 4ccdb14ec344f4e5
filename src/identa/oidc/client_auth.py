"""Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 for private_key_jwt)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.clients.service import ClientService
from identa.core.clock import Clock
from identa.oidc.errors import OAuthError, invalid_client, invalid_request

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["RS256", "RS384", "PS256", "PS384", "ES256", "ES384"]


@dataclass(frozen=True)
class AuthenticatedClient:
    client: Client
    method: str  # none, client_secret_basic, client_secret_post, private_key_jwt


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """client_id and secret from an HTTP Basic header (form-urlencoded parts, RFC 6749 §2.3.1)."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_client("Malformed Basic authorization header.") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("Malformed Basic authorization header.")
    return unquote(client_id), unquote(secret)


class ClientAuthenticator:
    def __init__(self, clock: Clock, clients: ClientService, issuer: str, token_url: str) -> None:
        self._clock = clock
        self._clients = clients
        self._audiences = {issuer, token_url, issuer.rstrip("/")}

    async def authenticate(
        self, db: AsyncSession, params: dict[str, Any], authorization: str | None
    ) -> AuthenticatedClient:
        basic = basic_credentials(authorization)
        assertion = params.get("client_assertion")
        if basic is not None:
            basic_id, basic_secret = basic
            if params.get("client_id") not in (None, basic_id):
                raise invalid_request("client_id does not match the Basic credentials.")
            client = await self._find(db, basic_id)
            if not self._clients.secret_matches(client, basic_secret):
                raise invalid_client()
            return AuthenticatedClient(client, "client_secret_basic")
        if assertion is not None:
            return await self._private_key_jwt(db, params)
        posted_id = params.get("client_id")
        if not isinstance(posted_id, str) or not posted_id:
            raise invalid_request("missing client_id parameter")
        client = await self._find(db, posted_id)
        secret = params.get("client_secret")
        if isinstance(secret, str) and secret:
            if not self._clients.secret_matches(client, secret):
                raise invalid_client()
            return AuthenticatedClient(client, "client_secret_post")
        if client.token_endpoint_auth_method != "none":
            # Auth0's answer when a confidential client omits its secret.
            raise OAuthError("access_denied", "Unauthorized", 401)
        return AuthenticatedClient(client, "none")

    async def _find(self, db: AsyncSession, client_id: str) -> Client:
        client = await self._clients.find(db, client_id) if len(client_id) <= 64 else None
        if client is None:
            raise invalid_client("Unknown client.")
        return client

    async def _private_key_jwt(
        self, db: AsyncSession, params: dict[str, Any]
    ) -> AuthenticatedClient:
        if params.get("client_assertion_type") != ASSERTION_TYPE:
            raise invalid_request("client_assertion_type must be " + ASSERTION_TYPE)
        assertion = params["client_assertion"]
        if not isinstance(assertion, str) or len(assertion) > 8192:
            raise invalid_client("Malformed client assertion.")
        posted_id = params.get("client_id")
        client_id = posted_id if isinstance(posted_id, str) else _unverified_issuer(assertion)
        client = await self._find(db, client_id or "")
        jwks = (client.extra or {}).get("jwks")
        if not isinstance(jwks, dict) or not jwks.get("keys"):
            raise invalid_client("The client has no registered keys for private_key_jwt.")
        try:
            keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError) as exc:
            raise invalid_client("The client assertion signature is invalid.") from exc
        claims = token.claims
        now = int(self._clock.now().timestamp())
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if (
            claims.get("iss") != client.client_id
            or claims.get("sub") != client.client_id
            or not any(a in self._audiences for a in audiences)
            or not isinstance(claims.get("exp"), int | float)
            or claims["exp"] < now
        ):
            raise invalid_client("The client assertion claims are invalid.")
        return AuthenticatedClient(client, "private_key_jwt")


def _unverified_issuer(assertion: str) -> str | None:
    """The `iss` of an assertion before its signature is checked: only to find whose keys to
    check it with."""
    try:
        payload = assertion.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        data = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError, binascii.Error):
        return None
    issuer = data.get("iss") if isinstance(data, dict) else None
    return issuer if isinstance(issuer, str) else None
