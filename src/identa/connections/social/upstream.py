"""The relying-party half of a social or enterprise login, through Authlib's async OAuth 2.0
client: authorization URL (state, nonce, PKCE S256 — RFC 7636), code exchange (RFC 6749 §4.1.3),
ID-token validation against the provider's JWKS (OIDC Core §3.1.3.7) and the profile fetch.

Nothing here touches the database: the caller keeps the transaction short and the upstream's
latency outside it. Every failure is an UpstreamFailed with a stable `reason`.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from identa.connections.models import Connection
from identa.connections.social.discovery import (
    Endpoints,
    ProviderMetadata,
    UpstreamFailed,
)
from identa.connections.social.options import extra_mapping, requested_scopes, requires_email
from identa.connections.social.presets import OIDC, ProviderSpec, spec_for
from identa.connections.social.profiles import OIDC_CLAIMS, UpstreamProfile, build_profile

with warnings.catch_warnings():
    # Authlib warns at import when the `httpx2` fork is missing; plain httpx is what we use.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
CLOCK_SKEW = 60
# What is kept of a provider's token response (sealed at rest).
TOKEN_KEYS = ("access_token", "refresh_token", "token_type", "expires_at", "scope")


@dataclass(frozen=True)
class UpstreamResult:
    profile: UpstreamProfile
    tokens: dict[str, Any]
    requested_scope: str
    granted_scope: str | None
    timings: dict[str, float]


class Upstream(ProviderMetadata):
    """Authlib's async OAuth 2.0 client, configured per connection."""

    def _client(self, connection: Connection, endpoints: Endpoints, redirect_uri: str) -> Any:
        options = connection.options or {}
        spec = spec_for(connection.strategy)
        return AsyncOAuth2Client(
            client_id=str(options.get("client_id")),
            client_secret=self._client_secret(connection),
            scope=" ".join(requested_scopes(spec, options)),
            redirect_uri=redirect_uri,
            token_endpoint_auth_method=endpoints.token_auth,
            code_challenge_method="S256" if endpoints.pkce else None,
            timeout=self.timeout,
            verify=self._tls,
        )

    def _client_secret(self, connection: Connection) -> str:
        options = connection.options or {}
        if connection.strategy == "apple" and options.get("app_secret"):
            return self._apple_secret(options)
        sealed = options.get("client_secret")
        clear = self._secrets.open(sealed) if isinstance(sealed, str) else None
        if clear is None:
            raise UpstreamFailed("misconfigured", "the connection's client secret is unreadable")
        return clear

    def _apple_secret(self, options: dict[str, Any]) -> str:
        """Sign in with Apple's client secret: an ES256 JWT signed with the developer key."""
        pem = self._secrets.open(str(options.get("app_secret")))
        if pem is None:
            raise UpstreamFailed("misconfigured", "the connection's Apple key is unreadable")
        now = int(time.time())
        claims = {
            "iss": options.get("team_id"),
            "iat": now,
            "exp": now + 300,
            "aud": "https://appleid.apple.com",
            "sub": options.get("client_id"),
        }
        try:
            key = ECKey.import_key(pem)
        except (ValueError, JoseError) as exc:
            raise UpstreamFailed("misconfigured", "the Apple key is not an EC key") from exc
        return jwt.encode({"alg": "ES256", "kid": str(options.get("kid"))}, claims, key)

    # -- the authorization request ---------------------------------------------------------

    async def authorization_url(
        self,
        connection: Connection,
        *,
        state: str,
        nonce: str,
        code_verifier: str,
        redirect_uri: str,
        login_hint: str | None = None,
    ) -> str:
        endpoints = await self.endpoints(connection)
        spec = spec_for(connection.strategy)
        params: dict[str, Any] = dict(spec.authorize_params)
        if spec.protocol == OIDC:
            params["nonce"] = nonce
        if login_hint and spec.protocol == OIDC:
            params["login_hint"] = login_hint
        client = self._client(connection, endpoints, redirect_uri)
        try:
            url, _ = client.create_authorization_url(
                endpoints.authorization,
                state=state,
                code_verifier=code_verifier if endpoints.pkce else None,
                **params,
            )
        finally:
            await client.aclose()
        return str(url)

    # -- the callback ----------------------------------------------------------------------

    async def exchange(
        self,
        connection: Connection,
        *,
        code: str,
        code_verifier: str,
        nonce: str,
        redirect_uri: str,
        posted_user: str | None = None,
        response_issuer: str | None = None,
    ) -> UpstreamResult:
        spec = spec_for(connection.strategy)
        options = connection.options or {}
        await self.check_response_issuer(connection, response_issuer)
        endpoints = await self.endpoints(connection)
        timings: dict[str, float] = {}
        client = self._client(connection, endpoints, redirect_uri)
        try:
            started = time.perf_counter()
            token = await self._fetch_token(client, endpoints, code, code_verifier)
            timings["token"] = time.perf_counter() - started
            raw: dict[str, Any] = {}
            if spec.protocol == OIDC:
                id_token = token.get("id_token")
                if not isinstance(id_token, str):
                    raise UpstreamFailed("invalid_id_token", "the provider sent no ID token")
                started = time.perf_counter()
                raw = await self._validate_id_token(
                    id_token, endpoints, str(options.get("client_id")), nonce
                )
                timings["jwks"] = time.perf_counter() - started
            if endpoints.profile:
                started = time.perf_counter()
                fetched = await self._get_profile(client, endpoints.profile)
                if raw and fetched.get("sub") not in (None, raw.get("sub")):
                    # OIDC Core §5.3.2: the UserInfo sub must match the ID token's.
                    raise UpstreamFailed("invalid_profile", "the userinfo is for another subject")
                raw = {**fetched, **raw} if raw else fetched
                if endpoints.emails and "user:email" in (client.scope or "").split():
                    raw.update(await self._github_email(client, endpoints.emails))
                timings["profile"] = time.perf_counter() - started
        finally:
            await client.aclose()
        if posted_user:
            # Apple posts the name as JSON in `user`, only on the first authorization.
            try:
                user = json.loads(posted_user)
            except ValueError:
                user = None
            if isinstance(user, dict):
                raw["user"] = user
        mapping = dict(spec.mapping)
        if connection.strategy == "oauth2":
            mapping = {**OIDC_CLAIMS, **(options.get("profile_map") or {})}
            mapping.update(options.get("profile_mapping") or {})
        profile = build_profile(
            raw,
            mapping,
            extra_mapping=extra_mapping(spec, options),
            email_verified_default=spec.email_verified_default,
        )
        if not profile.user_id:
            raise UpstreamFailed("invalid_profile", "the provider's profile has no user id")
        if profile.email is None and requires_email(spec, options):
            raise UpstreamFailed(
                "missing_email", "the identity provider did not share an e-mail address"
            )
        tokens = {key: token[key] for key in TOKEN_KEYS if token.get(key) is not None}
        return UpstreamResult(
            profile=profile,
            tokens=tokens,
            requested_scope=client.scope or "",
            granted_scope=str(token["scope"]) if token.get("scope") else None,
            timings=timings,
        )

    async def _fetch_token(
        self, client: Any, endpoints: Endpoints, code: str, code_verifier: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"code": code, "headers": {"Accept": "application/json"}}
        if endpoints.pkce:
            kwargs["code_verifier"] = code_verifier
        try:
            token = await client.fetch_token(endpoints.token, **kwargs)
        except OAuthError as exc:
            raise UpstreamFailed(
                "upstream_error",
                f"the identity provider refused the code ({exc.error}: {exc.description or ''})",
            ) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamFailed("timeout", "the identity provider did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed("unreachable", "the identity provider is unreachable") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamFailed("upstream_error", "the token response is not valid") from exc
        if not isinstance(token, dict) or not token.get("access_token"):
            raise UpstreamFailed("upstream_error", "the token response has no access token")
        return dict(token)

    async def refresh(self, connection: Connection, refresh_token: str) -> dict[str, Any]:
        """New upstream tokens for a stored refresh token (RFC 6749 §6). A provider that sends
        no new refresh token lets the old one live on, so it is kept."""
        endpoints = await self.endpoints(connection)
        client = self._client(connection, endpoints, "")
        try:
            token = await client.refresh_token(
                endpoints.token,
                refresh_token=refresh_token,
                headers={"Accept": "application/json"},
            )
        except OAuthError as exc:
            raise UpstreamFailed(
                "upstream_error",
                f"the identity provider refused the refresh token ({exc.error})",
            ) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamFailed("timeout", "the identity provider did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed("unreachable", "the identity provider is unreachable") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamFailed("upstream_error", "the token response is not valid") from exc
        finally:
            await client.aclose()
        if not isinstance(token, dict) or not token.get("access_token"):
            raise UpstreamFailed("upstream_error", "the token response has no access token")
        fresh = {key: token[key] for key in TOKEN_KEYS if token.get(key) is not None}
        fresh.setdefault("refresh_token", refresh_token)
        return fresh

    async def _get_profile(self, client: Any, url: str) -> dict[str, Any]:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise UpstreamFailed("timeout", "the profile endpoint did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed("unreachable", "the profile endpoint is unreachable") from exc
        if response.status_code != 200:
            raise UpstreamFailed(
                "upstream_error", f"the profile endpoint answered {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamFailed("invalid_profile", "the profile is not JSON") from exc
        if not isinstance(body, dict):
            raise UpstreamFailed("invalid_profile", "the profile is not a JSON object")
        return body

    async def _github_email(self, client: Any, url: str) -> dict[str, Any]:
        """GitHub's /user/emails: the primary address and whether GitHub verified it."""
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
            rows = response.json() if response.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            rows = []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("primary") and isinstance(row.get("email"), str):
                return {"email": row["email"], "email_verified": row.get("verified") is True}
        return {"email_verified": False}

    async def _validate_id_token(
        self, id_token: str, endpoints: Endpoints, client_id: str, nonce: str
    ) -> dict[str, Any]:
        if not endpoints.jwks or not endpoints.issuer:
            raise UpstreamFailed("misconfigured", "no JWKS or issuer for the ID token")
        keys = await self._keys(endpoints.jwks)
        try:
            try:
                decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            except (JoseError, ValueError):
                # A key rotated since we cached the set: fetch it once more.
                keys = await self._keys(endpoints.jwks, refresh=True)
                decoded = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                now=int(time.time()),
                leeway=CLOCK_SKEW,
                iss={"essential": True, "value": endpoints.issuer},
                aud={"essential": True, "value": client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise UpstreamFailed(
                "invalid_id_token", f"the ID token is not valid ({type(exc).__name__}: {exc})"
            ) from exc
        claims = dict(decoded.claims)
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
            # OIDC Core §3.1.3.7 (4, 5): with several audiences, azp must be us.
            raise UpstreamFailed("invalid_id_token", "the ID token was issued to another party")
        return claims


def provider_user_id(connection: Connection, profile: UpstreamProfile) -> str:
    """Auth0's identity user_id: the provider's id for social strategies, `{connection}|{id}`
    for the generic enterprise/custom ones."""
    if connection.strategy in ("oidc", "oauth2"):
        return f"{connection.name}|{profile.user_id}"
    return profile.user_id


def display_name(connection: Connection) -> str:
    spec: ProviderSpec = spec_for(connection.strategy)
    return connection.display_name or spec.display_name or connection.name


def host_of(url: str) -> str:
    return urlsplit(url).netloc


__all__ = ["Endpoints", "Upstream", "UpstreamFailed", "UpstreamResult"]
