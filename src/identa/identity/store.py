"""Queries for users, identities and credentials. Never commits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.identity.models import Identity, PasswordCredential, User


class UserStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: str) -> User | None:
        return await self._session.get(User, user_id)

    def add(self, *objects: User | Identity | PasswordCredential) -> None:
        self._session.add_all(objects)

    async def credential_by_email(
        self, connection_id: str, email_key: str
    ) -> PasswordCredential | None:
        return await self._session.scalar(
            select(PasswordCredential).where(
                PasswordCredential.connection_id == connection_id,
                PasswordCredential.email_key == email_key,
            )
        )

    async def credential_by_username(
        self, connection_id: str, username_key: str
    ) -> PasswordCredential | None:
        return await self._session.scalar(
            select(PasswordCredential).where(
                PasswordCredential.connection_id == connection_id,
                PasswordCredential.username_key == username_key,
            )
        )

    async def credentials_of(self, user_id: str) -> list[PasswordCredential]:
        rows = await self._session.scalars(
            select(PasswordCredential).where(PasswordCredential.user_id == user_id)
        )
        return list(rows.all())

    async def identities_by_provider_id(
        self, provider: str, provider_user_id: str, connection_id: str | None = None
    ) -> list[Identity]:
        query = select(Identity).where(
            Identity.provider == provider, Identity.provider_user_id == provider_user_id
        )
        if connection_id is not None:
            query = query.where(Identity.connection_id == connection_id)
        return list((await self._session.scalars(query.limit(2))).all())

    async def by_email(self, email: str) -> list[User]:
        rows = await self._session.scalars(
            select(User).where(func.lower(User.email) == email.lower()).order_by(User.created_at)
        )
        return list(rows.all())

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(User)) or 0)

    async def delete(self, user: User) -> None:
        await self._session.delete(user)
