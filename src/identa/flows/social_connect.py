"""Connected accounts on the self-service account page: the profile's identities, connecting
another upstream account to the signed-in profile, and disconnecting a secondary identity.

A connection round trip is a flow of its own (screen `connect`) whose upstream state also
binds the signed-in session (its id, hashed, and its user): the callback is completed only for
that same live session, so a link started by one session cannot land in another profile. An
upstream identity that already belongs to another profile is refused and nothing changes:
this page never merges two accounts. Each link and unlink records a `sapi` log event (as the
Auth0 Account Link Extension's Management API calls do) and a user.linked / user.unlinked
lifecycle event.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.connections.social.presets import is_upstream
from identa.connections.social.upstream import UpstreamResult, display_name
from identa.core import ids
from identa.core.context import RequestContext
from identa.core.digests import token_digest
from identa.core.errors import DomainError, InvalidInput
from identa.events.catalog import LogType
from identa.events.lifecycle import UserEvents, UserEventType
from identa.flows.models import LoginFlow, subject_for
from identa.flows.service import ACCOUNT_PAGE
from identa.flows.social_state import CALLBACK_LIFETIME, CONNECT, Begun, Button, Pending
from identa.identity.linking import AccountLinker
from identa.identity.models import User
from identa.identity.profile import user_to_dict
from identa.sessions.models import SsoSession

if TYPE_CHECKING:
    from identa.flows.social import SocialLogins


class ConnectRefused(DomainError):
    """reason: session_mismatch | identity_taken | connection_taken."""

    code = "connect_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ConnectedIdentity:
    provider: str
    user_id: str
    connection: str
    label: str
    linked_at: datetime
    primary: bool


def _label(connection: Connection | None, fallback: str) -> str:
    if connection is None:
        return fallback
    if is_upstream(connection.strategy):
        return display_name(connection)
    return connection.display_name or ("Password" if connection.strategy == "auth0" else fallback)


class AccountConnections:
    def __init__(self, social: SocialLogins) -> None:
        self.social = social
        self.flows = social.flows
        clock = social.flows._clock
        self._clock = clock
        self.user_events = UserEvents(clock)
        self.linker = AccountLinker(clock, self.user_events)

    async def application(self, db: AsyncSession, client_id: str | None) -> Client:
        """The application the account page belongs to: the session's first, else the
        tenant's default (as the page's branding)."""
        client = await self.flows.clients.find(db, client_id) if client_id else None
        return client or await self.flows.default_client(db)

    async def overview(
        self, db: AsyncSession, user: User, client: Client
    ) -> tuple[list[ConnectedIdentity], list[Button]]:
        """The profile's identities, and a button for each upstream connection enabled on the
        application that the profile has no identity on yet."""
        connections = {
            c.id: c for c in await self.flows.connections.for_client(db, client.client_id)
        }
        identities = [
            ConnectedIdentity(
                provider=i.provider,
                user_id=i.provider_user_id,
                connection=i.connection_name,
                label=_label(connections.get(i.connection_id), i.connection_name),
                linked_at=i.created_at,
                primary=index == 0,
            )
            for index, i in enumerate(user.identities)
        ]
        held = {i.connection_id for i in user.identities}
        available = [
            Button(c.name, display_name(c), c.strategy)
            for c in connections.values()
            if is_upstream(c.strategy) and c.id not in held
        ]
        return identities, sorted(available, key=lambda b: b.label.casefold())

    async def start(
        self, db: AsyncSession, *, sso: SsoSession, client: Client, connection_name: str
    ) -> Begun:
        connection = await self.flows.connections.by_name(db, connection_name)
        await self.flows.connections.require_enabled(db, connection, client.client_id)
        if not is_upstream(connection.strategy):
            raise InvalidInput(f"{connection_name} is not a social or enterprise connection")
        user = await self.flows.users.get(db, sso.user_id)
        if any(i.connection_id == connection.id for i in user.identities):
            raise InvalidInput(f"A {display_name(connection)} account is connected already.")
        now = self._clock.now()
        flow = LoginFlow(
            id=ids.opaque_token(18),
            client_id=client.client_id,
            connection=None,
            screen=CONNECT,
            request={"kind": CONNECT},
            return_to=ACCOUNT_PAGE,
            created_at=now,
            expires_at=now + CALLBACK_LIFETIME,
            completed_at=None,
            user_id=sso.user_id,
        )
        db.add(flow)
        await db.flush()
        binding = {"user_id": sso.user_id, "session": token_digest(sso.id)}
        return await self.social.begin_flow(
            db, flow, connection, purpose=CONNECT, login_hint=user.email, binding=binding
        )

    async def complete(
        self,
        db: AsyncSession,
        pending: Pending,
        result: UpstreamResult,
        *,
        sso: SsoSession | None,
        request: RequestContext,
    ) -> User:
        """Links the incoming identity into the signed-in profile, or refuses (ConnectRefused)
        without changing anything."""
        binding = pending.binding or {}
        if (
            sso is None
            or sso.user_id != binding.get("user_id")
            or not hmac.compare_digest(token_digest(sso.id), str(binding.get("session")))
        ):
            raise ConnectRefused(
                "session_mismatch",
                "This account connection was started in another session. Log in and start "
                "again from your account page.",
            )
        connection = pending.connection
        provider = display_name(connection)
        user = await self.flows.users.get(db, sso.user_id)
        login = self.social.login_from(connection, result)
        identity = await self.social.identities.find(db, login)
        if identity is not None and identity.user_id == user.user_id:
            return user  # connected already: nothing to do
        if identity is not None:
            raise ConnectRefused(
                "identity_taken",
                f"This {provider} account already belongs to another account here, so it was "
                "not connected and nothing was changed. Log in with it to use that account.",
            )
        if any(i.connection_id == connection.id for i in user.identities):
            raise ConnectRefused(
                "connection_taken",
                f"Your account has a {provider} account connected already. Disconnect it first.",
            )
        await self.social.identities.attach(db, user, login)
        flow = await db.get(LoginFlow, pending.flow_id)
        if flow is not None:
            flow.completed_at = self._clock.now()
        linked = f"{login.provider}|{login.provider_user_id}"
        self.flows.events.record(
            db,
            LogType.SUCCESS_API_OPERATION,
            subject=subject_for(pending.client, connection, user),
            request=request,
            description=f"Link a User Account ({linked}) from the account page",
            details={"account_link": self.social.link_details(user, login, "account_page")},
        )
        self.user_events.record(
            db,
            UserEventType.LINKED,
            user.user_id,
            user_to_dict(user),
            linked_identity=linked,
            connection=connection.name,
            source="account_page",
        )
        return user

    async def disconnect(
        self,
        db: AsyncSession,
        *,
        sso: SsoSession,
        client: Client,
        provider: str,
        provider_user_id: str,
        request: RequestContext,
    ) -> User:
        """Takes a secondary identity out of the profile; it becomes a profile of its own
        (Auth0's unlink). The primary identity stays: the linker refuses it."""
        user = await self.flows.users.get(db, sso.user_id)
        standalone = await self.linker.unlink(db, user, provider, provider_user_id)
        self.flows.events.record(
            db,
            LogType.SUCCESS_API_OPERATION,
            subject=subject_for(client, None, user),
            request=request,
            description=f"Unlink a User Account ({standalone.user_id}) from the account page",
        )
        return user
