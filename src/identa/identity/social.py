"""Customers who come from an upstream identity provider: their users and identities, profile
sync per connection (`set_user_root_attributes`), and adding an identity to an existing profile.

Runs inside the caller's unit of work; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock
from identa.core.errors import Conflict
from identa.identity.models import Identity, User
from identa.identity.profile import gravatar_url


@dataclass(frozen=True)
class FederatedLogin:
    """What the upstream said, ready to be stored."""

    connection_id: str
    connection_name: str
    provider: str
    provider_user_id: str
    is_social: bool
    email: str | None
    email_verified: bool
    root: dict[str, Any]
    extra: dict[str, Any]
    raw: dict[str, Any]
    sealed_tokens: str | None
    grant: dict[str, Any]
    sync_mode: str


class SocialIdentities:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def find(self, db: AsyncSession, login: FederatedLogin) -> Identity | None:
        return await db.scalar(
            select(Identity).where(
                Identity.connection_id == login.connection_id,
                Identity.provider_user_id == login.provider_user_id,
            )
        )

    async def create_user(self, db: AsyncSession, login: FederatedLogin) -> User:
        """A new profile whose primary identity is this upstream account."""
        now = self._clock.now()
        user_id = f"{login.provider}|{login.provider_user_id}"
        if await db.get(User, user_id) is not None:
            raise Conflict(f"A user with id {user_id} exists already.")
        root = login.root if login.sync_mode != "never_on_login" else {}
        email = login.email
        nickname = root.get("nickname") or (email.split("@", 1)[0] if email else None)
        user = User(
            user_id=user_id,
            email=email,
            email_verified=login.email_verified,
            username=None,
            phone_number=None,
            phone_verified=False,
            name=root.get("name") or email or nickname,
            given_name=root.get("given_name"),
            family_name=root.get("family_name"),
            nickname=nickname,
            picture=root.get("picture") or gravatar_url(email, nickname),
            created_at=now,
            updated_at=now,
            last_login=None,
            last_ip=None,
            logins_count=0,
            blocked=False,
            user_metadata={},
            app_metadata={},
            extra=dict(login.extra) if login.sync_mode != "never_on_login" else {},
        )
        user.identities.append(self._identity(login, position=0))
        db.add(user)
        await db.flush()
        return user

    async def attach(self, db: AsyncSession, user: User, login: FederatedLogin) -> Identity:
        """Adds the upstream account to an existing profile as a secondary identity (Auth0's
        linking result: the primary's root attributes stay; the secondary's go in profileData)."""
        if any(i.connection_id == login.connection_id for i in user.identities):
            raise Conflict("The profile already has an identity on this connection.")
        position = max((i.position for i in user.identities), default=0) + 1
        identity = self._identity(login, position=position)
        identity.profile_data = self._profile_data(login)
        user.identities.append(identity)
        user.updated_at = self._clock.now()
        await db.flush()
        return identity

    def sync(self, user: User, identity: Identity, login: FederatedLogin) -> None:
        """A returning login: refresh what the provider said, tokens and consented scopes.

        Root attributes follow only the primary identity, and only with `on_each_login`."""
        primary = bool(user.identities) and user.identities[0] is identity
        identity.profile_data = self._profile_data(login) if not primary else dict(login.raw)
        identity.idp_grant = dict(login.grant)
        if login.sealed_tokens is not None:
            identity.idp_tokens = login.sealed_tokens
        if primary and login.sync_mode == "on_each_login":
            for key, value in login.root.items():
                setattr(user, key, value)
            user.extra = {**(user.extra or {}), **login.extra}
            if login.email and login.email == user.email and login.email_verified:
                user.email_verified = True
        user.updated_at = self._clock.now()

    def _identity(self, login: FederatedLogin, *, position: int) -> Identity:
        return Identity(
            connection_id=login.connection_id,
            connection_name=login.connection_name,
            provider=login.provider,
            provider_user_id=login.provider_user_id,
            is_social=login.is_social,
            position=position,
            profile_data=dict(login.raw),
            idp_tokens=login.sealed_tokens,
            idp_grant=dict(login.grant),
            created_at=self._clock.now(),
        )

    @staticmethod
    def _profile_data(login: FederatedLogin) -> dict[str, Any]:
        data: dict[str, Any] = {**login.raw, **login.extra, **login.root}
        if login.email is not None:
            data["email"] = login.email
            data["email_verified"] = login.email_verified
        return data
