"""Consent for third-party applications: recorded per person, application, API and scopes;
first-party applications never ask (Auth0's is_first_party)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.core.clock import Clock
from identa.oidc.models import Consent, RefreshToken, ResourceServer

STANDARD_SCOPES = {
    "openid": "Confirm your identity",
    "profile": "Your name, nickname and picture",
    "email": "Your email address and whether it is verified",
    "phone": "Your phone number",
    "address": "Your address",
    "offline_access": "Stay signed in (access while you are away)",
}


@dataclass(frozen=True)
class ScopeLine:
    value: str
    description: str


class ConsentService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def missing(
        self,
        db: AsyncSession,
        *,
        user_id: str,
        client: Client,
        audience: str | None,
        scopes: Sequence[str],
    ) -> list[str]:
        """The requested scopes the person has not yet allowed this application."""
        if client.is_first_party:
            return []
        row = await db.scalar(
            select(Consent).where(
                Consent.user_id == user_id,
                Consent.client_id == client.client_id,
                Consent.audience == (audience or ""),
            )
        )
        granted = set(row.scopes) if row else set()
        return [scope for scope in scopes if scope not in granted]

    async def grant(
        self,
        db: AsyncSession,
        *,
        user_id: str,
        client_id: str,
        audience: str | None,
        scopes: Sequence[str],
    ) -> None:
        now = self._clock.now()
        row = await db.scalar(
            select(Consent).where(
                Consent.user_id == user_id,
                Consent.client_id == client_id,
                Consent.audience == (audience or ""),
            )
        )
        if row is None:
            db.add(
                Consent(
                    user_id=user_id,
                    client_id=client_id,
                    audience=audience or "",
                    scopes=sorted(set(scopes)),
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            row.scopes = sorted(set(row.scopes) | set(scopes))
            row.updated_at = now
        await db.flush()

    async def for_user(self, db: AsyncSession, user_id: str) -> Sequence[Consent]:
        rows = await db.scalars(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.created_at)
        )
        return rows.all()

    async def revoke(self, db: AsyncSession, *, user_id: str, client_id: str) -> int:
        """Withdraws every consent to the application and ends its refresh tokens."""
        result = await db.execute(
            delete(Consent)
            .where(Consent.user_id == user_id, Consent.client_id == client_id)
            .returning(Consent.id)
        )
        await db.execute(
            delete(RefreshToken).where(
                RefreshToken.user_id == user_id, RefreshToken.client_id == client_id
            )
        )
        return len(result.all())

    async def describe(
        self, db: AsyncSession, audience: str | None, scopes: Sequence[str]
    ) -> list[ScopeLine]:
        api = (
            await db.scalar(select(ResourceServer).where(ResourceServer.identifier == audience))
            if audience
            else None
        )
        api_scopes = {
            s["value"]: s.get("description") or s["value"] for s in (api.scopes if api else [])
        }
        return [
            ScopeLine(scope, STANDARD_SCOPES.get(scope) or api_scopes.get(scope) or scope)
            for scope in scopes
        ]
