"""Signs ID tokens and access tokens (JWTs) with the active key, through joserfc.

Claims follow Auth0's profile (OIDC Core §2, RFC 9068 for access tokens).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock
from identa.oidc.keys import KeyService

PROFILE_CLAIMS = ("name", "given_name", "family_name", "nickname", "picture", "updated_at")
EMAIL_CLAIMS = ("email", "email_verified")
PHONE_CLAIMS = ("phone_number", "phone_verified")


# Importing a private key validates it (tens of milliseconds for RSA in `cryptography`): keys
# are immutable once stored, so each is imported once per process, by kid.
_IMPORTED: dict[str, RSAKey | ECKey | OKPKey] = {}


def key_for(kid: str, jwk: dict[str, Any]) -> RSAKey | ECKey | OKPKey:
    key = _IMPORTED.get(kid)
    if key is None:
        key = import_private_key({**jwk, "kid": kid})
        _IMPORTED[kid] = key
    return key


def import_private_key(jwk: dict[str, Any]) -> RSAKey | ECKey | OKPKey:
    kty = jwk.get("kty")
    if kty == "RSA":
        return RSAKey.import_key(jwk)
    if kty == "EC":
        return ECKey.import_key(jwk)
    return OKPKey.import_key(jwk)


def claims_for_scope(profile: dict[str, Any], scopes: Sequence[str]) -> dict[str, Any]:
    """The standard claims a scope releases (OIDC Core §5.4), from the normalized profile."""
    wanted: list[str] = []
    if "profile" in scopes:
        wanted.extend(PROFILE_CLAIMS)
    if "email" in scopes:
        wanted.extend(EMAIL_CLAIMS)
    if "phone" in scopes:
        wanted.extend(PHONE_CLAIMS)
    return {name: profile[name] for name in wanted if profile.get(name) is not None}


class TokenSigner:
    def __init__(self, clock: Clock, keys: KeyService, issuer: str) -> None:
        self._clock = clock
        self._keys = keys
        self.issuer = issuer

    async def sign(self, db: AsyncSession, claims: dict[str, Any], *, alg: str = "RS256") -> str:
        key_row, _ = await self._keys.ensure(db, alg)
        key = key_for(key_row.kid, key_row.private_jwk)
        header = {"alg": alg, "kid": key_row.kid, "typ": "JWT"}
        with _quiet_eddsa():
            return jwt.encode(header, claims, key, algorithms=[alg])

    async def verify(
        self,
        db: AsyncSession,
        token: str,
        *,
        algorithms: Sequence[str] = ("RS256", "ES256", "EdDSA"),
    ) -> dict[str, Any]:
        """Checks the signature against the published keys; the caller checks the claims."""
        published = await self._keys.published(db)
        key_set = KeySet([key_for(row.kid, row.private_jwk) for row in published])
        with _quiet_eddsa():
            decoded = jwt.decode(token, key_set, algorithms=list(algorithms))
        return dict(decoded.claims)

    def now(self) -> int:
        return int(self._clock.now().timestamp())

    @staticmethod
    def new_jti() -> str:
        return uuid.uuid4().hex


@contextmanager
def _quiet_eddsa() -> Iterator[None]:
    # joserfc flags the polymorphic "EdDSA" name (RFC 9864 prefers "Ed25519"); Auth0 and the
    # relying parties in use today still speak "EdDSA", so it stays, without a warning per token.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SecurityWarning, message=".*EdDSA.*")
        yield


def epoch(value: datetime) -> int:
    return int(value.timestamp())
