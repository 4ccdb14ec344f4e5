"""Login and sign-up through an upstream identity provider, and account linking on the way.

The round trip itself (state, browser binding, PKCE, nonce, the exchange) is in
flows.social_state; here is what a successful callback leads to: the known identity's profile,
a new profile, or an existing profile the identity joins.

Account linking follows the tenant setting `account_linking`:
  off            every new upstream identity is a new profile;
  verified_email the identity joins the existing profile holding the same e-mail, only when
                 the provider verified it and the existing profile's e-mail is verified too;
  prompt         when a profile holds the same e-mail, the customer proves they own it (its
                 password, or a login through one of its own providers) before the identity
                 joins it (flows.social_prompt); or keeps them apart.
Connecting an account from the self-service account page is flows.social_connect.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.models import Connection
from identa.connections.social.upstream import Upstream, UpstreamFailed, UpstreamResult
from identa.core.context import RequestContext
from identa.core.secretbox import SecretBox
from identa.enrichment.service import enrich_login
from identa.events.catalog import LogType
from identa.flows.models import FlowView, LoginOutcome, subject_for
from identa.flows.service import ACCOUNT_PAGE, LoginFlows
from identa.flows.social_connect import AccountConnections
from identa.flows.social_prompt import LinkPrompts
from identa.flows.social_state import (
    CONNECT,
    LOGIN,
    PROVE_LINK,
    Begun,
    Button,
    CallbackRefused,
    NeedsLinkPrompt,
    Pending,
    UpstreamRoundTrip,
)
from identa.flows.social_tokens import IdpTokenRefresh
from identa.identity.errors import UserBlocked
from identa.identity.models import User
from identa.identity.social import FederatedLogin, SocialIdentities

LINKING_MODES = ("off", "verified_email", "prompt")


def linking_mode(extra: dict[str, Any]) -> str:
    value = extra.get("account_linking")
    return value if value in LINKING_MODES else "off"


class SocialLogins(UpstreamRoundTrip):
    def __init__(
        self,
        *,
        flows: LoginFlows,
        upstream: Upstream,
        identities: SocialIdentities,
        tokens: SecretBox,
        secrets: SecretBox,
        callback_url: str,
    ) -> None:
        super().__init__(
            flows=flows,
            upstream=upstream,
            identities=identities,
            tokens=tokens,
            secrets=secrets,
            callback_url=callback_url,
        )
        self.prompts = LinkPrompts(self)
        self.connect = AccountConnections(self)
        self.idp_tokens = IdpTokenRefresh(self)

    # -- back from the provider ------------------------------------------------------------

    async def complete(
        self,
        db: AsyncSession,
        pending: Pending,
        result: UpstreamResult,
        *,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome | NeedsLinkPrompt:
        view = await self.flows.view(db, pending.flow_id)
        connection = pending.connection
        login = self.login_from(connection, result)
        if pending.purpose == PROVE_LINK:
            return await self.prompts.proven_by_provider(
                db, view, login, request=request, previous_session_token=previous_session_token
            )
        identity = await self.identities.find(db, login)
        if identity is not None:
            user = await self.flows.users.get(db, identity.user_id)
            self.refuse_blocked(db, view, connection, user, request)
            self.identities.sync(user, identity, login)
            return await self.finish(
                db, view, connection, user, request, previous_session_token,
                timings=result.timings,
            )  # fmt: skip

        mode = linking_mode(view.tenant.extra)
        candidates = [
            u
            for u in (await self.flows.users.by_email(db, login.email) if login.email else [])
            if not any(i.connection_id == connection.id for i in u.identities)
        ]
        if mode == "verified_email" and login.email_verified:
            verified = [u for u in candidates if u.email_verified]
            if verified:
                user = verified[0]
                self.refuse_blocked(db, view, connection, user, request)
                await self.identities.attach(db, user, login)
                return await self.finish(
                    db, view, connection, user, request, previous_session_token,
                    link=self.link_details(user, login, mode),
                )  # fmt: skip
        if mode == "prompt":
            prompt = await self.prompts.offer(db, view, candidates, login)
            if prompt is not None:
                return prompt
        return await self.sign_up(db, view, connection, login, request, previous_session_token)

    # -- shared endings --------------------------------------------------------------------

    def refuse_blocked(
        self,
        db: AsyncSession,
        view: FlowView,
        connection: Connection,
        user: User,
        request: RequestContext,
    ) -> None:
        if user.blocked:
            self.record_failure(
                db,
                client=view.client,
                connection=connection,
                reason="blocked",
                message="user is blocked",
                request=request,
                user=user,
            )
            raise UserBlocked(user_id=user.user_id)

    @staticmethod
    def link_details(user: User, login: FederatedLogin, mode: str) -> dict[str, Any]:
        return {
            "primary_user_id": user.user_id,
            "linked_identity": f"{login.provider}|{login.provider_user_id}",
            "connection": login.connection_name,
            "mode": mode,
        }

    async def sign_up(
        self,
        db: AsyncSession,
        view: FlowView,
        connection: Connection,
        login: FederatedLogin,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        user = await self.identities.create_user(db, login)
        event = self.flows.events.record(
            db,
            LogType.SUCCESS_SIGNUP,
            subject=subject_for(view.client, connection, user),
            request=request,
            details={
                "body": {
                    "email": login.email,
                    "connection": connection.name,
                    "client_id": view.client.client_id,
                }
            },
        )
        await enrich_login(self.flows.enrichment, db, user, event)
        return await self.finish(db, view, connection, user, request, previous_session_token)

    async def finish(
        self,
        db: AsyncSession,
        view: FlowView,
        connection: Connection,
        user: User,
        request: RequestContext,
        previous_session_token: str | None,
        *,
        link: dict[str, Any] | None = None,
        timings: dict[str, float] | None = None,
    ) -> LoginOutcome:
        flows = self.flows
        flows.users.record_login(user, request.ip)
        passed = await flows.after_authentication(
            db, view, connection, user, request, methods=("federated",)
        )
        user = passed.user
        issued = await flows.sessions.start(
            db,
            user_id=user.user_id,
            connection=connection.name,
            ip=request.ip,
            user_agent=request.user_agent,
            client_id=view.client.client_id,
            replaces_token=previous_session_token,
        )
        flow = view.flow
        flow.completed_at = flows._clock.now()
        flow.user_id = user.user_id
        flow.request = {k: v for k, v in flow.request.items() if k != "pending_link"}
        details: dict[str, Any] = {
            "session_id": issued.session.id,
            "stats": {"loginsCount": user.logins_count},
            "prompts": [
                {"name": "login", "connection": connection.name, "strategy": connection.strategy}
            ],
        }
        details.update(passed.details)
        if link is not None:
            details["account_link"] = link
        if timings:
            # Time spent waiting for the provider (token, keys, profile), in milliseconds.
            details["upstream_ms"] = {k: round(v * 1000, 2) for k, v in timings.items()}
        event = flows.events.record(
            db,
            LogType.SUCCESS_LOGIN,
            subject=subject_for(view.client, connection, user),
            request=request,
            description="Success Login (account linked)" if link else None,
            details=details,
        )
        await enrich_login(flows.enrichment, db, user, event)
        redirect_to = await flows.next_page(db, flow, user, flow.return_to or ACCOUNT_PAGE)
        return LoginOutcome(user=user, session=issued, redirect_to=redirect_to)


__all__ = [
    "CONNECT",
    "LOGIN",
    "PROVE_LINK",
    "Begun",
    "Button",
    "CallbackRefused",
    "NeedsLinkPrompt",
    "Pending",
    "SocialLogins",
    "UpstreamFailed",
    "linking_mode",
]
