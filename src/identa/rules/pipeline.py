"""The rules pipeline run after every successful authentication, before tokens are issued.

Loads the enabled rules in `order`, builds Auth0's `user` and `context`, runs them in the
sandboxed RuleRunner within one time budget, skips failing fail-open rules, persists metadata
updates in the caller's transaction, links accounts a rule asked for (`context.primaryUser`) and
returns the claims to add to the tokens. Recording log events is the caller's job.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.core.context import RequestContext
from identa.core.errors import DomainError
from identa.enrichment.service import Enrichment
from identa.identity.linking import AccountLinker
from identa.identity.models import User
from identa.identity.profile import user_to_dict
from identa.identity.service import UserService
from identa.rules.claims import build_context, filter_claims
from identa.rules.models import Rule
from identa.rules.runtime import (
    DEFAULT_BUDGET_S,
    MentionCapture,
    MetadataUpdate,
    RuleRecord,
    RuleRunner,
    RuleSpec,
    RunOutcome,
)
from identa.rules.service import RuleService
from identa.tenants.service import TenantService

CONSOLE_IN_EVENT = 1024


@dataclass(frozen=True)
class LoginFacts:
    """What the rules are told about the login besides the user."""

    client: Client
    connection: Connection | None
    protocol: str
    request: RequestContext
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    session_id: str | None = None
    methods: tuple[str, ...] = ("pwd",)
    # Redirect rules need a browser; password grants and silent logins have none.
    interactive: bool = True
    geoip: dict[str, Any] | None = None


@dataclass
class PipelineResult:
    user: User
    status: str = "continue"  # continue | deny | redirect | error
    message: str | None = None
    redirect_url: str | None = None
    # For redirect: the rule that redirected ((order, name) to resume after) and the context.
    resume_after: tuple[int, str] | None = None
    context: dict[str, Any] | None = None
    id_claims: dict[str, Any] = field(default_factory=dict)
    access_claims: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    dropped_claims: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    linked_from: str | None = None
    mentions_added: int = 0

    @property
    def ran(self) -> bool:
        return bool(self.records)

    @property
    def stored_claims(self) -> dict[str, Any] | None:
        if not self.id_claims and not self.access_claims:
            return None
        return {"id_token": self.id_claims, "access_token": self.access_claims}

    def details(self) -> dict[str, Any]:
        """What goes into the login's log event under `details.rules`."""
        out: dict[str, Any] = {"duration_ms": round(self.duration_ms, 2), "runs": self.records}
        if self.dropped_claims:
            out["dropped_claims"] = sorted(set(self.dropped_claims))
        if self.linked_from:
            out["linked_from"] = self.linked_from
        if self.mentions_added:
            out["mentions_added"] = self.mentions_added
        return out


def _record(record: RuleRecord, fail_open: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.rule_id,
        "name": record.rule_name,
        "runtime": record.runtime,
        "duration_ms": round(record.duration_ms, 2),
        "outcome": record.outcome,
    }
    if record.console:
        out["console"] = record.console[:CONSOLE_IN_EVENT]
        if record.truncated or len(record.console) > CONSOLE_IN_EVENT:
            out["console_truncated"] = True
    if record.error:
        out["error"] = record.error[:500]
        out["reason"] = record.reason
        if fail_open:
            out["fail_open"] = True
    return out


class RulesPipeline:
    def __init__(
        self,
        *,
        rules: RuleService,
        tenants: TenantService,
        users: UserService,
        linker: AccountLinker,
        runner: RuleRunner,
        budget_s: float = DEFAULT_BUDGET_S,
        mentions: Enrichment | None = None,
    ) -> None:
        self.rules = rules
        # Scores and stores the mentions rules capture (the same service as the API's).
        self.mentions = mentions
        self.tenants = tenants
        self.users = users
        self.linker = linker
        self.runner = runner
        self.budget_s = budget_s

    async def enabled_rules(
        self, db: AsyncSession, after: tuple[int, str] | None = None
    ) -> list[Rule]:
        rows = [r for r in await self.rules.all(db, enabled=True) if r.stage == "login_success"]
        if after is not None:
            rows = [r for r in rows if (r.order, r.name) > (after[0], after[1])]
        return rows

    async def run(
        self,
        db: AsyncSession,
        user: User,
        facts: LoginFacts,
        *,
        resume_after: tuple[int, str] | None = None,
        resume_context: dict[str, Any] | None = None,
    ) -> PipelineResult:
        rows = await self.enabled_rules(db, resume_after)
        result = PipelineResult(user=user)
        if not rows:
            if resume_context is not None:
                result.id_claims, result.dropped_claims = filter_claims(
                    resume_context.get("idToken") or {}
                )
                result.access_claims, _ = filter_claims(
                    resume_context.get("accessToken") or {}, access_token=True
                )
            return result
        started = time.monotonic()
        tenant = await self.tenants.get(db)
        allowed = tenant.extra.get("rules_allowed_hosts")
        allowed_hosts = [str(h) for h in allowed] if isinstance(allowed, list) else None
        configuration = await self.rules.configuration(db)
        profile = user_to_dict(user)
        context = await self._context(db, user, facts, tenant.friendly_name, resume_context)
        fail_open = {row.id for row in rows if row.fail_open}
        specs = [RuleSpec(row.id, row.name, row.script, row.runtime) for row in rows]
        by_id = {row.id: row for row in rows}
        updates: list[MetadataUpdate] = []
        mentions: list[MentionCapture] = []
        while specs:
            budget = self.budget_s - (time.monotonic() - started)
            if budget <= 0.05:
                result.status, result.message = "error", "the rules exceeded their time limit"
                break
            outcome = await self.runner.run(
                specs,
                profile,
                context,
                configuration,
                budget_s=budget,
                allowed_hosts=allowed_hosts,
            )
            crashed = outcome.error is not None and outcome.user is profile
            result.records.extend(
                _record(r, r.rule_id in fail_open) for r in outcome.records if not crashed
            )
            if crashed and outcome.records:
                result.records.append(_record(outcome.records[-1], False))
            if not crashed:
                updates.extend(outcome.metadata_updates)
                mentions.extend(outcome.mentions)
                profile, context = outcome.user, outcome.context
            rest = self._after_stop(specs, outcome)
            if outcome.error is not None and outcome.error.rule_id in fail_open:
                if crashed:
                    result.records[-1]["fail_open"] = True
                    # The worker died: the rules before the failing one run again.
                    specs = [s for s in specs if s.id != outcome.error.rule_id]
                else:
                    specs = rest
                continue
            if outcome.redirect_url is not None and not facts.interactive:
                result.status = "error"
                result.message = (
                    "a rule asked for a redirect, which is not possible in this flow "
                    "(interaction_required)"
                )
                result.redirect_url = "interaction_required"
                break
            if outcome.redirect_url is not None and facts.protocol == "redirect-callback":
                # Auth0 ignores context.redirect when resuming: go on with the later rules.
                context.pop("redirect", None)
                specs = rest
                continue
            self._stop(result, outcome, by_id)
            break
        result.duration_ms = (time.monotonic() - started) * 1000
        if result.status in ("continue", "deny", "redirect"):
            await self._apply_updates(db, result, updates)
        if result.status in ("continue", "deny", "redirect"):
            await self._add_mentions(db, result, mentions)
        result.context = context
        id_claims, dropped = filter_claims(context.get("idToken") or {})
        access_claims, dropped_access = filter_claims(
            context.get("accessToken") or {}, access_token=True
        )
        result.id_claims, result.access_claims = id_claims, access_claims
        result.dropped_claims = dropped + dropped_access
        if result.status == "continue":
            await self._link(db, result, context.get("primaryUser"))
        return result

    @staticmethod
    def _after_stop(specs: list[RuleSpec], outcome: RunOutcome) -> list[RuleSpec]:
        stopped = outcome.error.rule_id if outcome.error else outcome.redirect_by
        ids = [s.id for s in specs]
        if stopped in ids:
            return specs[ids.index(stopped) + 1 :]
        return []

    @staticmethod
    def _stop(result: PipelineResult, outcome: RunOutcome, by_id: dict[str, Rule]) -> None:
        if outcome.error is not None:
            result.status, result.message = "error", str(outcome.error)
        elif outcome.denied is not None:
            result.status, result.message = "deny", outcome.denied
        elif outcome.redirect_url is not None:
            result.status, result.redirect_url = "redirect", outcome.redirect_url
            rule = by_id.get(outcome.redirect_by or "")
            if rule is not None:
                result.resume_after = (rule.order, rule.name)

    async def _context(
        self,
        db: AsyncSession,
        user: User,
        facts: LoginFacts,
        tenant_name: str,
        resumed: dict[str, Any] | None,
    ) -> dict[str, Any]:
        request = {
            "ip": facts.request.ip,
            "userAgent": facts.request.user_agent,
            "hostname": facts.request.hostname,
            "query": facts.query,
            "body": facts.body or {},
            "geoip": facts.geoip or {},
        }
        if resumed is not None:
            context = copy.deepcopy(resumed)
            context.pop("redirect", None)
            context["protocol"] = facts.protocol
            context["request"] = {**(context.get("request") or {}), **request}
            context["stats"] = {"loginsCount": user.logins_count}
            return context
        client, connection = facts.client, facts.connection
        same_email = []
        if user.email:
            for other in await self.users.by_email(db, user.email):
                if other.user_id != user.user_id:
                    same_email.append(
                        {"user_id": other.user_id, "email_verified": bool(other.email_verified)}
                    )
        return build_context(
            tenant=tenant_name,
            client={
                "client_id": client.client_id,
                "name": client.name,
                "client_metadata": client.client_metadata or {},
            },
            connection={
                "name": connection.name if connection else None,
                "id": connection.id if connection else None,
                "strategy": connection.strategy if connection else None,
                "metadata": connection.metadata_ if connection else {},
            },
            protocol=facts.protocol,
            logins_count=user.logins_count or 0,
            request=request,
            session_id=facts.session_id,
            methods=[
                {"name": name, "timestamp": int(time.time() * 1000)} for name in facts.methods
            ],
            extra={"identa": {"usersWithSameEmail": same_email}},
        )

    async def _add_mentions(
        self, db: AsyncSession, result: PipelineResult, mentions: list[MentionCapture]
    ) -> None:
        """`api.mentions.add` / `identa.mentions.add`, through the service behind the API."""
        for mention in mentions:
            if self.mentions is None:
                result.status, result.message = "error", "mentions are not available to rules"
                return
            target = (
                result.user
                if mention.user_id == result.user.user_id
                else await self.users.find(db, mention.user_id)
            )
            if target is None:
                continue
            try:
                await self.mentions.add_mention(
                    db, target, text=mention.text, source=mention.source, url=mention.url
                )
            except DomainError as exc:
                result.status = "error"
                result.message = f"a rule's mention was refused: {exc.message}"
                return
            result.mentions_added += 1

    async def _apply_updates(
        self, db: AsyncSession, result: PipelineResult, updates: list[MetadataUpdate]
    ) -> None:
        """Auth0's updateUserMetadata / updateAppMetadata, in order (top-level merge)."""
        for update in updates:
            target = (
                result.user
                if update.user_id == result.user.user_id
                else await self.users.find(db, update.user_id)
            )
            if target is None:
                continue
            try:
                await self.users.patch_metadata(db, target, **{update.kind: update.value})
            except DomainError as exc:
                result.status = "error"
                result.message = f"a rule's {update.kind} update was refused: {exc.message}"
                return

    async def _link(self, db: AsyncSession, result: PipelineResult, primary_id: object) -> None:
        """A rule set `context.primaryUser`: this login's account is linked into that one."""
        if not isinstance(primary_id, str) or primary_id == result.user.user_id:
            return
        primary = await self.users.find(db, primary_id)
        if primary is None:
            result.status = "error"
            result.message = f"context.primaryUser names an unknown user: {primary_id}"
            return
        secondary = result.user.user_id
        try:
            result.user = await self.linker.link(db, primary, result.user)
        except DomainError as exc:
            result.status, result.message = "error", f"account linking failed: {exc.message}"
            return
        result.linked_from = secondary
