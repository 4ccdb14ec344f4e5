"""Bulk writes of database users for imports: many users, identities and credentials per statement.

The identity domain's tables written with the driver's executemany (COPY on PostgreSQL), inside
the caller's transaction (never commits); the per-row triggers on `users` are paused and their
effects written once per chunk (the caller's `paused` context, identa.search.index). A user,
its identity and its credential go in together: the caller commits the chunk as one
transaction, so a failure leaves none of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from identa.connections.models import Connection
from identa.identity.bulk_sql import RawInsert, among, custom_plans, sqlite_cache
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


# Given the chunk's connection and (user_id, created_at, last_login) of the users it inserts:
# a context inside which the per-row insert triggers of other domains are paused, and which
# writes their effects for the chunk on leaving (jobs passes the analytics one; identity does
# not import analytics).
PausedTriggers = Callable[
    [AsyncConnection, Sequence[tuple[str, datetime, datetime | None]]],
    AbstractAsyncContextManager[None],
]


@asynccontextmanager
async def _nothing_paused(
    _connection: AsyncConnection, _users: Sequence[tuple[str, datetime, datetime | None]]
) -> AsyncIterator[None]:
    yield


class BulkUsers:
    def __init__(self, session: AsyncSession, paused: PausedTriggers = _nothing_paused) -> None:
        self._session = session
        self._paused = paused

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
        async with custom_plans(db):
            found_emails: dict[str, str] = {}
            if emails:
                rows = await db.execute(
                    select(CREDENTIALS.c.email_key, CREDENTIALS.c.user_id).where(
                        CREDENTIALS.c.connection_id == connection_id,
                        among(self._session, CREDENTIALS.c.email_key, emails),
                    )
                )
                found_emails = {str(key): str(user_id) for key, user_id in rows.all()}
            found_usernames: set[str] = set()
            if usernames:
                rows = await db.execute(
                    select(CREDENTIALS.c.username_key).where(
                        CREDENTIALS.c.connection_id == connection_id,
                        among(self._session, CREDENTIALS.c.username_key, usernames),
                    )
                )
                found_usernames = {str(row[0]) for row in rows.all()}
            found_ids: set[str] = set()
            found_locals: set[str] = set()
            if local_ids:
                rows = await db.execute(
                    select(USERS.c.user_id).where(
                        among(
                            self._session,
                            USERS.c.user_id,
                            [f"auth0|{local}" for local in local_ids],
                        )
                    )
                )
                found_ids = {str(row[0]) for row in rows.all()}
                rows = await db.execute(
                    select(IDENTITIES.c.provider_user_id).where(
                        IDENTITIES.c.connection_id == connection_id,
                        among(self._session, IDENTITIES.c.provider_user_id, local_ids),
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
        async with sqlite_cache(driver):
            await self._insert(driver, connection, users, now)

    async def _insert(
        self,
        driver: AsyncConnection,
        connection: Connection,
        users: Sequence[ImportedUser],
        now: datetime,
    ) -> None:
        raw = RawInsert(driver)

        async def insert_users() -> None:
            await raw.insert(USERS, [_user_row(user, now) for user in users])

        # The per-row analytics triggers (customer days, user changes) are paused and their
        # effects written once for the chunk; on SQLite the search terms likewise are written in
        # one executemany instead of by the per-row trigger (see identa.search.index).
        async with self._paused(driver, [(user.user_id, now, None) for user in users]):
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
        async with custom_plans(self._session):
            rows = await self._session.execute(
                select(IDENTITIES.c.id, IDENTITIES.c.provider_user_id).where(
                    IDENTITIES.c.connection_id == connection.id,
                    among(
                        self._session,
                        IDENTITIES.c.provider_user_id,
                        [user.local_id for user in users],
                    ),
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
