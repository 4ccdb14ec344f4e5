"""Bulk writes of database users for imports: many users, identities and credentials per statement.

The identity domain's tables written with SQLAlchemy Core executemany, inside the caller's
transaction (never commits). A user, its identity and its credential go in together: the caller
commits the chunk as one transaction, so a failure leaves none of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from identa.connections.models import Connection
from identa.db.base import UTCDateTime
from identa.identity.models import Identity, PasswordCredential, User
from identa.identity.profile import gravatar_url
from identa.search.index import insert_terms_paused

USERS = cast(Table, User.__table__)
IDENTITIES = cast(Table, Identity.__table__)
CREDENTIALS = cast(Table, PasswordCredential.__table__)

# Root attributes an upsert may change (Auth0's list; custom_password_hash is handled apart).
UPSERTABLE = (
    "app_metadata",
    "user_metadata",
    "email_verified",
    "given_name",
    "family_name",
    "name",
    "nickname",
    "picture",
)


@dataclass(frozen=True)
class ImportedUser:
    """One validated import record; `local_id` is the part after `auth0|`."""

    local_id: str
    email: str
    email_verified: bool = False
    username: str | None = None
    phone_number: str | None = None
    phone_verified: bool = False
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    blocked: bool = False
    user_metadata: dict[str, Any] | None = None
    app_metadata: dict[str, Any] | None = None
    password_hash: str | None = None

    @property
    def user_id(self) -> str:
        return f"auth0|{self.local_id}"


@dataclass(frozen=True)
class UserUpdate:
    """An upsert of an existing user: root attributes to set and maybe a new password hash."""

    user_id: str
    changes: dict[str, Any]
    password_hash: str | None = None


@dataclass(frozen=True)
class Taken:
    """What already exists on a connection among the keys of one chunk."""

    emails: dict[str, str]  # email key -> user_id
    usernames: set[str]
    user_ids: set[str]
    local_ids: set[str]  # provider user ids already used by an identity on the connection


class BulkUsers:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def taken(
        self,
        connection_id: str,
        *,
        emails: Iterable[str],
        usernames: Iterable[str],
        local_ids: Iterable[str],
    ) -> Taken:
        emails, usernames, local_ids = list(emails), list(usernames), list(local_ids)
        db = self._session
        found_emails: dict[str, str] = {}
        if emails:
            rows = await db.execute(
                select(CREDENTIALS.c.email_key, CREDENTIALS.c.user_id).where(
                    CREDENTIALS.c.connection_id == connection_id,
                    CREDENTIALS.c.email_key.in_(emails),
                )
            )
            found_emails = {str(key): str(user_id) for key, user_id in rows.all()}
        found_usernames: set[str] = set()
        if usernames:
            rows = await db.execute(
                select(CREDENTIALS.c.username_key).where(
                    CREDENTIALS.c.connection_id == connection_id,
                    CREDENTIALS.c.username_key.in_(usernames),
                )
            )
            found_usernames = {str(row[0]) for row in rows.all()}
        found_ids: set[str] = set()
        found_locals: set[str] = set()
        if local_ids:
            rows = await db.execute(
                select(USERS.c.user_id).where(
                    USERS.c.user_id.in_([f"auth0|{local}" for local in local_ids])
                )
            )
            found_ids = {str(row[0]) for row in rows.all()}
            rows = await db.execute(
                select(IDENTITIES.c.provider_user_id).where(
                    IDENTITIES.c.connection_id == connection_id,
                    IDENTITIES.c.provider_user_id.in_(local_ids),
                )
            )
            found_locals = {str(row[0]) for row in rows.all()}
        return Taken(found_emails, found_usernames, found_ids, found_locals)

    async def insert(
        self, connection: Connection, users: Sequence[ImportedUser], now: datetime
    ) -> None:
        """Inserts users with their primary identity and password credential.

        The rows go straight to the driver's executemany (values adapted here once per row):
        SQLAlchemy's per-parameter processing would cost more than the database's own work.
        """
        if not users:
            return
        driver = await self._session.connection()
        raw = _RawInsert(driver)

        async def insert_users() -> None:
            await raw.insert(USERS, [_user_row(user, now) for user in users])

        # On SQLite the search terms are written in one executemany instead of by the
        # per-row trigger (several times cheaper); see identa.search.index.
        await insert_terms_paused(
            driver,
            insert_users,
            ((user.user_id, user.user_metadata, user.app_metadata) for user in users),
        )
        await raw.insert(
            IDENTITIES,
            [
                {
                    "user_id": user.user_id,
                    "connection_id": connection.id,
                    "connection_name": connection.name,
                    "provider": "auth0",
                    "provider_user_id": user.local_id,
                    "is_social": False,
                    "position": 0,
                    "profile_data": None,
                    "created_at": now,
                }
                for user in users
            ],
        )
        rows = await self._session.execute(
            select(IDENTITIES.c.id, IDENTITIES.c.provider_user_id).where(
                IDENTITIES.c.connection_id == connection.id,
                IDENTITIES.c.provider_user_id.in_([user.local_id for user in users]),
            )
        )
        identity_ids = {str(local): int(id_) for id_, local in rows.all()}
        await raw.insert(
            CREDENTIALS,
            [
                {
                    "identity_id": identity_ids[user.local_id],
                    "user_id": user.user_id,
                    "connection_id": connection.id,
                    "email_key": user.email,
                    "username_key": user.username,
                    "password_hash": user.password_hash,
                    "password_changed_at": now if user.password_hash else None,
                }
                for user in users
            ],
        )

    async def update(
        self, connection_id: str, updates: Sequence[UserUpdate], now: datetime
    ) -> None:
        """Applies upserts; updates with the same set of attributes share one executemany."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for item in updates:
            keys = tuple(sorted(item.changes))
            groups.setdefault(keys, []).append(
                {"b_user_id": item.user_id, "updated_at": now, **item.changes}
            )
        for keys, rows in groups.items():
            values: dict[str, Any] = {key: bindparam(key) for key in keys}
            values["updated_at"] = bindparam("updated_at")
            statement = (
                update(USERS).where(USERS.c.user_id == bindparam("b_user_id")).values(values)
            )
            await self._session.execute(statement, rows)
        passwords = [
            {"b_user_id": item.user_id, "password_hash": item.password_hash, "changed": now}
            for item in updates
            if item.password_hash
        ]
        if passwords:
            await self._session.execute(
                update(CREDENTIALS)
                .where(
                    CREDENTIALS.c.user_id == bindparam("b_user_id"),
                    CREDENTIALS.c.connection_id == bindparam("b_connection"),
                )
                .values(
                    password_hash=bindparam("password_hash"),
                    password_changed_at=bindparam("changed"),
                ),
                [{**row, "b_connection": connection_id} for row in passwords],
            )


def _user_row(user: ImportedUser, now: datetime) -> dict[str, Any]:
    nickname = user.nickname or user.email.split("@", 1)[0]
    return {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "phone_number": user.phone_number,
        "phone_verified": user.phone_verified,
        "name": user.name or user.email,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "nickname": nickname,
        "picture": user.picture or gravatar_url(user.email, nickname),
        "created_at": now,
        "updated_at": now,
        "last_login": None,
        "last_ip": None,
        "logins_count": 0,
        "last_password_reset": None,
        "blocked": user.blocked,
        "user_metadata": user.user_metadata or {},
        "app_metadata": user.app_metadata or {},
        "extra": {},
    }


class _RawInsert:
    """INSERT … VALUES executed with the DBAPI's executemany, values adapted as the column
    types would (JSON text, UTC timestamps as SQLite stores them, booleans)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._dialect = connection.dialect
        self._sqlite = self._dialect.name == "sqlite"
        self._last_time: datetime | None = None
        self._last_adapted: Any = None

    async def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        names = list(rows[0])
        quote = self._dialect.identifier_preparer.quote
        style = self._dialect.paramstyle
        if style == "qmark":
            marks = ", ".join("?" for _ in names)
        elif style in ("numeric_dollar", "numeric"):
            sign = "$" if style == "numeric_dollar" else ":"
            marks = ", ".join(f"{sign}{index + 1}" for index in range(len(names)))
        else:
            marks = ", ".join("%s" for _ in names)
        # Identifiers come from the table definition, every value is a bound parameter.
        columns = ", ".join(quote(name) for name in names)
        sql = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"  # noqa: S608
        special = [
            (index, adapt)
            for index, name in enumerate(names)
            if (adapt := self._adapter(table.c[name].type)) is not None
        ]
        values: list[tuple[Any, ...]] = []
        for row in rows:
            items = list(row.values())
            for index, adapt in special:
                items[index] = adapt(items[index])
            values.append(tuple(items))
        await self._connection.exec_driver_sql(sql, values)

    def _adapter(self, column_type: Any) -> Callable[[Any], Any] | None:
        if isinstance(column_type, UTCDateTime):
            return self._timestamp
        if isinstance(column_type, JSON):
            return _json
        return None

    def _timestamp(self, value: datetime | None) -> Any:
        # A chunk's rows share one timestamp: adapt it once.
        if value is None or value is self._last_time:
            return None if value is None else self._last_adapted
        adapted: Any = value.astimezone(UTC)
        if self._sqlite:
            adapted = adapted.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        self._last_time, self._last_adapted = value, adapted
        return adapted


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
