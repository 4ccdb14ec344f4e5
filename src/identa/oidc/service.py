"""The OAuth 2.0 / OpenID Connect use cases: APIs, codes, grants, tokens, userinfo.

Framework-free: callers pass plain dicts and get results or OAuthError (RFC 6749 §5.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.core import ids
from identa.core.clock import Clock
from identa.core.digests import token_digest
from identa.identity.models import User
from identa.identity.profile import user_to_dict
from identa.oidc.apis import CURRENT_USER_SCOPES, DEFAULT_ACCESS_TTL, ApiRegistry
from identa.oidc.errors import OAuthError, invalid_grant, invalid_request
from identa.oidc.models import AuthorizationCode, ClientGrant, RefreshToken, ResourceServer
from identa.oidc.requests import PKCE_VERIFIER, AuthorizationRequest
from identa.oidc.tokens import TokenSigner, claims_for_scope, epoch

OIDC_SCOPES = frozenset({"openid", "profile", "email", "address", "phone", "offline_access"})

CODE_TTL = timedelta(seconds=60)
ID_TOKEN_TTL = 36000
REFRESH_TTL = timedelta(days=30)


def token_hash(token: str) -> str:
    """OIDC Core §3.1.3.6: left half of SHA-256 of the ASCII token, base64url."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_in: int
    scope: str
    id_token: str | None = None
    refresh_token: str | None = None

    def as_response(self, requested_scope: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.id_token:
            out["id_token"] = self.id_token
        if self.refresh_token:
            out["refresh_token"] = self.refresh_token
        out["scope"] = self.scope
        return out


class RuleClaims(TypedDict):
    extra_id_claims: dict[str, Any] | None
    extra_access_claims: dict[str, Any] | None


@dataclass(frozen=True)
class Grant:
    """Who was authenticated, for which client, with what scope and audience."""

    client: Client
    user: User
    scope: str
    audience: str | None
    auth_time: datetime
    session_id: str | None
    nonce: str | None = None
    extra_id_claims: dict[str, Any] | None = None
    extra_access_claims: dict[str, Any] | None = None

    @staticmethod
    def claims_from(stored: dict[str, Any] | None) -> RuleClaims:
        """Grant keyword arguments from stored rule claims ({"id_token": …, "access_token": …})."""
        stored = stored or {}
        return {
            "extra_id_claims": stored.get("id_token") or None,
            "extra_access_claims": stored.get("access_token") or None,
        }

    @property
    def stored_claims(self) -> dict[str, Any] | None:
        if not self.extra_id_claims and not self.extra_access_claims:
            return None
        return {
            "id_token": self.extra_id_claims or {},
            "access_token": self.extra_access_claims or {},
        }


class OidcService(ApiRegistry):
    def __init__(self, clock: Clock, signer: TokenSigner, public_url: str) -> None:
        self._clock = clock
        self.signer = signer
        self.public_url = public_url
        self.management_audience = f"{public_url}/api/v2/"

    # -- authorization codes ---------------------------------------------------------------

    async def issue_code(
        self,
        db: AsyncSession,
        request: AuthorizationRequest,
        *,
        user: User,
        session_id: str | None,
        auth_time: datetime,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        code = ids.opaque_token(32)
        now = self._clock.now()
        db.add(
            AuthorizationCode(
                code_hash=token_digest(code),
                client_id=request.client_id,
                user_id=user.user_id,
                session_id=session_id,
                redirect_uri=request.redirect_uri,
                scope=request.scope,
                audience=self.canonical_audience(request.audience),
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                auth_time=auth_time,
                created_at=now,
                expires_at=now + CODE_TTL,
                used_at=None,
                issued_family_id=None,
                extra_claims=extra_claims or None,
            )
        )
        await db.flush()
        return code

    async def redeem_code(
        self, db: AsyncSession, client: Client, params: dict[str, Any]
    ) -> tuple[AuthorizationCode, User]:
        code = params.get("code")
        if not isinstance(code, str) or not code or len(code) > 256:
            raise invalid_request("missing code parameter")
        row = await db.get(AuthorizationCode, token_digest(code))
        now = self._clock.now()
        if row is None or row.client_id != client.client_id:
            raise invalid_grant("Invalid authorization code")
        if row.used_at is not None:
            # A replayed code: revoke what the first exchange issued (RFC 6749 §4.1.2).
            if row.issued_family_id:
                await self.revoke_family(db, row.issued_family_id)
            raise invalid_grant("Invalid authorization code")
        if row.expires_at <= now:
            raise invalid_grant("Invalid authorization code")
        redirect_uri = params.get("redirect_uri")
        if redirect_uri is not None and redirect_uri != row.redirect_uri:
            raise invalid_grant("redirect_uri does not match the authorization request")
        if row.code_challenge:
            verifier = params.get("code_verifier")
            if not isinstance(verifier, str) or not PKCE_VERIFIER.match(verifier):
                raise invalid_grant("Failed to verify code verifier")
            if not hmac.compare_digest(s256(verifier), row.code_challenge):
                raise invalid_grant("Failed to verify code verifier")
        elif client.token_endpoint_auth_method == "none":
            raise invalid_grant("PKCE is required for public clients")
        claimed = await db.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == row.code_hash, AuthorizationCode.used_at.is_(None)
            )
            .values(used_at=now)
            .returning(AuthorizationCode.code_hash)
        )
        if claimed.first() is None:
            raise invalid_grant("Invalid authorization code")
        user = await db.get(User, row.user_id)
        if user is None or user.blocked:
            raise OAuthError("unauthorized", "user is blocked", 401)
        return row, user

    # -- refresh tokens --------------------------------------------------------------------

    async def issue_refresh_token(
        self, db: AsyncSession, grant: Grant, *, family_id: str | None = None
    ) -> tuple[str, RefreshToken]:
        token = ids.opaque_token(32)
        now = self._clock.now()
        row = RefreshToken(
            id=ids.opaque_token(12),
            token_hash=token_digest(token),
            family_id=family_id or ids.opaque_token(12),
            client_id=grant.client.client_id,
            user_id=grant.user.user_id,
            session_id=grant.session_id,
            scope=grant.scope,
            audience=grant.audience,
            auth_time=grant.auth_time,
            created_at=now,
            expires_at=now + REFRESH_TTL,
            rotated_at=None,
            revoked_at=None,
            extra_claims=grant.stored_claims,
        )
        db.add(row)
        await db.flush()
        return token, row

    async def rotate_refresh_token(
        self, db: AsyncSession, client: Client, token: str
    ) -> RefreshToken:
        row = await db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_digest(token))
        )
        now = self._clock.now()
        if row is None or row.client_id != client.client_id or row.revoked_at is not None:
            raise invalid_grant("Unknown or invalid refresh token.")
        if row.rotated_at is not None:
            # Reuse of a rotated token: someone holds a copy. Revoke the whole family.
            await self.revoke_family(db, row.family_id)
            raise invalid_grant("Unknown or invalid refresh token.")
        if row.expires_at <= now:
            raise invalid_grant("Unknown or invalid refresh token.")
        claimed = await db.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=now)
            .returning(RefreshToken.id)
        )
        if claimed.first() is None:
            await self.revoke_family(db, row.family_id)
            raise invalid_grant("Unknown or invalid refresh token.")
        return row

    async def usable_refresh_token(
        self, db: AsyncSession, client: Client, token: str
    ) -> RefreshToken:
        """The refresh token if it could be rotated now, without rotating it (the rules run in
        between, and a refusal by them leaves the token usable). A token that cannot be used goes
        through `rotate_refresh_token`, whose refusals (and reuse detection) apply."""
        row = await db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_digest(token))
        )
        if (
            row is None
            or row.client_id != client.client_id
            or row.revoked_at is not None
            or row.rotated_at is not None
            or row.expires_at <= self._clock.now()
        ):
            return await self.rotate_refresh_token(db, client, token)
        return row

    async def revoke_family(self, db: AsyncSession, family_id: str) -> None:
        await db.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=self._clock.now())
        )

    async def revoke_refresh_token(self, db: AsyncSession, client: Client, token: str) -> bool:
        row = await db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_digest(token))
        )
        if row is None or row.client_id != client.client_id:
            return False
        await self.revoke_family(db, row.family_id)
        return True

    # -- tokens ----------------------------------------------------------------------------

    def delegated_scopes(self, requested: list[str], api: ResourceServer | None) -> list[str]:
        """What a token issued on behalf of a person may carry: the OpenID scopes, plus the
        scopes the API defines; for the Management API only the `current_user` scopes, as with
        Auth0, so that no customer can give themselves `read:users` by asking for it."""
        if api is None:
            return requested
        if api.identifier == self.management_audience:
            allowed = set(CURRENT_USER_SCOPES)
        else:
            allowed = {str(item.get("value")) for item in api.scopes or []}
        return [s for s in requested if s in OIDC_SCOPES or s in allowed]

    async def tokens_for(
        self,
        db: AsyncSession,
        grant: Grant,
        *,
        with_refresh: bool,
        family_id: str | None = None,
        with_at_hash: bool = False,
    ) -> tuple[TokenSet, RefreshToken | None]:
        """Access token, ID token (with `openid`) and refresh token (with `offline_access`).

        `with_at_hash` adds the access token's hash to the ID token, which the implicit
        `id_token token` response requires (OIDC Core §3.2.2.10).
        """
        now = self.signer.now()
        api = await self.resource_server(db, grant.audience) if grant.audience else None
        audience = api.identifier if api else None
        scopes = self.delegated_scopes(grant.scope.split(), api)
        scope = " ".join(scopes)
        lifetime = api.token_lifetime if api else DEFAULT_ACCESS_TTL
        access_aud: str | list[str]
        userinfo = f"{self.public_url}/userinfo"
        if audience and "openid" in scopes:
            access_aud = [audience, userinfo]
        else:
            access_aud = audience or userinfo
        access_claims: dict[str, Any] = {
            "iss": self.signer.issuer,
            "sub": grant.user.user_id,
            "aud": access_aud,
            "iat": now,
            "exp": now + lifetime,
            "scope": scope,
            "azp": grant.client.client_id,
            "jti": self.signer.new_jti(),
        }
        if grant.session_id:
            access_claims["sid"] = grant.session_id
        access_claims.update(grant.extra_access_claims or {})
        access_token = await self.signer.sign(
            db, access_claims, alg=api.signing_alg if api else "RS256"
        )
        id_token = None
        if "openid" in scopes:
            profile = user_to_dict(grant.user)
            id_claims: dict[str, Any] = {
                **claims_for_scope(profile, scopes),
                "iss": self.signer.issuer,
                "sub": grant.user.user_id,
                "aud": grant.client.client_id,
                "iat": now,
                "exp": now + ID_TOKEN_TTL,
                "auth_time": epoch(grant.auth_time),
            }
            if grant.session_id:
                id_claims["sid"] = grant.session_id
            if grant.nonce:
                id_claims["nonce"] = grant.nonce
            if with_at_hash:
                id_claims["at_hash"] = token_hash(access_token)
            id_claims.update(grant.extra_id_claims or {})
            # auth0-spa-js accepts only RS256 ID tokens.
            id_token = await self.signer.sign(db, id_claims, alg="RS256")
        refresh: str | None = None
        refresh_row: RefreshToken | None = None
        if with_refresh and "offline_access" in scopes:
            refresh, refresh_row = await self.issue_refresh_token(db, grant, family_id=family_id)
        tokens = TokenSet(
            access_token=access_token,
            expires_in=lifetime,
            scope=scope,
            id_token=id_token,
            refresh_token=refresh,
        )
        return tokens, refresh_row

    async def client_credentials(
        self, db: AsyncSession, client: Client, audience: str | None, scope: str | None
    ) -> TokenSet:
        if not audience:
            raise OAuthError(
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured",
                403,
            )
        api = await self.resource_server(db, audience)
        if api is None:
            raise OAuthError("access_denied", f"Service not found: {audience}", 403)
        grant = await db.scalar(
            select(ClientGrant).where(
                ClientGrant.client_id == client.client_id, ClientGrant.audience == api.identifier
            )
        )
        if grant is None:
            raise OAuthError(
                "access_denied",
                f'Client is not authorized to access "{audience}". '
                "You need to create a client grant associated to this API.",
                403,
            )
        granted = list(grant.scope)
        if scope:
            requested = scope.split()
            granted = [s for s in requested if s in grant.scope]
        now = self.signer.now()
        claims = {
            "iss": self.signer.issuer,
            "sub": f"{client.client_id}@clients",
            "aud": api.identifier,
            "iat": now,
            "exp": now + api.token_lifetime,
            "scope": " ".join(granted),
            "gty": "client-credentials",
            "azp": client.client_id,
            "jti": self.signer.new_jti(),
        }
        token = await self.signer.sign(db, claims, alg=api.signing_alg)
        return TokenSet(access_token=token, expires_in=api.token_lifetime, scope=" ".join(granted))

    async def access_token_claims(self, db: AsyncSession, token: str) -> dict[str, Any]:
        """Verifies an access token for /userinfo (signature, issuer, expiry, audience)."""
        try:
            claims = await self.signer.verify(db, token)
        except Exception as exc:
            raise OAuthError("invalid_token", "The access token is invalid.", 401) from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        now = self.signer.now()
        if (
            claims.get("iss") != self.signer.issuer
            or not isinstance(claims.get("exp"), int)
            or claims["exp"] <= now
            or f"{self.public_url}/userinfo" not in audiences
        ):
            raise OAuthError("invalid_token", "The access token is invalid.", 401)
        return claims
