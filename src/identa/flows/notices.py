"""E-mails the hosted flows send with a single-use link: verify the address, reset the
password, and the notice to the owner of an account that brute-force protection blocked."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.core.context import RequestContext
from identa.core.errors import InvalidInput
from identa.events.catalog import LogType
from identa.events.service import EventRecorder
from identa.flows.models import Links, subject_for
from identa.flows.tickets import RESET_PASSWORD, VERIFY_EMAIL, TicketService
from identa.identity.errors import TooManyAttempts
from identa.identity.models import User
from identa.notify.service import Notifier
from identa.tenants.service import TenantService, TenantSettings


class FlowMail:
    def __init__(
        self,
        *,
        tenants: TenantService,
        tickets: TicketService,
        notifier: Notifier,
        events: EventRecorder,
        links: Links,
        verification_ttl_seconds: int,
        reset_ttl_seconds: int,
    ) -> None:
        self.tenants = tenants
        self.tickets = tickets
        self.notifier = notifier
        self.events = events
        self.links = links
        self._verification_ttl = verification_ttl_seconds
        self._reset_ttl = reset_ttl_seconds

    async def account_blocked(
        self,
        db: AsyncSession,
        exc: TooManyAttempts,
        *,
        user: User | None,
        client: Client,
        connection: Connection,
        request: RequestContext,
        tenant: TenantSettings,
        identifier: str,
    ) -> None:
        """Records `limit_wc` and, for a real account, e-mails its owner a link that unblocks
        it (a password reset lifts the block), as Auth0's user-notification shield does."""
        self.events.record(
            db,
            LogType.BLOCKED_ACCOUNT,
            subject=subject_for(client, connection, user, user_name=identifier),
            request=request,
            description=f"Blocked account: {tenant.brute_force.max_attempts} "
            "failed login attempts from this IP",
            details={"identifier": exc.details.get("identifier", identifier.strip().lower())},
        )
        if user is None or not user.email:
            return
        await self.email_link(
            db,
            template="account_blocked",
            purpose=RESET_PASSWORD,
            user=user,
            recipient=user.email,
            client=client,
            tenant=tenant,
            extra={"ip": request.ip, "attempts": tenant.brute_force.max_attempts},
        )

    async def send_verification(
        self,
        db: AsyncSession,
        user: User,
        *,
        client: Client | None,
        tenant: TenantSettings | None = None,
    ) -> None:
        if not user.email:
            raise InvalidInput("This account has no email address.")
        await self.email_link(
            db,
            template="verify_email",
            purpose=VERIFY_EMAIL,
            user=user,
            recipient=user.email,
            client=client,
            tenant=tenant or await self.tenants.get(db),
        )

    async def email_link(
        self,
        db: AsyncSession,
        *,
        template: str,
        purpose: str,
        user: User,
        recipient: str,
        client: Client | None,
        tenant: TenantSettings,
        identity_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Issues a single-use ticket and queues the e-mail that carries its link."""
        ttl = self._verification_ttl if purpose == VERIFY_EMAIL else self._reset_ttl
        issued = await self.tickets.issue(
            db,
            purpose=purpose,
            user_id=user.user_id,
            ttl_seconds=ttl,
            client_id=client.client_id if client else None,
            identity_id=identity_id,
        )
        link = (
            self.links.verify_email(issued.token)
            if purpose == VERIFY_EMAIL
            else self.links.reset_password(issued.token)
        )
        self.notifier.enqueue(
            db,
            template=template,
            recipient=recipient,
            context={
                "link": link,
                "user": {"email": user.email, "name": user.name, "nickname": user.nickname},
                "application": client.name if client else tenant.friendly_name,
                "tenant": {
                    "friendly_name": tenant.friendly_name,
                    "support_email": tenant.support_email,
                },
                "ttl_hours": max(1, ttl // 3600),
                **(extra or {}),
            },
        )
