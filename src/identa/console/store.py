"""Queries over staff accounts, console sessions and the audit log. Stores never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from identa.console.models import AuditEntry, StaffSession, StaffUser
from identa.core.digests import token_digest


class StaffStore:
    async def by_id(self, db: AsyncSession, staff_id: str) -> StaffUser | None:
        return await db.get(StaffUser, staff_id)

    async def by_email(self, db: AsyncSession, email: str) -> StaffUser | None:
        return await db.scalar(select(StaffUser).where(StaffUser.email == email))

    async def all(self, db: AsyncSession) -> Sequence[StaffUser]:
        return (await db.scalars(select(StaffUser).order_by(StaffUser.email))).all()

    async def count(self, db: AsyncSession) -> int:
        return int(await db.scalar(select(func.count()).select_from(StaffUser)) or 0)

    async def add(self, db: AsyncSession, staff: StaffUser) -> None:
        db.add(staff)
        await db.flush()


class StaffSessionStore:
    async def by_token(self, db: AsyncSession, token: str) -> StaffSession | None:
        return await db.scalar(
            select(StaffSession).where(StaffSession.token_hash == token_digest(token))
        )

    async def add(self, db: AsyncSession, session: StaffSession) -> None:
        db.add(session)
        await db.flush()

    async def revoke_token(self, db: AsyncSession, token: str, now: datetime) -> None:
        await db.execute(
            update(StaffSession)
            .where(
                StaffSession.token_hash == token_digest(token), StaffSession.revoked_at.is_(None)
            )
            .values(revoked_at=now)
        )

    async def revoke_all_for(self, db: AsyncSession, staff_id: str, now: datetime) -> None:
        await db.execute(
            update(StaffSession)
            .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class AuditStore:
    async def add(self, db: AsyncSession, entry: AuditEntry) -> None:
        db.add(entry)
        await db.flush()

    async def page(
        self, db: AsyncSession, *, offset: int, limit: int
    ) -> tuple[Sequence[AuditEntry], int]:
        total = int(await db.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        rows = await db.scalars(
            select(AuditEntry)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return rows.all(), total
