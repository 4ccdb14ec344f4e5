"""Where an upstream provider's endpoints are: from the preset, the connection's options or
OpenID Connect discovery (cached), its key set (cached, refetched once on an unknown key), and
the RFC 9207 check of the `iss` parameter in its authorization response.

Every failure is an UpstreamFailed with a stable `reason`.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from identa.connections.models import Connection
from identa.connections.social.presets import spec_for
from identa.core.secretbox import SecretBox

METADATA_TTL = 600.0


class UpstreamFailed(Exception):
    """reason: access_denied | upstream_error | unreachable | timeout | invalid_id_token |
    invalid_profile | missing_email | misconfigured | issuer_mismatch."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    profile: str | None
    emails: str | None
    jwks: str | None
    issuer: str | None
    pkce: bool
    token_auth: str
    # RFC 9207: the provider says it puts `iss` in every authorization response.
    issuer_in_response: bool = False


class ProviderMetadata:
    """The configuration half of the upstream client; `Upstream` adds the protocol calls."""

    def __init__(self, secrets: SecretBox, *, timeout: float = 10.0) -> None:
        self._secrets = secrets
        self.timeout = timeout
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}
        self._tls_context: ssl.SSLContext | None = None

    @property
    def _tls(self) -> ssl.SSLContext:
        # One TLS context for every upstream call, built on first use: building one costs
        # ~20 ms (it loads the system's CA certificates), too much per client or per container.
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    # -- configuration ---------------------------------------------------------------------

    async def endpoints(self, connection: Connection) -> Endpoints:
        spec = spec_for(connection.strategy)
        options = connection.options or {}
        overrides = options.get("endpoints") if isinstance(options.get("endpoints"), dict) else {}
        assert isinstance(overrides, dict)
        if connection.strategy == "oidc":
            meta = await self._discover(options)
            methods = meta.get("code_challenge_methods_supported")
            auth_methods = meta.get("token_endpoint_auth_methods_supported") or [
                "client_secret_basic"
            ]
            return Endpoints(
                authorization=str(meta["authorization_endpoint"]),
                token=str(meta["token_endpoint"]),
                profile=meta.get("userinfo_endpoint"),
                emails=None,
                jwks=str(meta["jwks_uri"]),
                issuer=str(meta["issuer"]),
                pkce=not isinstance(methods, list) or "S256" in methods,
                token_auth="client_secret_basic"
                if "client_secret_basic" in auth_methods
                else "client_secret_post",
                issuer_in_response=meta.get("authorization_response_iss_parameter_supported")
                is True,
            )
        if connection.strategy == "oauth2":
            return Endpoints(
                authorization=str(options["authorizationURL"]),
                token=str(options["tokenURL"]),
                profile=str(options.get("profileURL") or options.get("userinfo_url")),
                emails=None,
                jwks=None,
                issuer=None,
                pkce=options.get("pkce", True) is not False,
                token_auth="client_secret_basic"
                if options.get("token_endpoint_auth_method") == "client_secret_basic"
                else "client_secret_post",
            )
        return Endpoints(
            authorization=overrides.get("authorization", spec.authorization),
            token=overrides.get("token", spec.token),
            profile=overrides.get("profile", spec.profile),
            emails=overrides.get("emails", spec.emails),
            jwks=overrides.get("jwks", spec.jwks),
            issuer=overrides.get("issuer", spec.issuer),
            pkce=spec.pkce,
            token_auth=spec.token_auth,
        )

    async def _discover(self, options: dict[str, Any]) -> dict[str, Any]:
        url = options.get("discovery_url") or (
            str(options["issuer"]).rstrip("/") + "/.well-known/openid-configuration"
        )
        cached = self._metadata.get(url)
        if cached and time.monotonic() - cached[0] < METADATA_TTL:
            return cached[1]
        meta = await self._get_json(url, "discovery document")
        for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(meta.get(key), str):
                raise UpstreamFailed("upstream_error", f"the discovery document lacks {key}")
        expected = options.get("issuer")
        if isinstance(expected, str) and expected.rstrip("/") != meta["issuer"].rstrip("/"):
            raise UpstreamFailed("upstream_error", "the discovery document names another issuer")
        self._metadata[url] = (time.monotonic(), meta)
        return meta

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, verify=self._tls) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise UpstreamFailed(
                "timeout", f"the identity provider did not answer ({what})"
            ) from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed(
                "unreachable", f"the identity provider is unreachable ({what})"
            ) from exc
        if response.status_code != 200:
            raise UpstreamFailed(
                "upstream_error", f"the identity provider answered {response.status_code} ({what})"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamFailed("upstream_error", f"the {what} is not JSON") from exc
        if not isinstance(body, dict):
            raise UpstreamFailed("upstream_error", f"the {what} is not a JSON object")
        return body

    async def _keys(self, url: str, *, refresh: bool = False) -> KeySet:
        cached = self._jwks.get(url)
        if refresh or cached is None or time.monotonic() - cached[0] > METADATA_TTL:
            body = await self._get_json(url, "key set")
            cached = (time.monotonic(), body)
            self._jwks[url] = cached
        try:
            return KeySet.import_key_set(cached[1])  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as exc:
            raise UpstreamFailed("upstream_error", "the provider's key set is not valid") from exc

    async def check_response_issuer(self, connection: Connection, iss: str | None) -> None:
        """RFC 9207 §2.4: an `iss` in the authorization response must be the issuer the request
        went to (simple string comparison), and a provider that announces
        `authorization_response_iss_parameter_supported` must send it. This stops mix-up
        attacks, where a code from one provider is replayed into another one's callback."""
        endpoints = await self.endpoints(connection)
        if iss is None:
            if endpoints.issuer_in_response:
                raise UpstreamFailed(
                    "issuer_mismatch",
                    "the authorization response lacks the iss parameter the provider announces",
                )
            return
        if endpoints.issuer is not None and iss != endpoints.issuer:
            raise UpstreamFailed(
                "issuer_mismatch",
                "the authorization response was issued by another provider "
                f"(iss {iss[:200]!r}, expected {endpoints.issuer!r})",
            )
