"""Use cases on customers: create database users, check passwords, change profiles and passwords.

Everything happens inside the caller's unit of work; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.database.policy import PasswordPolicy
from identa.connections.models import Connection
from identa.connections.service import requires_username
from identa.core import ids
from identa.core.clock import Clock
from identa.core.errors import InvalidInput
from identa.events.lifecycle import UserEvents, UserEventType
from identa.identity.bruteforce import BruteForceGuard, ip_allowed
from identa.identity.errors import (
    PasswordPolicyError,
    TooManyAttempts,
    UserBlocked,
    UserExists,
    UsernameExists,
    UserNotFound,
    WrongCredentials,
    WrongCurrentPassword,
)
from identa.identity.models import Identity, PasswordCredential, User
from identa.identity.passwords import PasswordHasher
from identa.identity.profile import (
    NewDatabaseUser,
    check_metadata_size,
    clean_profile,
    gravatar_url,
    merge_metadata,
    user_to_dict,
    validate_metadata,
)
from identa.identity.store import UserStore
from identa.identity.validation import (
    MAX_EMAIL_LENGTH,
    check_password_size,
    normalize_email,
    normalize_username,
)
from identa.tenants.service import BruteForceSettings

__all__ = ["Authenticated", "NewDatabaseUser", "UserService"]


@dataclass(frozen=True)
class Authenticated:
    user: User
    credential: PasswordCredential


class UserService:
    def __init__(
        self, clock: Clock, hasher: PasswordHasher, events: UserEvents | None = None
    ) -> None:
        self._clock = clock
        self._hasher = hasher
        self._guard = BruteForceGuard()
        self._events = events

    def _emit(
        self, session: AsyncSession, type_: UserEventType, user: User, **details: Any
    ) -> None:
        # Lifecycle events go to the outbox in the caller's transaction (see events.lifecycle).
        if self._events is not None:
            self._events.record(session, type_, user.user_id, user_to_dict(user), **details)

    # -- lookups ---------------------------------------------------------------------------

    async def get(self, session: AsyncSession, user_id: str) -> User:
        user = await UserStore(session).get(user_id)
        if user is None:
            raise UserNotFound("The user does not exist.", user_id=user_id)
        return user

    async def find(self, session: AsyncSession, user_id: str) -> User | None:
        return await UserStore(session).get(user_id)

    async def by_email(self, session: AsyncSession, email: str) -> list[User]:
        return await UserStore(session).by_email(email)

    async def credential_for_login(
        self, session: AsyncSession, connection: Connection, identifier: str
    ) -> PasswordCredential | None:
        store = UserStore(session)
        key = identifier.strip().lower()
        if "@" in key:
            credential = await store.credential_by_email(connection.id, key)
            if credential is not None:
                return credential
        return await store.credential_by_username(connection.id, key)

    async def database_credential(
        self, session: AsyncSession, user: User
    ) -> PasswordCredential | None:
        credentials = await UserStore(session).credentials_of(user.user_id)
        return credentials[0] if credentials else None

    # -- creation --------------------------------------------------------------------------

    async def create_database_user(
        self,
        session: AsyncSession,
        connection: Connection,
        new: NewDatabaseUser,
        *,
        policy: PasswordPolicy,
    ) -> User:
        email = normalize_email(new.email)
        username: str | None = None
        if new.username:
            username = normalize_username(new.username, **_username_bounds(connection))
        elif requires_username(connection):
            raise InvalidInput("Username is required.", field="username")
        if new.password is not None:
            check_password_size(new.password)
            self.check_policy(policy, new.password)
        profile = clean_profile(
            {
                key: value
                for key, value in (
                    ("given_name", new.given_name),
                    ("family_name", new.family_name),
                    ("name", new.name),
                    ("nickname", new.nickname),
                    ("picture", new.picture),
                )
                if value is not None
            }
        )
        user_metadata = validate_metadata(new.user_metadata or {}, "user_metadata")
        app_metadata = validate_metadata(new.app_metadata or {}, "app_metadata")
        check_metadata_size(user_metadata, app_metadata)

        store = UserStore(session)
        if await store.credential_by_email(connection.id, email) is not None:
            raise UserExists("The user already exists.")
        if username and await store.credential_by_username(connection.id, username) is not None:
            raise UsernameExists("The username provided is in use already.")

        password_hash = new.password_hash
        if new.password is not None:
            password_hash = await self._hasher.hash(new.password)
        now = self._clock.now()
        local_id = new.user_id.removeprefix("auth0|") if new.user_id else ids.database_user_id()
        nickname = profile.get("nickname") or email.split("@", 1)[0]
        user = User(
            user_id=f"auth0|{local_id}",
            email=email,
            email_verified=new.email_verified,
            username=username,
            phone_number=new.phone_number,
            phone_verified=False,
            name=profile.get("name") or email,
            given_name=profile.get("given_name"),
            family_name=profile.get("family_name"),
            nickname=nickname,
            picture=profile.get("picture") or gravatar_url(email, nickname),
            created_at=now,
            updated_at=now,
            last_login=None,
            last_ip=None,
            logins_count=0,
            blocked=new.blocked,
            user_metadata=user_metadata,
            app_metadata=app_metadata,
            extra={},
        )
        identity = Identity(
            connection_id=connection.id,
            connection_name=connection.name,
            provider="auth0",
            provider_user_id=local_id,
            is_social=False,
            position=0,
            profile_data=None,
            created_at=now,
        )
        user.identities.append(identity)
        store.add(user)
        try:
            await session.flush()
            store.add(
                PasswordCredential(
                    identity_id=identity.id,
                    user_id=user.user_id,
                    connection_id=connection.id,
                    email_key=email,
                    username_key=username,
                    password_hash=password_hash,
                    password_changed_at=now if password_hash else None,
                )
            )
            await session.flush()
        except IntegrityError as exc:
            # A concurrent sign-up won the race; the unit of work must be rolled back.
            if username and "username" in str(exc.orig).lower():
                raise UsernameExists("The username provided is in use already.") from exc
            raise UserExists("The user already exists.") from exc
        self._emit(session, UserEventType.CREATED, user)
        return user

    def check_policy(self, policy: PasswordPolicy, password: str) -> None:
        report = policy.check(password)
        if not report.verified:
            raise PasswordPolicyError(
                "PasswordStrengthError: Password is too weak",
                report.as_description(),
                report.human_messages(),
            )

    # -- authentication --------------------------------------------------------------------

    async def authenticate_password(
        self,
        session: AsyncSession,
        connection: Connection,
        identifier: str,
        password: str,
        *,
        ip: str,
        brute_force: BruteForceSettings,
    ) -> Authenticated:
        """Checks a password; on failure counts it against the (identifier, IP) pair.

        Raises WrongCredentials, TooManyAttempts (the pair is blocked; `just_blocked` on the
        error's details when this attempt caused it) or UserBlocked.
        """
        check_password_size(password)
        key = identifier.strip().lower()
        if len(key) > MAX_EMAIL_LENGTH:
            raise InvalidInput("Email or username is too long.", field="username")
        protect = (
            brute_force.enabled
            and bool((connection.options or {}).get("brute_force_protection", True))
            and not ip_allowed(ip, brute_force.allowlist)
        )
        counter = await self._guard.counter(session, connection.id, key, ip) if protect else None
        if counter is not None and counter.blocked_at is not None:
            credential = await self.credential_for_login(session, connection, key)
            raise TooManyAttempts(user_id=credential.user_id if credential else None)

        credential = await self.credential_for_login(session, connection, key)
        result = await self._hasher.verify(
            credential.password_hash if credential else None, password
        )
        if credential is None or not result.ok:
            user_id = credential.user_id if credential else None
            if protect:
                blocked_now = await self._guard.register_failure(
                    session,
                    connection_id=connection.id,
                    identifier=key,
                    ip=ip,
                    user_id=user_id,
                    max_attempts=brute_force.max_attempts,
                    now=self._clock.now(),
                )
                if blocked_now:
                    error = TooManyAttempts(user_id=user_id)
                    error.details["just_blocked"] = True
                    error.details["identifier"] = key
                    raise error
            raise WrongCredentials(unknown_user=credential is None, user_id=user_id)

        user = await self.get(session, credential.user_id)
        if user.blocked:
            raise UserBlocked(user_id=user.user_id)
        if result.needs_rehash:
            credential.password_hash = await self._hasher.hash(password)
        if counter is not None:
            await self._guard.reset_pair(session, connection.id, key, ip)
        return Authenticated(user=user, credential=credential)

    async def burn_password_time(self, password: str) -> None:
        await self._hasher.burn(password)

    def record_login(self, user: User, ip: str | None) -> None:
        now = self._clock.now()
        user.last_login = now
        user.last_ip = ip
        user.logins_count = (user.logins_count or 0) + 1
        user.updated_at = now

    # -- changes ---------------------------------------------------------------------------

    async def change_password(
        self,
        session: AsyncSession,
        user: User,
        new_password: str,
        *,
        policy: PasswordPolicy,
        current_password: str | None = None,
        ip: str | None = None,
        brute_force: BruteForceSettings | None = None,
    ) -> PasswordCredential:
        """Sets a new password. With `current_password`, checks it first; wrong guesses count
        against the same (identifier, IP) pair as failed logins, so a stolen session cannot be
        used to guess the password without limit."""
        check_password_size(new_password)
        credential = await self.database_credential(session, user)
        if credential is None:
            raise InvalidInput("This account has no password to change.")
        if current_password is not None:
            check_password_size(current_password)
            key = credential.email_key or credential.username_key or user.user_id
            protect = (
                brute_force is not None
                and brute_force.enabled
                and ip is not None
                and not ip_allowed(ip, brute_force.allowlist)
            )
            if (
                protect
                and ip
                and await self._guard.is_blocked(session, credential.connection_id, key, ip)
            ):
                raise TooManyAttempts(user_id=user.user_id)
            verified = await self._hasher.verify(credential.password_hash, current_password)
            if not verified.ok:
                if (
                    protect
                    and ip
                    and brute_force
                    and await self._guard.register_failure(
                        session,
                        connection_id=credential.connection_id,
                        identifier=key,
                        ip=ip,
                        user_id=user.user_id,
                        max_attempts=brute_force.max_attempts,
                        now=self._clock.now(),
                    )
                ):
                    error = TooManyAttempts(user_id=user.user_id)
                    error.details["just_blocked"] = True
                    error.details["identifier"] = key
                    raise error
                raise WrongCurrentPassword("The current password is not correct.")
        self.check_policy(policy, new_password)
        now = self._clock.now()
        credential.password_hash = await self._hasher.hash(new_password)
        credential.password_changed_at = now
        user.last_password_reset = now
        user.updated_at = now
        await session.flush()
        self._emit(session, UserEventType.UPDATED, user, changed=["password"])
        return credential

    async def update_profile(
        self, session: AsyncSession, user: User, changes: dict[str, Any]
    ) -> User:
        cleaned = clean_profile(changes)
        for key, value in cleaned.items():
            setattr(user, key, value)
        user.updated_at = self._clock.now()
        await session.flush()
        self._emit(session, UserEventType.UPDATED, user, changed=sorted(cleaned))
        return user

    async def patch_metadata(
        self,
        session: AsyncSession,
        user: User,
        *,
        user_metadata: dict[str, Any] | None = None,
        app_metadata: dict[str, Any] | None = None,
    ) -> User:
        merged_user = user.user_metadata or {}
        merged_app = user.app_metadata or {}
        if user_metadata is not None:
            merged_user = merge_metadata(
                merged_user, validate_metadata(user_metadata, "user_metadata")
            )
        if app_metadata is not None:
            merged_app = merge_metadata(merged_app, validate_metadata(app_metadata, "app_metadata"))
        check_metadata_size(merged_user, merged_app)
        user.user_metadata, user.app_metadata = merged_user, merged_app
        user.updated_at = self._clock.now()
        await session.flush()
        changed = [
            name
            for name, value in (("user_metadata", user_metadata), ("app_metadata", app_metadata))
            if value is not None
        ]
        self._emit(session, UserEventType.UPDATED, user, changed=changed)
        return user

    async def mark_email_verified(self, session: AsyncSession, user: User) -> None:
        user.email_verified = True
        user.updated_at = self._clock.now()
        await session.flush()

    async def set_blocked(self, session: AsyncSession, user: User, blocked: bool) -> None:
        changed = bool(user.blocked) != blocked
        user.blocked = blocked
        user.updated_at = self._clock.now()
        await session.flush()
        if changed:
            type_ = UserEventType.BLOCKED if blocked else UserEventType.UNBLOCKED
            self._emit(session, type_, user)

    # -- brute-force blocks ----------------------------------------------------------------

    async def login_identifiers(self, session: AsyncSession, user: User) -> list[str]:
        identifiers = {user.email.lower()} if user.email else set()
        for credential in await UserStore(session).credentials_of(user.user_id):
            if credential.email_key:
                identifiers.add(credential.email_key)
            if credential.username_key:
                identifiers.add(credential.username_key)
        return sorted(identifiers)

    async def brute_force_blocks(self, session: AsyncSession, user: User) -> list[dict[str, str]]:
        identifiers = await self.login_identifiers(session, user)
        rows = await self._guard.blocks_for(session, identifiers=identifiers, user_id=user.user_id)
        connection_names = {i.connection_id: i.connection_name for i in user.identities}
        return [
            {
                "identifier": row.identifier,
                "ip": row.ip,
                "connection": connection_names.get(row.connection_id, row.connection_id),
            }
            for row in rows
        ]

    async def release_brute_force(self, session: AsyncSession, user: User) -> int:
        identifiers = await self.login_identifiers(session, user)
        return await self._guard.release(session, identifiers=identifiers, user_id=user.user_id)

    async def release_brute_force_identifier(self, session: AsyncSession, identifier: str) -> int:
        return await self._guard.release(session, identifiers=[identifier.strip().lower()])

    async def delete(self, session: AsyncSession, user: User) -> None:
        self._emit(session, UserEventType.DELETED, user)
        await UserStore(session).delete(user)
        await session.flush()


def _username_bounds(connection: Connection) -> dict[str, int]:
    validation = (connection.options or {}).get("validation") or {}
    bounds = validation.get("username") if isinstance(validation, dict) else None
    if not isinstance(bounds, dict):
        return {}
    out: dict[str, int] = {}
    if isinstance(bounds.get("min"), int):
        out["min_length"] = bounds["min"]
    if isinstance(bounds.get("max"), int):
        out["max_length"] = bounds["max"]
    return out
