"""RuleRunner: the one entry point the login pipeline calls to run a tenant's rules."""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
from collections import OrderedDict
from typing import Any

from identa.rules.runtime.gateway import HttpGateway
from identa.rules.runtime.pool import Limits, WorkerCrashed, WorkerPool
from identa.rules.runtime.types import (
    MentionCapture,
    MetadataUpdate,
    RuleFailure,
    RuleRecord,
    RuleSpec,
    RunOutcome,
)

DEFAULT_BUDGET_S = 20.0


class RuleRunner:
    """Runs rules in order in sandboxed worker processes; no process starts until used or `start`.

    Each call is one round trip to one worker (all rules in one batch); the worker caches compiled
    rules by script hash. Safe to call from any event loop and from many tasks at once.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        limits: Limits | None = None,
        http_timeout_s: float = 10.0,
    ) -> None:
        self.limits = limits or Limits()
        self.workers = workers or max(2, min(4, os.cpu_count() or 2))
        self.http_timeout_s = http_timeout_s
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._gateways: OrderedDict[tuple[str, ...] | None, HttpGateway] = OrderedDict()

    @property
    def pool(self) -> WorkerPool:
        with self._lock:
            if self._pool is None:
                self._pool = WorkerPool(self.workers, self.limits)
            return self._pool

    async def start(self) -> None:
        """Start the worker processes now rather than at the first login."""
        await asyncio.get_running_loop().run_in_executor(None, self.pool.warm)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            gateways = list(self._gateways.values())
            self._gateways.clear()
        if pool is not None:
            pool.close()
        for gateway in gateways:
            gateway.close()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def _gateway(self, allowed_hosts: list[str] | None) -> HttpGateway:
        key = None if allowed_hosts is None else tuple(allowed_hosts)
        with self._lock:
            gateway = self._gateways.get(key)
            if gateway is None:
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
                gateway = HttpGateway(
                    allowed_hosts, ssl_context=self._ssl, default_timeout=self.http_timeout_s
                )
                self._gateways[key] = gateway
                while len(self._gateways) > 16:
                    self._gateways.popitem(last=False)[1].close()
            else:
                self._gateways.move_to_end(key)
            return gateway

    async def run(
        self,
        rules: list[RuleSpec],
        user: dict[str, Any],
        context: dict[str, Any],
        configuration: dict[str, str] | None = None,
        *,
        budget_s: float = DEFAULT_BUDGET_S,
        allowed_hosts: list[str] | None = None,
    ) -> RunOutcome:
        """Run `rules` in order; each sees the previous one's changes; stop at deny/redirect/error.

        `allowed_hosts` is the tenant's `rules_allowed_hosts` (None: any public host).
        """
        if not rules:
            return RunOutcome(user=user, context=context)
        deadline = time.monotonic() + budget_s
        batch = {
            "t": "run",
            "rules": [
                {
                    "id": rule.id,
                    "name": rule.name,
                    "runtime": rule.resolved_runtime,
                    "hash": rule.script_hash,
                    "script": rule.script,
                }
                for rule in rules
            ],
            "user": user,
            "context": context,
            "configuration": dict(configuration or {}),
        }
        gateway = self._gateway(allowed_hosts)
        pool = self.pool
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(
                pool.runs, pool.run, batch, deadline, gateway.perform
            )
        except WorkerCrashed as exc:
            return _crashed(rules, exc, user, context, deadline, budget_s)
        return _outcome(reply)


def _outcome(reply: dict[str, Any]) -> RunOutcome:
    outcome = RunOutcome(
        user=reply["user"],
        context=reply["context"],
        metadata_updates=[
            MetadataUpdate(u["user_id"], u["kind"], u["value"])
            for u in reply["updates"]
            if u["kind"] in ("user_metadata", "app_metadata")
        ],
        mentions=[_mention(u) for u in reply["updates"] if u["kind"] == "mention"],
        records=[
            RuleRecord(
                rule_id=r["id"],
                rule_name=r["name"],
                runtime=r["runtime"],
                duration_ms=r["duration_ms"],
                outcome=r["outcome"],
                console=r["console"],
                truncated=r["truncated"],
                error=r["error"],
                reason=r["reason"],
            )
            for r in reply["records"]
        ],
    )
    stop = reply.get("stop")
    if stop is None:
        return outcome
    if stop["kind"] == "deny":
        outcome.denied, outcome.denied_by = stop["message"], stop["rule_id"]
    elif stop["kind"] == "redirect":
        outcome.redirect_url, outcome.redirect_by = stop["url"], stop["rule_id"]
    else:
        outcome.error = RuleFailure(
            stop["rule_id"], stop["rule_name"], stop["message"], stop.get("reason", "exception")
        )
    return outcome


def _mention(update: dict[str, Any]) -> MentionCapture:
    value = update["value"]
    url = value.get("url")
    return MentionCapture(
        user_id=str(update["user_id"]),
        text=str(value.get("text", "")),
        source=str(value.get("source") or "rule"),
        url=str(url) if url is not None else None,
    )


def _crashed(
    rules: list[RuleSpec],
    crash: WorkerCrashed,
    user: dict[str, Any],
    context: dict[str, Any],
    deadline: float,
    budget_s: float,
) -> RunOutcome:
    """The worker died or was killed; the changes of the rules before it are not kept."""
    problem = str(crash)
    if problem == "timeout" or time.monotonic() >= deadline:
        reason, message = "timeout", f"the rules exceeded their time limit ({budget_s:g} s)"
    elif problem == "cpu":
        reason, message = "timeout", "the rules exceeded their CPU time limit"
    else:
        reason, message = "crash", problem
    first = rules[crash.index] if crash.index is not None else None
    failure = RuleFailure(
        first.id if first else "",
        first.name if first else ", ".join(rule.name for rule in rules),
        message,
        reason,
    )
    return RunOutcome(
        user=user,
        context=context,
        error=failure,
        records=[
            RuleRecord(
                rule_id=failure.rule_id,
                rule_name=failure.rule_name,
                runtime=first.resolved_runtime if first else "mixed",
                duration_ms=0.0,
                outcome="error",
                error=message,
                reason=reason,
            )
        ],
    )
