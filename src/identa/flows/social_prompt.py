"""Prompt-mode account linking: an upstream identity arrives whose e-mail an existing profile
already holds. Before the identity joins that profile the customer proves it is theirs, with
its password or, for a profile without one, by logging in through one of the profile's own
providers; or they keep the two apart. Nothing is linked on an e-mail match alone.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.models import Connection
from identa.connections.social.presets import is_upstream
from identa.connections.social.upstream import display_name
from identa.core import ids
from identa.core.context import RequestContext
from identa.core.digests import token_digest
from identa.core.errors import DomainError, InvalidInput
from identa.events.catalog import LogType
from identa.flows.models import FlowView, LoginOutcome, subject_for
from identa.flows.social_state import PROVE_LINK, Begun, Button, NeedsLinkPrompt
from identa.identity.errors import WrongCredentials
from identa.identity.models import User
from identa.identity.social import FederatedLogin

if TYPE_CHECKING:
    from identa.flows.social import SocialLogins


class LinkProofFailed(DomainError):
    code = "link_proof_mismatch"


class LinkPrompts:
    def __init__(self, social: SocialLogins) -> None:
        self.social = social
        self.flows = social.flows

    async def offer(
        self, db: AsyncSession, view: FlowView, candidates: Sequence[User], login: FederatedLogin
    ) -> NeedsLinkPrompt | None:
        """Asks the customer to prove the first profile they could prove (a password, or a
        provider enabled on this application); None when no candidate can be proven here."""
        for user in candidates:
            has_password = await self.flows.users.database_credential(db, user) is not None
            if has_password or await self.proof_providers(db, view, user):
                browser = ids.opaque_token(24)
                view.flow.request = {
                    **view.flow.request,
                    "pending_link": {
                        "user_id": user.user_id,
                        "login": asdict(login),
                        "browser": token_digest(browser),
                    },
                }
                await db.flush()
                return NeedsLinkPrompt(flow_id=view.flow.id, browser_token=browser)
        return None

    @staticmethod
    def held_by(view: FlowView, browser_token: str | None) -> bool:
        """True when `browser_token` (the cookie set as the provider's answer was taken) is the
        one of this flow's pending link: the flow id alone never lets a browser use it."""
        pending = view.flow.request.get("pending_link")
        if not isinstance(pending, dict) or not browser_token:
            return False
        return hmac.compare_digest(token_digest(browser_token), str(pending.get("browser")))

    async def pending_link(
        self, db: AsyncSession, view: FlowView
    ) -> tuple[User, FederatedLogin, Connection]:
        pending = view.flow.request.get("pending_link")
        if not isinstance(pending, dict):
            raise InvalidInput("There is no account to connect. Please start again.")
        user = await self.flows.users.find(db, str(pending.get("user_id")))
        login = FederatedLogin(**pending["login"])
        connection = await self.flows.connections.by_id(db, login.connection_id)
        if user is None:
            raise InvalidInput("The account to connect no longer exists. Please start again.")
        return user, login, connection

    async def has_password(self, db: AsyncSession, user: User) -> bool:
        return await self.flows.users.database_credential(db, user) is not None

    async def proof_providers(self, db: AsyncSession, view: FlowView, user: User) -> list[Button]:
        """The existing profile's own upstream connections a login here can go through."""
        enabled = {
            c.id: c for c in await self.flows.connections.for_client(db, view.client.client_id)
        }
        out: list[Button] = []
        for identity in user.identities:
            connection = enabled.get(identity.connection_id)
            if connection is not None and is_upstream(connection.strategy):
                out.append(Button(connection.name, display_name(connection), connection.strategy))
        return out

    # -- proof by a provider ---------------------------------------------------------------

    async def begin_proof(self, db: AsyncSession, view: FlowView, connection_name: str) -> Begun:
        user, _, _ = await self.pending_link(db, view)
        allowed = {b.connection for b in await self.proof_providers(db, view, user)}
        if connection_name not in allowed:
            raise InvalidInput("Log in with one of the providers your existing account uses.")
        connection = await self.flows.connections.by_name(db, connection_name)
        return await self.social.begin_flow(
            db, view.flow, connection, purpose=PROVE_LINK, login_hint=user.email
        )

    async def proven_by_provider(
        self,
        db: AsyncSession,
        view: FlowView,
        proof: FederatedLogin,
        *,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        """The customer logged in through a provider: when that identity belongs to the
        existing profile, the pending identity joins it, as after its password."""
        user, login, connection = await self.pending_link(db, view)
        identity = await self.social.identities.find(db, proof)
        if identity is None or identity.user_id != user.user_id:
            raise LinkProofFailed(
                f"The {proof.connection_name} account you logged in with is not the one of the "
                f"existing account{f' {user.email}' if user.email else ''}. Nothing was changed."
            )
        self.social.refuse_blocked(db, view, connection, user, request)
        self.social.identities.sync(user, identity, proof)
        return await self._join(db, view, user, login, connection, request, previous_session_token)

    # -- proof by the password -------------------------------------------------------------

    async def link_with_password(
        self,
        db: AsyncSession,
        view: FlowView,
        *,
        password: str,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        """The customer proved the existing profile is theirs: the identity joins it."""
        user, login, connection = await self.pending_link(db, view)
        credential = await self.flows.users.database_credential(db, user)
        if credential is None:
            raise InvalidInput("This account has no password.")
        database = await self.flows.connections.by_id(db, credential.connection_id)
        identifier = credential.email_key or credential.username_key or ""
        try:
            proven = await self.flows.users.authenticate_password(
                db,
                database,
                identifier,
                password,
                ip=request.ip or "unknown",
                brute_force=view.tenant.brute_force,
            )
        except WrongCredentials:
            self.flows.events.record(
                db,
                LogType.FAILED_LOGIN_PASSWORD,
                subject=subject_for(view.client, database, user),
                request=request,
                description="Wrong password while connecting an account",
            )
            raise
        if proven.user.user_id != user.user_id:
            raise WrongCredentials(unknown_user=False, user_id=user.user_id)
        return await self._join(db, view, user, login, connection, request, previous_session_token)

    async def keep_separate(
        self,
        db: AsyncSession,
        view: FlowView,
        *,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        _, login, connection = await self.pending_link(db, view)
        if await self.social.identities.find(db, login) is not None:
            raise InvalidInput("This account is connected already. Please start again.")
        return await self.social.sign_up(
            db, view, connection, login, request, previous_session_token
        )

    async def _join(
        self,
        db: AsyncSession,
        view: FlowView,
        user: User,
        login: FederatedLogin,
        connection: Connection,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        if await self.social.identities.find(db, login) is not None:
            raise InvalidInput("This account is connected already. Please start again.")
        await self.social.identities.attach(db, user, login)
        return await self.social.finish(
            db, view, connection, user, request, previous_session_token,
            link=self.social.link_details(user, login, "prompt"),
        )  # fmt: skip
