"""Account linking: several identities (database, social, enterprise) in one customer profile.

Auth0's semantics, which scripts written for Auth0 rely on:

* Linking moves the secondary user's identities into the primary user. The primary keeps its
  user_id, root attributes, user_metadata and app_metadata; the secondary's root attributes are
  kept in the moved identity's `profileData`; the secondary's metadata is dropped (copy it first
  if it matters) and the secondary user no longer exists. `identities[0]` stays the primary's.
* Unlinking takes one secondary identity out of a user and makes it a user of its own again,
  with the attributes its `profileData` holds and no metadata.

Both run inside the caller's unit of work; nothing here commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock
from identa.core.errors import Conflict, InvalidInput, NotFound
from identa.events.lifecycle import UserEvents, UserEventType
from identa.identity.models import BruteForceBlock, User
from identa.identity.profile import gravatar_url, user_to_dict
from identa.identity.store import UserStore

# Root attributes a secondary user leaves in its identity's profileData, and gets back on unlink.
PROFILE_DATA_FIELDS = (
    "email",
    "email_verified",
    "name",
    "username",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "phone_number",
    "phone_verified",
)


class IdentityNotFound(NotFound):
    code = "inexistent_identity"


class IdentityAlreadyLinked(Conflict):
    code = "identity_conflict"


class AccountLinker:
    def __init__(self, clock: Clock, events: UserEvents | None = None) -> None:
        self._clock = clock
        self._events = events

    async def find_identity_owner(
        self,
        session: AsyncSession,
        provider: str,
        provider_user_id: str,
        connection_id: str | None = None,
    ) -> User:
        """The user holding the identity `provider|provider_user_id` (on `connection_id`)."""
        identities = await UserStore(session).identities_by_provider_id(
            provider, provider_user_id, connection_id
        )
        if not identities:
            raise IdentityNotFound("The secondary user does not exist.")
        if len(identities) > 1:
            raise InvalidInput(
                "Several connections hold an identity with this provider and user_id; "
                "send connection_id to choose one.",
                field="connection_id",
            )
        return await _user(session, identities[0].user_id)

    async def link(self, session: AsyncSession, primary: User, secondary: User) -> User:
        """Moves every identity of `secondary` into `primary` and deletes `secondary`."""
        if primary.user_id == secondary.user_id:
            raise IdentityAlreadyLinked("Specified identity already exists.")
        taken = {(i.connection_id, i.provider_user_id) for i in primary.identities}
        moving = list(secondary.identities)
        if any((i.connection_id, i.provider_user_id) in taken for i in moving):
            raise IdentityAlreadyLinked("Specified identity already exists.")
        # One identity per connection: a profile with two accounts at the same connection would
        # make logins ambiguous, and Auth0 refuses it too.
        primary_connections = {i.connection_id for i in primary.identities}
        if any(i.connection_id in primary_connections for i in moving):
            raise IdentityAlreadyLinked(
                "The primary user already has an identity on this connection."
            )

        profile = _root_profile(secondary)
        secondary_id = secondary.user_id
        position = max((i.position for i in primary.identities), default=0)
        for index, identity in enumerate(moving):
            secondary.identities.remove(identity)
            position += 1
            identity.position = position
            if index == 0:
                identity.profile_data = {**(identity.profile_data or {}), **profile}
            primary.identities.append(identity)
        await session.flush()
        await _move_credentials(session, secondary_id, primary.user_id)
        await session.delete(secondary)
        primary.updated_at = self._clock.now()
        await session.flush()
        if self._events is not None:
            self._events.record(
                session,
                UserEventType.LINKED,
                primary.user_id,
                user_to_dict(primary),
                secondary_user_id=secondary_id,
            )
        return primary

    async def unlink(
        self, session: AsyncSession, primary: User, provider: str, provider_user_id: str
    ) -> User:
        """Takes the identity out of `primary` and returns the new user made for it."""
        found = [
            i
            for i in primary.identities
            if i.provider == provider and i.provider_user_id == provider_user_id
        ]
        if not found:
            raise IdentityNotFound("The identity is not linked to this user.")
        identity = found[0]
        if identity is primary.identities[0]:
            raise InvalidInput("The main identity of a user cannot be unlinked.")

        now = self._clock.now()
        data = dict(identity.profile_data or {})
        email = _text(data.get("email"))
        nickname = _text(data.get("nickname")) or (email.split("@", 1)[0] if email else None)
        standalone = User(
            user_id=f"{provider}|{provider_user_id}",
            email=email,
            email_verified=data.get("email_verified") is True,
            username=_text(data.get("username")),
            phone_number=_text(data.get("phone_number")),
            phone_verified=data.get("phone_verified") is True,
            name=_text(data.get("name")) or email,
            given_name=_text(data.get("given_name")),
            family_name=_text(data.get("family_name")),
            nickname=nickname,
            picture=_text(data.get("picture")) or gravatar_url(email, nickname),
            created_at=identity.created_at,
            updated_at=now,
            last_login=None,
            last_ip=None,
            logins_count=0,
            blocked=False,
            user_metadata={},
            app_metadata={},
            extra={},
        )
        if await session.get(User, standalone.user_id) is not None:
            raise IdentityAlreadyLinked(
                f"A user with id {standalone.user_id} exists already; delete it first."
            )
        primary.identities.remove(identity)
        # profileData stays with the identity (a primary identity does not show it); should the
        # identity be linked again, it is refreshed from the user's root attributes.
        identity.position = 0
        standalone.identities.append(identity)
        session.add(standalone)
        primary.updated_at = now
        try:
            await session.flush()
        except IntegrityError as exc:
            raise IdentityAlreadyLinked(
                f"A user with id {standalone.user_id} exists already."
            ) from exc
        await _move_credentials(session, primary.user_id, standalone.user_id, identity.id)
        await session.flush()
        if self._events is not None:
            self._events.record(
                session,
                UserEventType.UNLINKED,
                primary.user_id,
                user_to_dict(primary),
                unlinked_user=user_to_dict(standalone),
            )
        return standalone


async def _user(session: AsyncSession, user_id: str) -> User:
    user = await UserStore(session).get(user_id)
    if user is None:
        raise IdentityNotFound("The secondary user does not exist.")
    return user


async def _move_credentials(
    session: AsyncSession, from_user: str, to_user: str, identity_id: int | None = None
) -> None:
    """Password credentials and brute-force counters follow their identity to its new user."""
    for credential in await UserStore(session).credentials_of(from_user):
        if identity_id is None or credential.identity_id == identity_id:
            credential.user_id = to_user
    if identity_id is None:
        await session.execute(
            update(BruteForceBlock)
            .where(BruteForceBlock.user_id == from_user)
            .values(user_id=to_user)
            .execution_options(synchronize_session=False)
        )
    await session.flush()


def _root_profile(user: User) -> dict[str, Any]:
    values: dict[str, Any] = {key: getattr(user, key) for key in PROFILE_DATA_FIELDS}
    for key, value in (user.extra or {}).items():
        values.setdefault(key, value)
    return {key: value for key, value in values.items() if value is not None}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
