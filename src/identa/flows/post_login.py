"""What happens between a successful authentication and the redirect back to the application:
the rules pipeline (deny, redirect and `/continue`, claims for the tokens) and the progressive
profiling questions. Used by database and social logins, and the password grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.events.service import EventRecorder, EventSubject
from identa.flows.errors import FlowNotFound
from identa.flows.models import LoginFlow
from identa.identity.models import User
from identa.profiling.models import ProfilingQuestion
from identa.profiling.service import ProfilingService
from identa.rules.pipeline import LoginFacts, PipelineResult, RulesPipeline
from identa.rules.redirects import BadState, RedirectStates

PROFILE_PAGE = "/u/profile"


class RulesDenied(DomainError):
    """A rule raised UnauthorizedError: `access_denied` with the rule's message."""

    code = "access_denied"


class RulesFailed(DomainError):
    """A rule failed (exception, timeout, …) and was not fail-open: the login fails closed."""

    code = "rule_error"


class RulesRedirect(DomainError):
    """A redirect rule: send the browser to `url` (which carries the signed state)."""

    code = "rules_redirect"

    def __init__(self, url: str) -> None:
        super().__init__("redirect")
        self.url = url


@dataclass
class Passed:
    """The rules let the login through: the (possibly linked) user and event details."""

    user: User
    claims: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _subject(client: Client | None, connection: Connection | None, user: User) -> EventSubject:
    return EventSubject(
        client_id=client.client_id if client else None,
        client_name=client.name if client else None,
        connection=connection.name if connection else None,
        connection_id=connection.id if connection else None,
        strategy=connection.strategy if connection else None,
        user_id=user.user_id,
        user_name=user.email or user.username,
    )


def authorize_protocol(response_type: str | None) -> str:
    """Auth0's `context.protocol` for an /authorize request: the code flow is the basic
    profile, flows that return tokens from /authorize the implicit one."""
    return "oidc-basic-profile" if (response_type or "code") == "code" else "oidc-implicit-profile"


def with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode({"state": state})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class PostLogin:
    def __init__(
        self,
        *,
        pipeline: RulesPipeline,
        profiling: ProfilingService,
        events: EventRecorder,
        states: RedirectStates,
    ) -> None:
        self.pipeline = pipeline
        self.profiling = profiling
        self.events = events
        self.states = states

    def _refuse(
        self,
        db: AsyncSession,
        result: PipelineResult,
        facts: LoginFacts,
        user: User,
        failure_log: LogType | None,
    ) -> None:
        """Records `failure_log` (unless None: the caller records its own event, with the
        exception's `details`) and raises for a deny or a failure."""
        details = {"rules": result.details()}
        interaction = result.redirect_url == "interaction_required"
        if result.status == "deny":
            description = result.message or "Unauthorized"
            details["error"] = {"message": description, "oauthError": "access_denied"}
        elif interaction:
            description = "A rule asked for a redirect, which this flow cannot follow"
            details["error"] = {"message": description, "oauthError": "interaction_required"}
        else:
            description = f"Rule error: {result.message}"
            details["error"] = {"message": result.message, "type": "rule_error"}
        if failure_log is not None:
            self.events.record(
                db,
                failure_log,
                subject=_subject(facts.client, facts.connection, user),
                request=facts.request,
                description=description[:500],
                details=details,
            )
        if result.status == "deny":
            raise RulesDenied(result.message or "Unauthorized", rules=details["rules"])
        if interaction:
            raise RulesFailed(
                result.message or "interaction_required",
                code="interaction_required",
                rules=details["rules"],
            )
        raise RulesFailed(result.message or "a rule failed", rules=details["rules"])

    async def run(
        self,
        db: AsyncSession,
        user: User,
        facts: LoginFacts,
        *,
        flow: LoginFlow | None = None,
        resume_after: tuple[int, str] | None = None,
        resume_context: dict[str, Any] | None = None,
        failure_log: LogType | None = LogType.FAILED_LOGIN,
    ) -> Passed:
        """Runs the rules; raises RulesDenied, RulesFailed or RulesRedirect (flow kept open).

        A refusal is logged as `failure_log` (`f` by default, `fsa` for silent authentication;
        None when the caller logs it itself, e.g. the token endpoint's `fertft`)."""
        result = await self.pipeline.run(
            db, user, facts, resume_after=resume_after, resume_context=resume_context
        )
        if result.status in ("deny", "error"):
            self._refuse(db, result, facts, user, failure_log)
        if result.status == "redirect" and flow is not None and result.redirect_url:
            token, state = self.states.issue(flow.id)
            flow.request = {
                **flow.request,
                "rules_pending": {
                    "nonce": state.nonce,
                    "user_id": result.user.user_id,
                    "after": list(result.resume_after or (0, "")),
                    "context": result.context,
                    "connection": facts.connection.name if facts.connection else None,
                    "methods": list(facts.methods),
                    "records": result.details(),
                },
            }
            raise RulesRedirect(with_state(result.redirect_url, token))
        passed = Passed(user=result.user, claims=result.stored_claims)
        if result.ran or result.dropped_claims:
            passed.details = {"rules": result.details()}
        if flow is not None:
            flow.request = {**flow.request, "rules_claims": result.stored_claims}
        return passed

    async def take_pending(self, db: AsyncSession, state: str | None) -> LoginFlow:
        """The flow a `/continue?state=…` resumes; the state works once (raises BadState)."""
        parsed = self.states.read(state)
        flow = await db.get(LoginFlow, parsed.flow_id) if len(parsed.flow_id) <= 64 else None
        pending = flow.request.get("rules_pending") if flow is not None else None
        if flow is None or not isinstance(pending, dict) or pending.get("nonce") != parsed.nonce:
            raise BadState("Missing or invalid state parameter.")
        if flow.completed_at is not None:
            raise FlowNotFound("This login has expired. Please start again.")
        flow.request = {k: v for k, v in flow.request.items() if k != "rules_pending"}
        flow.request = {**flow.request, "rules_resumed": pending}
        return flow

    async def next_page(self, db: AsyncSession, flow: LoginFlow, user: User, default: str) -> str:
        """The profiling form when questions are due at this login, else `default`."""
        questions = await self.profiling.due(db, user, flow.client_id)
        if not questions:
            return default
        flow.request = {**flow.request, "profiling": [q.id for q in questions]}
        return f"{PROFILE_PAGE}?{urlencode({'state': flow.id})}"

    async def profiling_flow(
        self, db: AsyncSession, flow_id: str | None, user_id: str | None
    ) -> tuple[LoginFlow, list[ProfilingQuestion]]:
        """A completed login of `user_id` waiting for its profiling answers."""
        flow = await db.get(LoginFlow, flow_id) if flow_id and len(flow_id) <= 64 else None
        asked = flow.request.get("profiling") if flow is not None else None
        if (
            flow is None
            or not isinstance(asked, list)
            or flow.completed_at is None
            or flow.user_id is None
            or flow.user_id != user_id
            or flow.request.get("resumed")
        ):
            raise FlowNotFound("This page has expired. Please start again.")
        questions = []
        for question_id in asked:
            try:
                questions.append(await self.profiling.get(db, str(question_id)))
            except DomainError:
                continue
        return flow, questions

    def finish_profiling(self, flow: LoginFlow) -> str:
        flow.request = {k: v for k, v in flow.request.items() if k != "profiling"}
        return flow.return_to or "/u/account"

    async def flow(self, db: AsyncSession, flow_id: str) -> LoginFlow:
        flow = await db.get(LoginFlow, flow_id)
        if flow is None:
            raise FlowNotFound("This login has expired. Please start again.")
        return flow
