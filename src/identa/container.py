"""The services of one deployment, built once from its settings and shared by HTTP, CLI, workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from identa.clients.service import ClientService
from identa.connections.service import ConnectionService
from identa.connections.social.upstream import Upstream
from identa.core.clock import Clock
from identa.core.secretbox import SecretBox
from identa.db.engine import create_engine, session_factory
from identa.db.uow import UnitOfWork
from identa.enrichment.geoip import GeoIp
from identa.enrichment.service import Enrichment
from identa.events.lifecycle import UserEvents
from identa.events.service import EventRecorder
from identa.events.streams.dispatcher import Dispatcher
from identa.events.streams.service import StreamService
from identa.flows.account import AccountFlows
from identa.flows.post_login import PostLogin
from identa.flows.service import Links, LoginFlows
from identa.flows.social import SocialLogins
from identa.flows.tickets import TicketService
from identa.identity.idp_tokens import TOKENS_PURPOSE
from identa.identity.linking import AccountLinker
from identa.identity.passwords import PasswordHasher
from identa.identity.service import UserService
from identa.identity.social import SocialIdentities
from identa.jobs.links import ExportLinks
from identa.jobs.service import JobService
from identa.notify.providers import MailProvider, provider_for
from identa.notify.service import Courier, MailRenderer, Notifier
from identa.oidc.client_auth import ClientAuthenticator
from identa.oidc.consent import ConsentService
from identa.oidc.keys import KeyService
from identa.oidc.service import OidcService
from identa.oidc.tokens import TokenSigner
from identa.profiling.service import ProfilingService
from identa.rules.pipeline import RulesPipeline
from identa.rules.redirects import RedirectStates
from identa.rules.runtime import RuleRunner
from identa.rules.service import CONFIG_PURPOSE as RULES_CONFIG_PURPOSE
from identa.rules.service import RuleService
from identa.sessions.service import SessionService
from identa.settings import Settings
from identa.tenants.service import TenantService


@dataclass
class Container:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    secret_key: str
    hasher: PasswordHasher
    tenants: TenantService
    clients: ClientService
    connections: ConnectionService
    users: UserService
    linker: AccountLinker
    sso: SessionService
    tickets: TicketService
    events: EventRecorder
    keys: KeyService
    notifier: Notifier
    mail_provider: MailProvider
    courier: Courier
    flows: LoginFlows
    account: AccountFlows
    oidc: OidcService
    client_auth: ClientAuthenticator
    consents: ConsentService
    rules: RuleService
    social: SocialLogins
    jobs: JobService
    streams: StreamService
    dispatcher: Dispatcher
    rule_runner: RuleRunner
    pipeline: RulesPipeline
    post_login: PostLogin
    profiling: ProfilingService
    enrichment: Enrichment
    extras: dict[str, object] = field(default_factory=dict)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def close(self) -> None:
        # Only this container's own runner; a test may have swapped in a shared one.
        await self.rule_runner.aclose()
        await self.engine.dispose()


def build_container(
    settings: Settings,
    *,
    renderer: MailRenderer,
    secret_key: str,
    clock: Clock | None = None,
    mail_provider: MailProvider | None = None,
) -> Container:
    clock = clock or Clock()
    engine = create_engine(settings.resolved_database_url, echo=settings.database_echo)
    sessions = session_factory(engine)
    cost = settings.password_hash
    hasher = PasswordHasher(
        memory_cost_kib=cost.memory_cost_kib,
        time_cost=cost.time_cost,
        parallelism=cost.parallelism,
    )
    tenants = TenantService(clock)
    clients = ClientService(clock)
    connections = ConnectionService(clock)
    user_events = UserEvents(clock)
    users = UserService(clock, hasher, user_events)
    sso = SessionService(
        clock,
        lifetime_seconds=settings.session_lifetime_seconds,
        idle_seconds=settings.session_idle_seconds,
    )
    tickets = TicketService(clock)
    events = EventRecorder(clock)
    notifier = Notifier(clock, renderer)
    provider = mail_provider or provider_for(settings.mail)
    courier = Courier(clock, sessions, provider, settings.mail.sender)
    flows = LoginFlows(
        clock=clock,
        tenants=tenants,
        clients=clients,
        connections=connections,
        users=users,
        sessions=sso,
        tickets=tickets,
        events=events,
        notifier=notifier,
        links=Links(settings.public_url),
        verification_ttl_seconds=settings.verification_ticket_seconds,
        reset_ttl_seconds=settings.reset_ticket_seconds,
    )
    account = AccountFlows(flows)
    flows.enrichment = Enrichment(clock, GeoIp(settings.enrichment.geoip_database))
    linker = AccountLinker(clock, user_events)
    rules = RuleService(clock, SecretBox(secret_key, RULES_CONFIG_PURPOSE))
    rule_runner = RuleRunner(workers=settings.rules.workers or None)
    pipeline = RulesPipeline(
        rules=rules,
        tenants=tenants,
        users=users,
        linker=linker,
        runner=rule_runner,
        budget_s=settings.rules.budget_seconds,
        mentions=flows.enrichment,
    )
    profiling = ProfilingService(clock, tenants, users)
    flows.post_login = PostLogin(
        pipeline=pipeline,
        profiling=profiling,
        events=events,
        states=RedirectStates(secret_key),
    )
    keys = KeyService(clock)
    oidc = OidcService(clock, TokenSigner(clock, keys, settings.issuer), settings.public_url)
    client_auth = ClientAuthenticator(
        clock, clients, settings.issuer, f"{settings.public_url}/oauth/token"
    )
    return Container(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        secret_key=secret_key,
        hasher=hasher,
        tenants=tenants,
        clients=clients,
        connections=connections,
        users=users,
        linker=linker,
        sso=sso,
        tickets=tickets,
        events=events,
        keys=keys,
        notifier=notifier,
        mail_provider=provider,
        courier=courier,
        flows=flows,
        account=account,
        oidc=oidc,
        client_auth=client_auth,
        consents=ConsentService(clock),
        rules=rules,
        social=_social_logins(flows, clock, secret_key, settings.public_url),
        jobs=JobService(
            clock=clock,
            sessions=sessions,
            settings=settings.jobs,
            events=events,
            connections=connections,
            links=ExportLinks(secret_key, settings.public_url, settings.jobs.export_link_seconds),
        ),
        streams=StreamService(clock),
        dispatcher=Dispatcher(clock, sessions, settings.streams, settings.data_dir / "streams"),
        rule_runner=rule_runner,
        pipeline=pipeline,
        post_login=flows.post_login,
        profiling=profiling,
        enrichment=flows.enrichment,
    )


def _social_logins(
    flows: LoginFlows, clock: Clock, secret_key: str, public_url: str
) -> SocialLogins:
    """Logins through upstream providers; their tokens and client secrets sealed at rest."""
    connection_secrets = SecretBox(secret_key, "connection-secrets")
    return SocialLogins(
        flows=flows,
        upstream=Upstream(connection_secrets),
        identities=SocialIdentities(clock),
        tokens=SecretBox(secret_key, TOKENS_PURPOSE),
        secrets=connection_secrets,
        callback_url=f"{public_url}/login/callback",
    )
