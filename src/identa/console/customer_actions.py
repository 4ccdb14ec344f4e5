"""What support and admins may do to a customer from the console: block and unblock, delete,
send a password-reset or verification e-mail, unlink a secondary identity.

Each action uses the services the Management API and the hosted flows use, and records the log
event they record, in the caller's transaction (the console adds its audit entry to it).
Log events name no application: the console is not a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.service import ConnectionService, is_database
from identa.core.context import RequestContext
from identa.core.errors import DomainError, InvalidInput, NotFound
from identa.events.catalog import LogType
from identa.events.service import EventRecorder, EventSubject
from identa.flows.account import AccountFlows
from identa.flows.service import LoginFlows
from identa.identity.linking import AccountLinker, IdentityNotFound
from identa.identity.models import User
from identa.identity.service import UserService
from identa.jobs.service import JobService

MAX_USER_ID = 255


class CustomerGone(NotFound):
    code = "customer_gone"


class ActionRefused(InvalidInput):
    code = "action_refused"


@dataclass(frozen=True)
class Done:
    """What an action did: `key` names the message the page shows after it, `message` says it
    in full, `details` go into the audit entry."""

    key: str
    message: str
    details: dict[str, Any]


class CustomerActions:
    def __init__(
        self,
        *,
        users: UserService,
        linker: AccountLinker,
        connections: ConnectionService,
        flows: LoginFlows,
        account: AccountFlows,
        events: EventRecorder,
        jobs: JobService,
    ) -> None:
        self.users = users
        self.linker = linker
        self.connections = connections
        self.flows = flows
        self.account = account
        self.events = events
        self.jobs = jobs

    async def load(self, db: AsyncSession, user_id: str) -> User:
        user = await self.users.find(db, user_id) if len(user_id) <= MAX_USER_ID else None
        if user is None:
            raise CustomerGone(
                "This customer does not exist (any more): it may have been deleted meanwhile. "
                "Nothing was changed."
            )
        return user

    def _api_event(
        self, db: AsyncSession, user: User, request: RequestContext, description: str
    ) -> None:
        self.events.record(
            db,
            LogType.SUCCESS_API_OPERATION,
            subject=EventSubject(user_id=user.user_id, user_name=user.email),
            request=request,
            description=description,
        )

    async def set_blocked(
        self, db: AsyncSession, user: User, blocked: bool, request: RequestContext
    ) -> Done:
        was = bool(user.blocked)
        await self.users.set_blocked(db, user, blocked)
        self._api_event(db, user, request, "Update a User")
        if was == blocked:
            state = "blocked" if blocked else "not blocked"
            return Done("unchanged", f"The customer was already {state}.", {"blocked": blocked})
        verb = "blocked: they can no longer log in" if blocked else "unblocked"
        key = "blocked" if blocked else "unblocked"
        return Done(key, f"The customer was {verb}.", {"blocked": blocked})

    async def delete(self, db: AsyncSession, user: User, request: RequestContext) -> Done:
        details = {"email": user.email}
        self.events.record(
            db,
            LogType.SUCCESS_USER_DELETION,
            subject=EventSubject(user_id=user.user_id, user_name=user.email),
            request=request,
        )
        await self.users.delete(db, user)
        who = user.email or user.user_id
        return Done("deleted", f"The customer {who} was deleted.", details)

    async def send_password_reset(
        self, db: AsyncSession, user: User, request: RequestContext
    ) -> Done:
        """The e-mail of POST /dbconnections/change_password, to the customer's database login."""
        credential = await self.users.database_credential(db, user)
        login = credential and (credential.email_key or credential.username_key)
        if credential is None or not login:
            raise ActionRefused(
                "This customer has no password (no database login): there is nothing to reset."
            )
        connection = await self.connections.by_id(db, credential.connection_id)
        if not is_database(connection):
            raise ActionRefused("This customer's login is not on a database connection.")
        if not credential.email_key:
            raise ActionRefused("This customer's login has no e-mail address to send a link to.")
        await self.account.request_password_reset(
            db,
            email=credential.email_key,
            client=await self.flows.default_client(db),
            connection=connection,
            request=request,
        )
        return Done(
            "reset",
            f"A password-reset e-mail is on its way to {credential.email_key}.",
            {"recipient": credential.email_key, "connection": connection.name},
        )

    async def send_verification(
        self, db: AsyncSession, user: User, request: RequestContext
    ) -> Done:
        """What POST /api/v2/jobs/verification-email does."""
        if not user.email:
            raise ActionRefused("This customer has no e-mail address to verify.")
        client = await self.flows.default_client(db)
        await self.flows.mail.send_verification(db, user, client=client)
        await self.jobs.record_verification_email(db, client_id=None)
        self._api_event(db, user, request, "Send a verification email")
        note = " (the address is already verified)" if user.email_verified else ""
        return Done(
            "verification",
            f"A verification e-mail is on its way to {user.email}{note}.",
            {"recipient": user.email},
        )

    async def unlink(
        self,
        db: AsyncSession,
        user: User,
        provider: str,
        provider_user_id: str,
        request: RequestContext,
    ) -> Done:
        """DELETE /api/v2/users/{id}/identities/{provider}/{user_id}: the identity becomes a
        customer of its own again."""
        try:
            standalone = await self.linker.unlink(db, user, provider, provider_user_id)
        except IdentityNotFound as exc:
            raise ActionRefused(
                "That identity is not linked to this customer (any more). Nothing was changed."
            ) from exc
        except DomainError as exc:
            raise ActionRefused(exc.message) from exc
        self._api_event(db, user, request, f"Unlink a User Account ({standalone.user_id})")
        return Done(
            "unlinked",
            f"The {provider} identity {provider_user_id} was unlinked; it is now the customer "
            f"{standalone.user_id}.",
            {"provider": provider, "identity": provider_user_id, "new_user_id": standalone.user_id},
        )
