"""Login and sign-up through an upstream identity provider, and account linking on the way.

The hosted flow's state binds the upstream round trip: `begin` stores a hash of the state's
secret, a hash of a browser-bound token (cookie), the nonce and the PKCE verifier in the flow;
`take_callback` checks them once (a replay finds the transaction consumed); `complete` makes
or finds the profile. The upstream HTTP exchange happens between two short transactions.

Account linking follows the tenant setting `account_linking`:
  off            every new upstream identity is a new profile;
  verified_email the identity joins the existing profile holding the same e-mail, only when
                 the provider verified it and the existing profile's e-mail is verified too;
  prompt         when a profile with a password holds the same e-mail, the customer proves
                 they own it (its password) before the identity joins it; or keeps them apart.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.connections.social.options import sync_mode
from identa.connections.social.presets import is_upstream, spec_for
from identa.connections.social.upstream import (
    Upstream,
    UpstreamFailed,
    UpstreamResult,
    display_name,
    provider_user_id,
)
from identa.core import ids
from identa.core.context import RequestContext
from identa.core.errors import DomainError, InvalidInput
from identa.core.secretbox import SecretBox
from identa.enrichment.service import enrich_login
from identa.events.catalog import LogType
from identa.flows.models import FlowView, LoginFlow, LoginOutcome, subject_for
from identa.flows.service import ACCOUNT_PAGE, LoginFlows
from identa.identity.errors import UserBlocked, WrongCredentials
from identa.identity.models import User
from identa.identity.social import FederatedLogin, SocialIdentities

LINKING_MODES = ("off", "verified_email", "prompt")
CALLBACK_LIFETIME = timedelta(minutes=15)


class CallbackRefused(DomainError):
    code = "invalid_callback"

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        client: Client | None = None,
        connection: Connection | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.client = client
        self.connection = connection


@dataclass(frozen=True)
class Button:
    connection: str
    label: str
    strategy: str


@dataclass(frozen=True)
class Begun:
    url: str
    browser_token: str


@dataclass(frozen=True)
class Pending:
    flow_id: str
    client: Client
    connection: Connection
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class NeedsLinkPrompt:
    flow_id: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def linking_mode(extra: dict[str, Any]) -> str:
    value = extra.get("account_linking")
    return value if value in LINKING_MODES else "off"


class SocialLogins:
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
        self.flows = flows
        self.secrets = secrets
        self.upstream = upstream
        self.identities = identities
        self.tokens = tokens
        self.callback_url = callback_url

    # -- the hosted login page -------------------------------------------------------------

    async def buttons(self, db: AsyncSession, client_id: str) -> list[Button]:
        connections = await self.flows.connections.for_client(db, client_id)
        return [
            Button(connection=c.name, label=display_name(c), strategy=c.strategy)
            for c in connections
            if is_upstream(c.strategy) and c.show_as_button
        ]

    async def connection_for(self, db: AsyncSession, view: FlowView, name: str) -> Connection:
        connection = await self.flows.connections.by_name(db, name)
        await self.flows.connections.require_enabled(db, connection, view.client.client_id)
        if not is_upstream(connection.strategy):
            raise InvalidInput(f"{name} is not a social or enterprise connection")
        return connection

    # -- to the provider -------------------------------------------------------------------

    async def begin(self, db: AsyncSession, view: FlowView, connection: Connection) -> Begun:
        secret, browser = ids.opaque_token(24), ids.opaque_token(24)
        nonce, verifier = ids.opaque_token(24), ids.opaque_token(48)
        state = f"{view.flow.id}.{secret}"
        hint = (view.flow.request.get("authorize") or {}).get("login_hint")
        url = await self.upstream.authorization_url(
            connection,
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=self.callback_url,
            login_hint=str(hint) if hint else None,
        )
        now = self.flows._clock.now()
        view.flow.request = {
            **view.flow.request,
            "upstream": {
                "connection_id": connection.id,
                "state": _digest(secret),
                "browser": _digest(browser),
                "nonce": nonce,
                "code_verifier": verifier,
                "started_at": now.isoformat(),
                "consumed": False,
            },
        }
        await db.flush()
        return Begun(url=url, browser_token=browser)

    # -- back from the provider ------------------------------------------------------------

    async def take_callback(
        self, db: AsyncSession, state: str | None, browser_token: str | None
    ) -> Pending:
        """The flow the callback belongs to; its upstream transaction is consumed here."""
        flow_id, _, secret = (state or "").partition(".")
        flow = await db.get(LoginFlow, flow_id) if 0 < len(flow_id) <= 64 and secret else None
        upstream = flow.request.get("upstream") if flow is not None else None
        if flow is None or not isinstance(upstream, dict):
            raise CallbackRefused(
                "state_mismatch", "This login response does not belong to a login in progress."
            )
        client = await self.flows.clients.find(db, flow.client_id)
        connection = await db.get(Connection, str(upstream.get("connection_id")))
        if connection is None:
            raise CallbackRefused(
                "state_mismatch", "The connection no longer exists.", client=client
            )
        if not hmac.compare_digest(_digest(secret), str(upstream.get("state"))):
            raise CallbackRefused(
                "state_mismatch",
                "This login response does not belong to a login in progress.",
                client=client,
                connection=connection,
            )
        now = self.flows._clock.now()
        if upstream.get("consumed") or flow.completed_at is not None:
            raise CallbackRefused(
                "replayed",
                "This login response was used already. Please start again.",
                client=client,
                connection=connection,
            )
        if flow.expires_at <= now or flow.created_at + CALLBACK_LIFETIME * 4 <= now:
            raise CallbackRefused(
                "expired", "This login has expired. Please start again.", client=client,
                connection=connection,
            )  # fmt: skip
        flow.request = {**flow.request, "upstream": {**upstream, "consumed": True}}
        await db.flush()
        if not browser_token or not hmac.compare_digest(
            _digest(browser_token), str(upstream.get("browser"))
        ):
            raise CallbackRefused(
                "state_mismatch",
                "This login was started in another browser. Please start again.",
                client=client,
                connection=connection,
            )
        if client is None:
            raise CallbackRefused("state_mismatch", "The application no longer exists.")
        return Pending(
            flow_id=flow.id,
            client=client,
            connection=connection,
            nonce=str(upstream["nonce"]),
            code_verifier=str(upstream["code_verifier"]),
        )

    async def exchange(
        self, pending: Pending, code: str, posted_user: str | None = None
    ) -> UpstreamResult:
        return await self.upstream.exchange(
            pending.connection,
            code=code,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            redirect_uri=self.callback_url,
            posted_user=posted_user,
        )

    def record_failure(
        self,
        db: AsyncSession,
        *,
        client: Client | None,
        connection: Connection | None,
        reason: str,
        message: str,
        request: RequestContext,
        user: User | None = None,
    ) -> None:
        self.flows.events.record(
            db,
            LogType.FAILED_LOGIN,
            subject=subject_for(client, connection, user),
            request=request,
            description=message,
            details={"error": {"message": message, "reason": reason}},
        )

    def login_from(self, connection: Connection, result: UpstreamResult) -> FederatedLogin:
        spec = spec_for(connection.strategy)
        profile = result.profile
        return FederatedLogin(
            connection_id=connection.id,
            connection_name=connection.name,
            provider=connection.strategy,
            provider_user_id=provider_user_id(connection, profile),
            is_social=spec.is_social,
            email=profile.email,
            email_verified=profile.email_verified,
            root=dict(profile.root),
            extra=dict(profile.extra),
            raw=dict(profile.raw),
            sealed_tokens=self.tokens.seal_json(result.tokens) if result.tokens else None,
            grant={
                "requested_scope": result.requested_scope,
                "granted_scope": result.granted_scope,
                "attributes": sorted(profile.raw),
                "at": self.flows._clock.now().isoformat(),
            },
            sync_mode=sync_mode(connection.options or {}),
        )

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
        identity = await self.identities.find(db, login)
        if identity is not None:
            user = await self.flows.users.get(db, identity.user_id)
            self._refuse_blocked(db, view, connection, user, request)
            self.identities.sync(user, identity, login)
            return await self._finish(
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
                self._refuse_blocked(db, view, connection, user, request)
                await self.identities.attach(db, user, login)
                return await self._finish(
                    db, view, connection, user, request, previous_session_token,
                    link=self._link_details(user, login, mode),
                )  # fmt: skip
        if mode == "prompt":
            for user in candidates:
                if await self.flows.users.database_credential(db, user) is not None:
                    view.flow.request = {
                        **view.flow.request,
                        "pending_link": {"user_id": user.user_id, "login": asdict(login)},
                    }
                    await db.flush()
                    return NeedsLinkPrompt(flow_id=view.flow.id)
        return await self._sign_up(db, view, connection, login, request, previous_session_token)

    # -- prompt mode -----------------------------------------------------------------------

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
        if await self.identities.find(db, login) is not None:
            raise InvalidInput("This account is connected already. Please start again.")
        await self.identities.attach(db, user, login)
        return await self._finish(
            db, view, connection, user, request, previous_session_token,
            link=self._link_details(user, login, "prompt"),
        )  # fmt: skip

    async def keep_separate(
        self,
        db: AsyncSession,
        view: FlowView,
        *,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        _, login, connection = await self.pending_link(db, view)
        if await self.identities.find(db, login) is not None:
            raise InvalidInput("This account is connected already. Please start again.")
        return await self._sign_up(db, view, connection, login, request, previous_session_token)

    # -- shared endings --------------------------------------------------------------------

    def _refuse_blocked(
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
    def _link_details(user: User, login: FederatedLogin, mode: str) -> dict[str, Any]:
        return {
            "primary_user_id": user.user_id,
            "linked_identity": f"{login.provider}|{login.provider_user_id}",
            "connection": login.connection_name,
            "mode": mode,
        }

    async def _sign_up(
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
        return await self._finish(db, view, connection, user, request, previous_session_token)

    async def _finish(
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
    "Begun",
    "Button",
    "CallbackRefused",
    "NeedsLinkPrompt",
    "Pending",
    "SocialLogins",
    "UpstreamFailed",
    "linking_mode",
]
