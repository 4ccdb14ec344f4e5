"""Self-service on an existing account: verify the e-mail, reset or change the password,
edit the profile, log out. Each records its outcome as a log event in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.connections.service import password_policy
from identa.core.context import RequestContext
from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.flows.errors import TicketInvalid
from identa.flows.service import LoginFlows, subject_for
from identa.flows.tickets import RESET_PASSWORD, VERIFY_EMAIL
from identa.identity.errors import TooManyAttempts
from identa.identity.models import User
from identa.identity.validation import normalize_email
from identa.sessions.models import SsoSession


class AccountFlows:
    def __init__(self, flows: LoginFlows) -> None:
        self._f = flows

    async def _client(self, db: AsyncSession, client_id: str | None) -> Client:
        f = self._f
        if client_id:
            client = await f.clients.find(db, client_id)
            if client is not None:
                return client
        return await f.default_client(db)

    async def _primary_connection(self, db: AsyncSession, user: User) -> Connection | None:
        if not user.identities:
            return None
        return await self._f.connections.by_id(db, user.identities[0].connection_id)

    # -- password reset --------------------------------------------------------------------

    async def request_password_reset(
        self,
        db: AsyncSession,
        *,
        email: str,
        client: Client,
        connection: Connection,
        request: RequestContext,
    ) -> None:
        """Queues a reset link when the account exists; the caller answers the same either way."""
        f = self._f
        try:
            key = normalize_email(email)
        except DomainError:
            key = email.strip().lower()
        credential = await f.users.credential_for_login(db, connection, key)
        if credential is None:
            f.events.record(
                db,
                LogType.FAILED_CHANGE_PASSWORD_REQUEST,
                subject=subject_for(client, connection, user_name=key),
                request=request,
                description="Unknown user",
            )
            return
        user = await f.users.get(db, credential.user_id)
        await f.mail.email_link(
            db,
            template="reset_password",
            purpose=RESET_PASSWORD,
            user=user,
            recipient=credential.email_key or user.email or key,
            client=client,
            tenant=await f.tenants.get(db),
            identity_id=credential.identity_id,
        )
        f.events.record(
            db,
            LogType.SUCCESS_CHANGE_PASSWORD_REQUEST,
            subject=subject_for(client, connection, user),
            request=request,
        )

    async def reset_ticket_user(self, db: AsyncSession, token: str | None) -> User:
        ticket = await self._f.tickets.peek(db, token, RESET_PASSWORD)
        return await self._f.users.get(db, ticket.user_id)

    async def reset_password(
        self, db: AsyncSession, *, token: str | None, new_password: str, request: RequestContext
    ) -> tuple[User, str | None]:
        """Sets a new password from a reset link: lifts brute-force blocks, ends every session.

        A weak password leaves the ticket usable, so the person can try again.
        """
        f = self._f
        ticket = await f.tickets.peek(db, token, RESET_PASSWORD)
        user = await f.users.get(db, ticket.user_id)
        client = await self._client(db, ticket.client_id)
        connection = await self._primary_connection(db, user)
        tenant = await f.tenants.get(db)
        policy = password_policy(connection, tenant.default_password_policy) if connection else None
        try:
            if policy is None:
                raise TicketInvalid("This account has no password.")
            await f.users.change_password(db, user, new_password, policy=policy)
        except DomainError as exc:
            f.events.record(
                db,
                LogType.FAILED_CHANGE_PASSWORD,
                subject=subject_for(client, connection, user),
                request=request,
                description=exc.message,
            )
            raise
        await f.tickets.consume(db, token, RESET_PASSWORD)
        await f.tickets.invalidate_for_user(db, user.user_id, RESET_PASSWORD)
        if ticket.mark_email_verified and not user.email_verified:
            await f.users.mark_email_verified(db, user)
        released = await f.users.release_brute_force(db, user)
        revoked = await f.sessions.revoke_all_for_user(db, user.user_id, reason="password_reset")
        f.events.record(
            db,
            LogType.SUCCESS_CHANGE_PASSWORD,
            subject=subject_for(client, connection, user),
            request=request,
            details={
                "via": "reset_ticket",
                "sessions_revoked": revoked,
                "brute_force_blocks_released": released,
            },
        )
        return user, ticket.result_url

    # -- e-mail verification ---------------------------------------------------------------

    async def verify_email(
        self, db: AsyncSession, *, token: str | None, request: RequestContext
    ) -> tuple[User, str | None]:
        f = self._f
        try:
            ticket = await f.tickets.consume(db, token, VERIFY_EMAIL)
        except TicketInvalid as exc:
            f.events.record(
                db,
                LogType.FAILED_VERIFICATION_EMAIL,
                subject=subject_for(None, None),
                request=request,
                description=exc.message,
            )
            raise
        user = await f.users.get(db, ticket.user_id)
        client = await self._client(db, ticket.client_id)
        await f.users.mark_email_verified(db, user)
        f.events.record(
            db,
            LogType.SUCCESS_VERIFICATION_EMAIL,
            subject=subject_for(client, await self._primary_connection(db, user), user),
            request=request,
        )
        return user, ticket.result_url

    async def resend_verification(
        self, db: AsyncSession, user: User, *, client_id: str | None, request: RequestContext
    ) -> None:
        f = self._f
        client = await self._client(db, client_id)
        await f.mail.send_verification(db, user, client=client)
        f.events.record(
            db,
            LogType.SUCCESS_VERIFICATION_EMAIL_REQUEST,
            subject=subject_for(client, await self._primary_connection(db, user), user),
            request=request,
        )

    # -- signed-in self-service ------------------------------------------------------------

    async def change_password(
        self,
        db: AsyncSession,
        user: User,
        *,
        current_password: str,
        new_password: str,
        client_id: str | None,
        request: RequestContext,
    ) -> int:
        """Changes the password after checking the current one; ends every session."""
        f = self._f
        client = await self._client(db, client_id)
        connection = await self._primary_connection(db, user)
        tenant = await f.tenants.get(db)
        try:
            if connection is None:
                raise TicketInvalid("This account has no password.")
            await f.users.change_password(
                db,
                user,
                new_password,
                current_password=current_password,
                policy=password_policy(connection, tenant.default_password_policy),
                ip=request.ip,
                brute_force=tenant.brute_force,
            )
        except DomainError as exc:
            if isinstance(exc, TooManyAttempts) and exc.details.get("just_blocked") and connection:
                await f.mail.account_blocked(
                    db,
                    exc,
                    user=user,
                    client=client,
                    connection=connection,
                    request=request,
                    tenant=tenant,
                    identifier=user.email or user.user_id,
                )
            f.events.record(
                db,
                LogType.FAILED_CHANGE_PASSWORD,
                subject=subject_for(client, connection, user),
                request=request,
                description=exc.message,
            )
            raise
        revoked = await f.sessions.revoke_all_for_user(db, user.user_id, reason="password_change")
        f.events.record(
            db,
            LogType.SUCCESS_CHANGE_PASSWORD,
            subject=subject_for(client, connection, user),
            request=request,
            details={"via": "account_page", "sessions_revoked": revoked},
        )
        return revoked

    async def update_profile(self, db: AsyncSession, user: User, changes: dict[str, Any]) -> User:
        return await self._f.users.update_profile(db, user, changes)

    async def logout(
        self,
        db: AsyncSession,
        sso: SsoSession | None,
        *,
        client_id: str | None,
        request: RequestContext,
        details: dict[str, Any] | None = None,
    ) -> None:
        f = self._f
        if sso is None:
            return
        await f.sessions.revoke(db, sso, reason="logout")
        user = await f.users.find(db, sso.user_id)
        client = await self._client(db, client_id)
        connection = await self._primary_connection(db, user) if user else None
        f.events.record(
            db,
            LogType.SUCCESS_LOGOUT,
            subject=subject_for(client, connection, user),
            request=request,
            details={"session_id": sso.id, **(details or {})},
        )
