"""Signing keys for tokens: generated with joserfc, published in the JWKS while in use."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock
from identa.oidc.models import SigningKey

SUPPORTED_ALGORITHMS = ("RS256", "ES256", "EdDSA")


def _generate(alg: str) -> dict[str, Any]:
    key: RSAKey | ECKey | OKPKey
    if alg == "RS256":
        key = RSAKey.generate_key(2048, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", private=True)
    elif alg == "EdDSA":
        key = OKPKey.generate_key("Ed25519", private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    jwk = key.as_dict(private=True)
    jwk.update(kid=key.thumbprint(), alg=alg, use="sig")
    return jwk


class KeyService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def active(self, db: AsyncSession, alg: str = "RS256") -> SigningKey | None:
        return await db.scalar(
            select(SigningKey)
            .where(SigningKey.alg == alg, SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc())
            .limit(1)
        )

    async def ensure(self, db: AsyncSession, alg: str = "RS256") -> tuple[SigningKey, bool]:
        """The active key for `alg`, generated when there is none; True when it is new."""
        existing = await self.active(db, alg)
        if existing is not None:
            return existing, False
        jwk = await asyncio.to_thread(_generate, alg)
        key = SigningKey(
            kid=jwk["kid"],
            alg=alg,
            private_jwk=jwk,
            created_at=self._clock.now(),
            retired_at=None,
            publish_until=None,
        )
        db.add(key)
        await db.flush()
        return key, True

    async def rotate(
        self, db: AsyncSession, alg: str = "RS256", *, keep_published_seconds: int = 86400
    ) -> SigningKey:
        """Signs with a new key from now on; the old one stays in the JWKS for as long as the
        tokens it signed can live, then drops out."""
        if alg not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"unsupported signing algorithm {alg}")
        now = self._clock.now()
        current = await self.active(db, alg)
        if current is not None:
            current.retired_at = now
            current.publish_until = now + timedelta(seconds=keep_published_seconds)
        jwk = await asyncio.to_thread(_generate, alg)
        key = SigningKey(
            kid=jwk["kid"],
            alg=alg,
            private_jwk=jwk,
            created_at=now,
            retired_at=None,
            publish_until=None,
        )
        db.add(key)
        await db.flush()
        return key

    async def published(self, db: AsyncSession) -> Sequence[SigningKey]:
        now = self._clock.now()
        rows = await db.scalars(select(SigningKey).order_by(SigningKey.created_at))
        return [
            key
            for key in rows.all()
            if key.retired_at is None or (key.publish_until is not None and key.publish_until > now)
        ]
