"""Login and sign-up on the hosted pages and the database-connection API.

Each use case records its outcome as a log event in the caller's transaction; the caller commits
once, whether the outcome was a success or a refusal (a refusal still counts failed attempts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.clients.service import ClientService
from identa.connections.models import DEFAULT_DATABASE_CONNECTION, Connection
from identa.connections.service import (
    ConnectionService,
    is_database,
    password_policy,
    signup_disabled,
)
from identa.connections.social.presets import is_upstream
from identa.connections.social.upstream import display_name
from identa.core import ids
from identa.core.clock import Clock
from identa.core.context import RequestContext
from identa.core.errors import DomainError, InvalidInput
from identa.enrichment.service import Enrichment, enrich_login
from identa.events.catalog import LogType
from identa.events.service import EventRecorder
from identa.flows.errors import FlowNotFound, SignupDisabled
from identa.flows.models import FlowView, Links, LoginFlow, LoginOutcome, subject_for
from identa.flows.notices import FlowMail
from identa.flows.post_login import Passed, PostLogin, authorize_protocol
from identa.flows.tickets import TicketService
from identa.identity.errors import (
    TooManyAttempts,
    UserBlocked,
    UserExists,
    UsernameExists,
    WrongCredentials,
)
from identa.identity.models import User
from identa.identity.service import NewDatabaseUser, UserService
from identa.notify.service import Notifier
from identa.rules.pipeline import LoginFacts
from identa.sessions.service import SessionService
from identa.tenants.service import TenantService, TenantSettings

__all__ = ["FlowView", "Links", "LoginFlows", "LoginOutcome", "subject_for"]

FLOW_LIFETIME = timedelta(hours=1)
ACCOUNT_PAGE = "/u/account"


class LoginFlows:
    def __init__(
        self,
        *,
        clock: Clock,
        tenants: TenantService,
        clients: ClientService,
        connections: ConnectionService,
        users: UserService,
        sessions: SessionService,
        tickets: TicketService,
        events: EventRecorder,
        notifier: Notifier,
        links: Links,
        verification_ttl_seconds: int,
        reset_ttl_seconds: int,
    ) -> None:
        self._clock = clock
        self.tenants = tenants
        self.clients = clients
        self.connections = connections
        self.users = users
        self.sessions = sessions
        self.tickets = tickets
        self.events = events
        self.notifier = notifier
        self.links = links
        # The rules and profiling step, wired by the container (None: logins skip it).
        self.post_login: PostLogin | None = None
        # Geo-IP, device and demographics at login, wired by the container (None: skipped).
        self.enrichment: Enrichment | None = None
        self.mail = FlowMail(
            tenants=tenants,
            tickets=tickets,
            notifier=notifier,
            events=events,
            links=links,
            verification_ttl_seconds=verification_ttl_seconds,
            reset_ttl_seconds=reset_ttl_seconds,
        )

    # -- flow state ------------------------------------------------------------------------

    async def default_client(self, db: AsyncSession) -> Client:
        tenant = await self.tenants.get(db)
        client_id = tenant.extra.get("default_client_id")
        if not isinstance(client_id, str):
            raise FlowNotFound("Identa is not initialised: run `identa init`.")
        return await self.clients.get(db, client_id)

    async def database_connection_for(
        self, db: AsyncSession, client: Client, requested: str | None = None
    ) -> Connection:
        """The database connection a hosted page uses for this application."""
        if requested:
            connection = await self.connections.by_name(db, requested)
            await self.connections.require_enabled(db, connection, client.client_id)
            if not is_database(connection):
                raise InvalidInput(f"{requested} is not a database connection")
            return connection
        tenant = await self.tenants.get(db)
        candidates = await self.connections.for_client(db, client.client_id, strategy="auth0")
        for preferred in (tenant.default_connection, DEFAULT_DATABASE_CONNECTION):
            for connection in candidates:
                if connection.name == preferred:
                    return connection
        if candidates:
            return candidates[0]
        raise InvalidInput("No database connection is enabled for this application.")

    async def start(
        self,
        db: AsyncSession,
        *,
        client_id: str | None = None,
        connection: str | None = None,
        screen: str = "login",
        return_to: str | None = None,
        request: dict[str, Any] | None = None,
    ) -> LoginFlow:
        client = (
            await self.clients.get(db, client_id) if client_id else await self.default_client(db)
        )
        requested = await self.connections.by_name(db, connection) if connection else None
        database: Connection | None
        if requested is not None and not is_database(requested):
            # A social or enterprise connection: the hosted page goes straight to the provider;
            # the flow still holds the application's database connection for its other pages.
            await self.connections.require_enabled(db, requested, client.client_id)
            database = await self._optional_database(db, client)
            request = {**(request or {}), "upstream_connection": requested.name}
        elif requested is not None:
            database = await self.database_connection_for(db, client, connection)
        else:
            database = await self._optional_database(db, client)
            if database is None and not await self._upstream_buttons(db, client):
                raise InvalidInput(
                    "No database connection is enabled for this application, nor any social one."
                )
        now = self._clock.now()
        flow = LoginFlow(
            id=ids.opaque_token(18),
            client_id=client.client_id,
            connection=database.name if database is not None else None,
            screen="signup" if screen == "signup" else "login",
            request=dict(request or {}),
            return_to=return_to or ACCOUNT_PAGE,
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
            completed_at=None,
            user_id=None,
        )
        db.add(flow)
        await db.flush()
        return flow

    async def view(self, db: AsyncSession, flow_id: str | None) -> FlowView:
        flow = await db.get(LoginFlow, flow_id) if flow_id and len(flow_id) <= 64 else None
        if flow is None or flow.completed_at is not None or flow.expires_at <= self._clock.now():
            raise FlowNotFound("This login page has expired. Please start again.")
        client = await self.clients.get(db, flow.client_id)
        connection = (
            await self.database_connection_for(db, client, flow.connection)
            if flow.connection
            else None
        )
        return FlowView(
            flow=flow,
            client=client,
            connection=connection,
            tenant=await self.tenants.get(db),
            buttons=await self._upstream_buttons(db, client),
        )

    async def _optional_database(self, db: AsyncSession, client: Client) -> Connection | None:
        """The application's database connection, or None when it has only social or
        enterprise connections (its hosted login then shows just their buttons)."""
        if not await self.connections.for_client(db, client.client_id, strategy="auth0"):
            return None
        return await self.database_connection_for(db, client)

    async def _upstream_buttons(
        self, db: AsyncSession, client: Client
    ) -> tuple[tuple[str, str], ...]:
        return tuple(
            (c.name, display_name(c))
            for c in await self.connections.for_client(db, client.client_id)
            if is_upstream(c.strategy) and c.show_as_button
        )

    async def start_consent(
        self, db: AsyncSession, *, client_id: str, user_id: str, request: dict[str, Any]
    ) -> LoginFlow:
        """A flow in which a signed-in person decides what a third-party application gets."""
        now = self._clock.now()
        flow = LoginFlow(
            id=ids.opaque_token(18),
            client_id=client_id,
            connection=None,
            screen="consent",
            request=dict(request),
            return_to=None,
            created_at=now,
            expires_at=now + FLOW_LIFETIME,
            completed_at=None,
            user_id=user_id,
        )
        flow.return_to = f"/authorize/resume?state={flow.id}"
        db.add(flow)
        await db.flush()
        return flow

    async def open_consent(self, db: AsyncSession, flow_id: str | None, user_id: str) -> LoginFlow:
        flow = await db.get(LoginFlow, flow_id) if flow_id and len(flow_id) <= 64 else None
        if (
            flow is None
            or flow.screen != "consent"
            or flow.user_id != user_id
            or flow.completed_at is not None
            or flow.expires_at <= self._clock.now()
        ):
            raise FlowNotFound("This page has expired. Please start again.")
        return flow

    def finish_consent(self, flow: LoginFlow) -> None:
        flow.completed_at = self._clock.now()

    async def take_completed(self, db: AsyncSession, flow_id: str | None) -> LoginFlow:
        """A flow whose person has logged in, handed over once to resume what started it."""
        flow = await db.get(LoginFlow, flow_id) if flow_id and len(flow_id) <= 64 else None
        now = self._clock.now()
        if (
            flow is None
            or flow.completed_at is None
            or flow.user_id is None
            or flow.request.get("resumed")
            or now - flow.completed_at > timedelta(minutes=10)
        ):
            raise FlowNotFound("This login has expired. Please start again.")
        flow.request = {**flow.request, "resumed": True}
        return flow

    def _complete(self, view: FlowView, user: User) -> str:
        view.flow.completed_at = self._clock.now()
        view.flow.user_id = user.user_id
        return view.flow.return_to or ACCOUNT_PAGE

    # -- login -----------------------------------------------------------------------------

    async def login(
        self,
        db: AsyncSession,
        view: FlowView,
        *,
        identifier: str,
        password: str,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        client, connection = view.client, view.connection
        if connection is None:
            raise InvalidInput("This application has no password login.")
        try:
            result = await self.users.authenticate_password(
                db,
                connection,
                identifier,
                password,
                ip=request.ip or "unknown",
                brute_force=view.tenant.brute_force,
            )
        except TooManyAttempts as exc:
            user = await self.users.find(db, exc.user_id) if exc.user_id else None
            if exc.details.get("just_blocked"):
                await self.mail.account_blocked(
                    db,
                    exc,
                    user=user,
                    client=client,
                    connection=connection,
                    request=request,
                    tenant=view.tenant,
                    identifier=identifier,
                )
            else:
                self.events.record(
                    db,
                    LogType.FAILED_LOGIN,
                    subject=subject_for(client, connection, user, user_name=identifier),
                    request=request,
                    description="Too many failed login attempts",
                    details={"error": {"message": exc.message, "type": "too_many_attempts"}},
                )
            raise
        except WrongCredentials as exc:
            user = await self.users.find(db, exc.user_id) if exc.user_id else None
            self.events.record(
                db,
                LogType.FAILED_LOGIN_USERNAME
                if exc.unknown_user
                else LogType.FAILED_LOGIN_PASSWORD,
                subject=subject_for(client, connection, user, user_name=identifier),
                request=request,
            )
            raise
        except UserBlocked as exc:
            user = await self.users.find(db, exc.user_id) if exc.user_id else None
            self.events.record(
                db,
                LogType.FAILED_LOGIN,
                subject=subject_for(client, connection, user),
                request=request,
                description="user is blocked",
            )
            raise
        return await self._finish_login(db, view, result.user, request, previous_session_token)

    async def _finish_login(
        self,
        db: AsyncSession,
        view: FlowView,
        user: User,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        connection = view.connection
        if connection is None:
            raise InvalidInput("This application has no password login.")
        self.users.record_login(user, request.ip)
        passed = await self.after_authentication(
            db, view, connection, user, request, methods=("pwd",)
        )
        return await self.establish(db, view, connection, passed, request, previous_session_token)

    async def after_authentication(
        self,
        db: AsyncSession,
        view: FlowView,
        connection: Connection,
        user: User,
        request: RequestContext,
        *,
        methods: tuple[str, ...],
    ) -> Passed:
        """The rules (raise RulesDenied / RulesFailed / RulesRedirect); a no-op without them."""
        if self.post_login is None:
            return Passed(user=user)
        authorize = view.flow.request.get("authorize") or {}
        facts = LoginFacts(
            client=view.client,
            connection=connection,
            protocol=authorize_protocol(authorize.get("response_type")),
            request=request,
            query={k: v for k, v in authorize.items() if isinstance(v, str | int) and v},
            methods=methods,
            geoip=view.flow.request.get("geoip"),
        )
        return await self.post_login.run(db, user, facts, flow=view.flow)

    async def establish(
        self,
        db: AsyncSession,
        view: FlowView,
        connection: Connection,
        passed: Passed,
        request: RequestContext,
        previous_session_token: str | None,
        *,
        details: dict[str, Any] | None = None,
    ) -> LoginOutcome:
        """Starts the session, completes the flow and records `s` (with the rules' runs)."""
        user = passed.user
        issued = await self.sessions.start(
            db,
            user_id=user.user_id,
            connection=connection.name,
            ip=request.ip,
            user_agent=request.user_agent,
            client_id=view.client.client_id,
            replaces_token=previous_session_token,
        )
        redirect_to = self._complete(view, user)
        event = self.events.record(
            db,
            LogType.SUCCESS_LOGIN,
            subject=subject_for(view.client, connection, user),
            request=request,
            details={
                "session_id": issued.session.id,
                "stats": {"loginsCount": user.logins_count},
                "prompts": [{"name": "login", "connection": connection.name}],
                **(details or {}),
                **passed.details,
            },
        )
        await enrich_login(self.enrichment, db, user, event)
        redirect_to = await self.next_page(db, view.flow, user, redirect_to)
        return LoginOutcome(user=user, session=issued, redirect_to=redirect_to)

    async def next_page(self, db: AsyncSession, flow: LoginFlow, user: User, default: str) -> str:
        if self.post_login is None:
            return default
        return await self.post_login.next_page(db, flow, user, default)

    # -- sign-up ---------------------------------------------------------------------------

    async def register(
        self,
        db: AsyncSession,
        *,
        client: Client,
        connection: Connection,
        new: NewDatabaseUser,
        request: RequestContext,
        tenant: TenantSettings | None = None,
        send_verification: bool = True,
    ) -> User:
        """Creates a database user, queues the verification e-mail, records ss or fs.

        On a refusal the unit of work is rolled back to a clean state before `fs` is
        recorded, so a failed sign-up leaves nothing but its log event.
        """
        tenant = tenant or await self.tenants.get(db)
        body = {
            "email": new.email,
            "username": new.username,
            "connection": connection.name,
            "client_id": client.client_id,
            "user_metadata": new.user_metadata or None,
        }
        body = {k: v for k, v in body.items() if v is not None}
        # Taken now: after a rollback the ORM objects are expired and must not be touched.
        failed_subject = subject_for(client, connection, user_name=new.email)
        try:
            if signup_disabled(connection):
                raise SignupDisabled("Public signup is disabled for this connection.")
            user = await self.users.create_database_user(
                db,
                connection,
                new,
                policy=password_policy(connection, tenant.default_password_policy),
            )
        except DomainError as exc:
            if isinstance(exc, UserExists | UsernameExists):
                # The failed insert poisoned the transaction: start clean for the fs event.
                await db.rollback()
            self.events.record(
                db,
                LogType.FAILED_SIGNUP,
                subject=failed_subject,
                request=request,
                description=exc.message,
                details={"body": body, "error": {"code": exc.code, "message": exc.message}},
            )
            raise
        event = self.events.record(
            db,
            LogType.SUCCESS_SIGNUP,
            subject=subject_for(client, connection, user),
            request=request,
            details={"body": body},
        )
        await enrich_login(self.enrichment, db, user, event)
        if send_verification and not user.email_verified:
            await self.mail.send_verification(db, user, client=client, tenant=tenant)
        return user

    async def signup(
        self,
        db: AsyncSession,
        view: FlowView,
        *,
        new: NewDatabaseUser,
        request: RequestContext,
        previous_session_token: str | None,
    ) -> LoginOutcome:
        if view.connection is None:
            raise SignupDisabled("This application has no sign-up with a password.")
        user = await self.register(
            db,
            client=view.client,
            connection=view.connection,
            new=new,
            request=request,
            tenant=view.tenant,
        )
        return await self._finish_login(db, view, user, request, previous_session_token)
