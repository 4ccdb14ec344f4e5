"""The relying-party half of a social or enterprise login, through Authlib's async OAuth 2.0
client: authorization URL (state, nonce, PKCE S256 — RFC 7636), code exchange (RFC 6749 §4.1.3),
ID-token validation against the provider's JWKS (OIDC Core §3.1.3.7) and the profile fetch.

Nothing here touches the database: the caller keeps the transaction short and the upstream's
latency outside it. Every failure is an UpstreamFailed with a stable `reason`.
"""

from __future__ import annotations

import json
import ssl
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from identa.connections.models import Connection
from identa.connections.social.options import extra_mapping, requested_scopes, requires_email
from identa.connections.social.presets import OIDC, ProviderSpec, spec_for
from identa.connections.social.profiles import OIDC_CLAIMS, UpstreamProfile, build_profile
from identa.core.secretbox import SecretBox

with warnings.catch_warnings():
    # Authlib warns at import when the `httpx2` fork is missing; plain httpx is what we use.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
METADATA_TTL = 600.0
CLOCK_SKEW = 60


class UpstreamFailed(Exception):
    """reason: access_denied | upstream_error | unreachable | timeout | invalid_id_token |
    invalid_profile | missing_email | misconfigured."""

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


@dataclass(frozen=True)
class UpstreamResult:
    profile: UpstreamProfile
    tokens: dict[str, Any]
    requested_scope: str
    granted_scope: str | None
    timings: dict[str, float]


class Upstream:
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
    ) -> UpstreamResult:
        spec = spec_for(connection.strategy)
        options = connection.options or {}
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
        tokens = {
            key: token[key]
            for key in ("access_token", "refresh_token", "token_type", "expires_at", "scope")
            if token.get(key) is not None
        }
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
