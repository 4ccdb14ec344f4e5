"""The upstream round trip of a hosted flow: the button list, the hop to the provider and
the checks on its way back.

`begin` stores in the flow a hash of the state's secret, a hash of a browser-bound token
(cookie), the nonce, the PKCE verifier and the round trip's purpose (a login, proving an
existing account in prompt mode, or connecting an account from the account page);
`take_callback` checks them once (a replay finds the transaction consumed). The upstream HTTP
exchange happens between two short transactions.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.connections.social.options import sync_mode
from identa.connections.social.presets import is_upstream, spec_for
from identa.connections.social.upstream import (
    Upstream,
    UpstreamResult,
    display_name,
    provider_user_id,
)
from identa.core import ids
from identa.core.context import RequestContext
from identa.core.digests import token_digest
from identa.core.errors import DomainError, InvalidInput
from identa.core.secretbox import SecretBox
from identa.events.catalog import LogType
from identa.flows.models import FlowView, LoginFlow, subject_for
from identa.flows.service import LoginFlows
from identa.identity.models import User
from identa.identity.social import FederatedLogin, SocialIdentities

CALLBACK_LIFETIME = timedelta(minutes=15)
# Why the browser went to the provider.
LOGIN, PROVE_LINK, CONNECT = "login", "prove_link", "connect"


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
    purpose: str = LOGIN
    binding: dict[str, Any] | None = None


@dataclass(frozen=True)
class NeedsLinkPrompt:
    """The customer must prove the existing account first (/u/link). `browser_token` goes into
    a cookie: only the browser that came back from the provider may use that page."""

    flow_id: str
    browser_token: str


class UpstreamRoundTrip:
    """The protocol half of SocialLogins (which adds what a callback leads to)."""

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
        hint = (view.flow.request.get("authorize") or {}).get("login_hint")
        return await self.begin_flow(
            db, view.flow, connection, login_hint=str(hint) if hint else None
        )

    async def begin_flow(
        self,
        db: AsyncSession,
        flow: LoginFlow,
        connection: Connection,
        *,
        purpose: str = LOGIN,
        login_hint: str | None = None,
        binding: dict[str, Any] | None = None,
    ) -> Begun:
        """`binding`: what else the callback must find unchanged (the account page's session)."""
        secret, browser = ids.opaque_token(24), ids.opaque_token(24)
        nonce, verifier = ids.opaque_token(24), ids.opaque_token(48)
        state = f"{flow.id}.{secret}"
        url = await self.upstream.authorization_url(
            connection,
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=self.callback_url,
            login_hint=login_hint,
        )
        now = self.flows._clock.now()
        flow.request = {
            **flow.request,
            "upstream": {
                "connection_id": connection.id,
                "state": token_digest(secret),
                "browser": token_digest(browser),
                "nonce": nonce,
                "code_verifier": verifier,
                "started_at": now.isoformat(),
                "consumed": False,
                "purpose": purpose,
                **({"binding": binding} if binding else {}),
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
        if not hmac.compare_digest(token_digest(secret), str(upstream.get("state"))):
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
            token_digest(browser_token), str(upstream.get("browser"))
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
            purpose=str(upstream.get("purpose") or LOGIN),
            binding=upstream.get("binding") if isinstance(upstream.get("binding"), dict) else None,
        )

    async def exchange(
        self,
        pending: Pending,
        code: str,
        posted_user: str | None = None,
        *,
        response_issuer: str | None = None,
    ) -> UpstreamResult:
        return await self.upstream.exchange(
            pending.connection,
            code=code,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            redirect_uri=self.callback_url,
            posted_user=posted_user,
            response_issuer=response_issuer,
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
