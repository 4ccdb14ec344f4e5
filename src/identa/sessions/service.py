"""SSO sessions: a fresh id at every login, looked up by the cookie token's hash, revocable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core import ids
from identa.core.clock import Clock
from identa.core.digests import token_digest
from identa.sessions.models import SsoSession

COOKIE_NAME = "identa_session"


@dataclass(frozen=True)
class IssuedSession:
    session: SsoSession
    token: str


class SessionService:
    def __init__(self, clock: Clock, *, lifetime_seconds: int, idle_seconds: int) -> None:
        self._clock = clock
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._idle = timedelta(seconds=idle_seconds)

    async def start(
        self,
        db: AsyncSession,
        *,
        user_id: str,
        connection: str | None,
        ip: str | None,
        user_agent: str | None,
        client_id: str | None,
        replaces_token: str | None = None,
    ) -> IssuedSession:
        """Starts a new session; the one the browser had (if any) is revoked, never reused."""
        if replaces_token:
            await self.revoke_token(db, replaces_token, reason="replaced")
        now = self._clock.now()
        token = ids.opaque_token(32)
        sso = SsoSession(
            id=ids.opaque_token(12),
            token_hash=token_digest(token),
            user_id=user_id,
            connection=connection,
            authenticated_at=now,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._lifetime,
            idle_expires_at=now + self._idle,
            revoked_at=None,
            ip=ip,
            user_agent=user_agent,
            clients=[client_id] if client_id else [],
            data={},
        )
        db.add(sso)
        await db.flush()
        return IssuedSession(session=sso, token=token)

    async def resolve(
        self, db: AsyncSession, token: str | None, *, touch: bool = True
    ) -> SsoSession | None:
        """The live session for a cookie token, or None when absent, expired or revoked."""
        if not token or len(token) > 256:
            return None
        sso = await db.scalar(
            select(SsoSession).where(SsoSession.token_hash == token_digest(token))
        )
        now = self._clock.now()
        if sso is None or sso.revoked_at is not None:
            return None
        if sso.expires_at <= now or sso.idle_expires_at <= now:
            return None
        if touch and (now - sso.last_seen_at) > timedelta(minutes=1):
            sso.last_seen_at = now
            sso.idle_expires_at = min(now + self._idle, sso.expires_at)
        return sso

    async def add_client(self, db: AsyncSession, sso: SsoSession, client_id: str) -> None:
        if client_id not in (sso.clients or []):
            sso.clients = [*(sso.clients or []), client_id]

    async def revoke(self, db: AsyncSession, sso: SsoSession, *, reason: str) -> None:
        if sso.revoked_at is None:
            sso.revoked_at = self._clock.now()
            sso.revoked_reason = reason
            await db.flush()

    async def revoke_token(self, db: AsyncSession, token: str, *, reason: str) -> None:
        await db.execute(
            update(SsoSession)
            .where(SsoSession.token_hash == token_digest(token), SsoSession.revoked_at.is_(None))
            .values(revoked_at=self._clock.now(), revoked_reason=reason)
        )

    async def revoke_all_for_user(self, db: AsyncSession, user_id: str, *, reason: str) -> int:
        result = await db.execute(
            update(SsoSession)
            .where(SsoSession.user_id == user_id, SsoSession.revoked_at.is_(None))
            .values(revoked_at=self._clock.now(), revoked_reason=reason)
            .returning(SsoSession.id)
        )
        return len(result.all())

    async def active_for_user(self, db: AsyncSession, user_id: str) -> Sequence[SsoSession]:
        now = self._clock.now()
        rows = await db.scalars(
            select(SsoSession)
            .where(
                SsoSession.user_id == user_id,
                SsoSession.revoked_at.is_(None),
                SsoSession.expires_at > now,
            )
            .order_by(SsoSession.created_at.desc())
        )
        return rows.all()
