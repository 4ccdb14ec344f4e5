"""Connections: create, find, and which applications each is enabled for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.database.policy import PasswordPolicy
from identa.connections.errors import ConnectionDisabled, ConnectionNotFound
from identa.connections.models import DATABASE_STRATEGY, Connection, ConnectionClient
from identa.core import ids
from identa.core.clock import Clock
from identa.core.errors import Conflict, InvalidInput


def password_policy(connection: Connection, default_level: str) -> PasswordPolicy:
    return PasswordPolicy.from_connection_options(connection.options or {}, default_level)


def requires_username(connection: Connection) -> bool:
    return bool((connection.options or {}).get("requires_username"))


def signup_disabled(connection: Connection) -> bool:
    return bool((connection.options or {}).get("disable_signup"))


class ConnectionService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def by_name(self, session: AsyncSession, name: str) -> Connection:
        connection = await session.scalar(select(Connection).where(Connection.name == name))
        if connection is None:
            raise ConnectionNotFound("Connection does not exist", name=name)
        return connection

    async def by_id(self, session: AsyncSession, connection_id: str) -> Connection:
        connection = await session.get(Connection, connection_id)
        if connection is None:
            raise ConnectionNotFound("Connection does not exist", connection_id=connection_id)
        return connection

    async def all(self, session: AsyncSession) -> Sequence[Connection]:
        return (await session.scalars(select(Connection).order_by(Connection.name))).all()

    async def enabled_clients(self, session: AsyncSession, connection: Connection) -> list[str]:
        rows = await session.scalars(
            select(ConnectionClient.client_id).where(
                ConnectionClient.connection_id == connection.id
            )
        )
        return sorted(rows.all())

    async def for_client(
        self, session: AsyncSession, client_id: str, *, strategy: str | None = None
    ) -> Sequence[Connection]:
        query = (
            select(Connection)
            .join(ConnectionClient, ConnectionClient.connection_id == Connection.id)
            .where(ConnectionClient.client_id == client_id)
            .order_by(Connection.name)
        )
        if strategy is not None:
            query = query.where(Connection.strategy == strategy)
        return (await session.scalars(query)).all()

    async def require_enabled(
        self, session: AsyncSession, connection: Connection, client_id: str
    ) -> None:
        row = await session.get(ConnectionClient, (connection.id, client_id))
        if row is None:
            raise ConnectionDisabled("the connection was disabled", connection=connection.name)

    async def create(
        self,
        session: AsyncSession,
        *,
        name: str,
        strategy: str,
        options: dict[str, Any] | None = None,
        enabled_clients: list[str] | None = None,
        display_name: str | None = None,
    ) -> Connection:
        if not name or len(name) > 128:
            raise InvalidInput("connection name must be 1 to 128 characters")
        existing = await session.scalar(select(Connection.id).where(Connection.name == name))
        if existing is not None:
            raise Conflict("A connection with the same name already exists")
        now = self._clock.now()
        connection = Connection(
            id=ids.connection_id(),
            name=name,
            display_name=display_name,
            strategy=strategy,
            options=dict(options or {}),
            is_domain_connection=False,
            show_as_button=True,
            metadata_={},
            created_at=now,
            updated_at=now,
        )
        session.add(connection)
        await session.flush()
        await self.set_enabled_clients(session, connection, enabled_clients or [])
        return connection

    async def set_enabled_clients(
        self, session: AsyncSession, connection: Connection, client_ids: list[str]
    ) -> None:
        await session.execute(
            delete(ConnectionClient).where(ConnectionClient.connection_id == connection.id)
        )
        for client_id in dict.fromkeys(client_ids):
            session.add(ConnectionClient(connection_id=connection.id, client_id=client_id))
        await session.flush()

    async def enable_for(
        self, session: AsyncSession, connection: Connection, client_id: str
    ) -> None:
        if await session.get(ConnectionClient, (connection.id, client_id)) is None:
            session.add(ConnectionClient(connection_id=connection.id, client_id=client_id))
            await session.flush()

    async def update_options(
        self, session: AsyncSession, connection: Connection, options: dict[str, Any]
    ) -> Connection:
        connection.options = {**(connection.options or {}), **options}
        connection.updated_at = self._clock.now()
        await session.flush()
        return connection


def is_database(connection: Connection) -> bool:
    return connection.strategy == DATABASE_STRATEGY
