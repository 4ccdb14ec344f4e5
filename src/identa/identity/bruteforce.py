"""Brute-force protection: N failed passwords for one identifier from one IP block that pair.

A block is lifted by a successful password reset or by an administrator. Unknown identifiers are
counted too, so the block itself reveals nothing about which accounts exist.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from identa.identity.models import BruteForceBlock


def ip_allowed(ip: str | None, allowlist: Sequence[str]) -> bool:
    if not ip or not allowlist:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in allowlist:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


class BruteForceGuard:
    async def counter(
        self, session: AsyncSession, connection_id: str, identifier: str, ip: str
    ) -> BruteForceBlock | None:
        """The failure counter of one (identifier, IP) pair, if any failure was counted."""
        return await session.scalar(
            select(BruteForceBlock).where(
                BruteForceBlock.connection_id == connection_id,
                BruteForceBlock.identifier == identifier,
                BruteForceBlock.ip == ip,
            )
        )

    async def is_blocked(
        self, session: AsyncSession, connection_id: str, identifier: str, ip: str
    ) -> bool:
        counter = await self.counter(session, connection_id, identifier, ip)
        return counter is not None and counter.blocked_at is not None

    async def register_failure(
        self,
        session: AsyncSession,
        *,
        connection_id: str,
        identifier: str,
        ip: str,
        user_id: str | None,
        max_attempts: int,
        now: datetime,
    ) -> bool:
        """Counts one failure atomically; True when this failure is the one that blocks."""
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(BruteForceBlock).values(
            connection_id=connection_id,
            identifier=identifier,
            ip=ip,
            user_id=user_id,
            failures=1,
            last_failure_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["connection_id", "identifier", "ip"],
            set_={"failures": BruteForceBlock.failures + 1, "last_failure_at": now},
        )
        await session.execute(statement)
        newly_blocked = await session.execute(
            update(BruteForceBlock)
            .where(
                BruteForceBlock.connection_id == connection_id,
                BruteForceBlock.identifier == identifier,
                BruteForceBlock.ip == ip,
                BruteForceBlock.failures >= max_attempts,
                BruteForceBlock.blocked_at.is_(None),
            )
            .values(blocked_at=now)
            .returning(BruteForceBlock.id)
        )
        return newly_blocked.first() is not None

    async def reset_pair(
        self, session: AsyncSession, connection_id: str, identifier: str, ip: str
    ) -> None:
        await session.execute(
            delete(BruteForceBlock).where(
                BruteForceBlock.connection_id == connection_id,
                BruteForceBlock.identifier == identifier,
                BruteForceBlock.ip == ip,
                BruteForceBlock.blocked_at.is_(None),
            )
        )

    async def blocks_for(
        self, session: AsyncSession, *, identifiers: Sequence[str], user_id: str | None = None
    ) -> Sequence[BruteForceBlock]:
        query = select(BruteForceBlock).where(BruteForceBlock.blocked_at.is_not(None))
        if user_id is not None:
            query = query.where(
                (BruteForceBlock.user_id == user_id) | BruteForceBlock.identifier.in_(identifiers)
            )
        else:
            query = query.where(BruteForceBlock.identifier.in_(identifiers))
        return (await session.scalars(query.order_by(BruteForceBlock.id))).all()

    async def release(
        self, session: AsyncSession, *, identifiers: Sequence[str], user_id: str | None = None
    ) -> int:
        condition: ColumnElement[bool] = BruteForceBlock.identifier.in_(identifiers)
        if user_id is not None:
            condition = condition | (BruteForceBlock.user_id == user_id)
        result = await session.execute(
            delete(BruteForceBlock).where(condition).returning(BruteForceBlock.id)
        )
        return len(result.all())
