"""Auth0-style JavaScript rules in QuickJS, one long-lived context per worker (Auth0's `global`).

A rule runs until it calls `callback`. In between, the worker drains what the rule queued (host
HTTP requests, console lines, metadata updates), sends the requests to the server, and resumes the
rule by delivering each response to its pending JS continuation, or by firing due timers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from identa.rules.sandbox.prelude import PRELUDE
from identa.rules.sandbox.python_rules import Console


class HostLink(Protocol):
    def send_http(self, request: dict[str, Any]) -> int: ...

    def wait(self, deadline: float) -> tuple[int, dict[str, Any]] | None: ...


@dataclass
class StepResult:
    """How one rule ended: `kind` is continue, deny or error."""

    kind: str
    user: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    message: str = ""
    reason: str = ""
    updates: list[dict[str, Any]] = field(default_factory=list)


class JavaScriptEngine:
    def __init__(self, memory_limit: int, max_stack: int = 1024 * 1024) -> None:
        self.memory_limit = memory_limit
        self.max_stack = max_stack
        self._context: Any = None
        self._compiled: set[str] = set()
        self._calls: dict[str, Callable[..., Any]] = {}

    def _ensure(self) -> Any:
        if self._context is None:
            import quickjs  # type: ignore[import-untyped]

            context = quickjs.Context()
            context.set_memory_limit(self.memory_limit)
            context.set_max_stack_size(self.max_stack)
            context.eval(PRELUDE)
            self._calls = {
                name: context.eval(f"__identa.{name}")
                for name in ("compile", "begin", "deliver", "fireTimers", "drain")
            }
            self._context = context
            self._compiled = set()
        return self._context

    def reset(self) -> None:
        """Drop the context (and with it `global`), e.g. after it ran out of memory."""
        self._context = None
        self._calls = {}
        self._compiled = set()

    def _call(self, deadline: float, name: str, *args: Any) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Expired
        self._context.set_time_limit(remaining)
        return self._calls[name](*args)

    def run(
        self,
        rule_hash: str,
        script: str,
        user: dict[str, Any],
        context: dict[str, Any],
        configuration: dict[str, Any],
        deadline: float,
        host: HostLink,
        console: Console,
    ) -> StepResult:
        updates: list[dict[str, Any]] = []
        try:
            return self._run(
                rule_hash, script, user, context, configuration, deadline, host, console, updates
            )
        except _Expired:
            return StepResult("error", message="the rule exceeded its time limit", reason="timeout")
        except Exception as exc:
            text = str(exc).split("\n", 1)[0]
            if "interrupted" in text:
                return StepResult(
                    "error", message="the rule exceeded its time limit", reason="timeout"
                )
            if "out of memory" in text:
                self.reset()
                return StepResult(
                    "error", message="the rule exceeded its memory limit", reason="memory"
                )
            if "stack" in text.lower() and "overflow" in text.lower():
                return StepResult("error", message=f"RangeError: {text}", reason="exception")
            return StepResult("error", message=text, reason="exception")
        finally:
            if self._context is not None:
                self._context.set_time_limit(-1)

    def _run(
        self,
        rule_hash: str,
        script: str,
        user: dict[str, Any],
        context: dict[str, Any],
        configuration: dict[str, Any],
        deadline: float,
        host: HostLink,
        console: Console,
        updates: list[dict[str, Any]],
    ) -> StepResult:
        engine = self._ensure()
        if rule_hash not in self._compiled:
            problem = self._call(deadline, "compile", rule_hash, script)
            if problem:
                return StepResult("error", message=problem, reason="syntax")
            self._compiled.add(rule_hash)
        self._call(
            deadline,
            "begin",
            rule_hash,
            json.dumps(user),
            json.dumps(context),
            json.dumps(configuration),
        )
        waiting: dict[int, int] = {}
        while True:
            while engine.execute_pending_job():
                if time.monotonic() >= deadline:
                    raise _Expired
            state = json.loads(self._call(deadline, "drain"))
            for line in state["logs"]:
                if line is None:
                    console.truncated = True
                else:
                    console.write(line + "\n")
            updates.extend(state["meta"])
            for item in state["host"]:
                waiting[host.send_http(item["request"])] = item["id"]
            done = state["done"]
            if done is not None:
                if "error" in done:
                    error = done["error"]
                    if error.get("unauthorized"):
                        return StepResult("deny", message=error["message"], updates=updates)
                    if error["name"] == "InternalError" and "out of memory" in error["message"]:
                        self.reset()
                        return StepResult(
                            "error", message="the rule exceeded its memory limit", reason="memory"
                        )
                    return StepResult(
                        "error",
                        message=f"{error['name']}: {error['message']}",
                        reason="exception",
                        updates=updates,
                    )
                result = json.loads(done["result"])
                new_user, new_context = result.get("user"), result.get("context")
                if not isinstance(new_user, dict) or not isinstance(new_context, dict):
                    return StepResult(
                        "error",
                        message="callback must be given the user and context objects",
                        reason="exception",
                        updates=updates,
                    )
                return StepResult("continue", new_user, new_context, updates=updates)
            next_timer: float = state["nextTimer"]
            if not waiting and next_timer < 0:
                return StepResult(
                    "error",
                    message="the rule finished without calling callback",
                    reason="callback",
                    updates=updates,
                )
            now = time.monotonic()
            if now >= deadline:
                raise _Expired
            until = deadline if next_timer < 0 else min(deadline, now + next_timer / 1000)
            if waiting:
                message = host.wait(until)
                if message is not None:
                    request_id, response = message
                    if request_id in waiting:
                        self._call(
                            deadline, "deliver", waiting.pop(request_id), json.dumps(response)
                        )
                    continue
            else:
                time.sleep(max(0.0, until - time.monotonic()))
            if time.monotonic() >= deadline:
                raise _Expired
            self._call(deadline, "fireTimers")


class _Expired(Exception):
    pass
