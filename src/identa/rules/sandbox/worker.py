"""The rule worker process: confines itself, then runs batches of rules sent by the server.

Started by identa.rules.runtime.pool with an empty environment, a temporary working directory
and only its two pipe ends open. Protocol (identa.rules.sandbox.wire frames):
  server -> worker  {"t": "init", ...limits}    worker -> server  {"t": "ready", "confinement"}
  server -> worker  {"t": "run", ...}           worker -> server  {"t": "rule", "i"} per rule,
                                                                  {"t": "http", "id", "request"}*
  server -> worker  {"t": "http_result", ...}*  worker -> server  {"t": "done", ...}
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import json
import os
import resource
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from identa.rules.sandbox import python_rules as py
from identa.rules.sandbox.js_rules import JavaScriptEngine, StepResult
from identa.rules.sandbox.wire import ChannelClosed, FrameReader, write_frame

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4


class _Alarm:
    armed = False


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _Alarm.armed:
        raise py.RuleTimeout


def _private_pipes() -> tuple[int, int]:
    """Move the protocol pipes off fds 0/1 so nothing a rule prints can corrupt the protocol."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return read_fd, write_fd


def _preload() -> None:
    """Import lazily loaded modules now: after the chroot there are no files to load them from."""
    import encodings.idna  # noqa: F401

    import quickjs  # type: ignore[import-untyped]  # noqa: F401

    importlib.import_module("_strptime")
    hashlib.sha256(b"").hexdigest()
    time.strftime("%Y")
    json.dumps({"a": [1.5, "é"]})


def _drop_capabilities(libc: ctypes.CDLL) -> bool:
    class Header(ctypes.Structure):
        _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))

    class Data(ctypes.Structure):
        _fields_ = (
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        )

    header = Header(0x20080522, 0)
    data = (Data * 2)()
    return bool(libc.capset(ctypes.byref(header), data) == 0)


def confine(limits: dict[str, Any]) -> dict[str, Any]:
    """Best-effort OS confinement; returns what was applied (reported to the server)."""
    applied: dict[str, Any] = {}
    libc = ctypes.CDLL(None, use_errno=True)
    root = os.getcwd()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) == 0:
        applied["network_namespace"] = True
        try:
            os.chroot(root)
            os.chdir("/")
            applied["chroot"] = True
        except OSError:
            applied["chroot"] = False
    else:
        applied["network_namespace"] = False
        applied["chroot"] = False
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    applied["capabilities_dropped"] = _drop_capabilities(libc)
    settings = {
        resource.RLIMIT_AS: int(limits["memory_bytes"]),
        resource.RLIMIT_FSIZE: 0,
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NOFILE: 16,
        resource.RLIMIT_NPROC: 0,
    }
    for which, value in settings.items():
        try:
            resource.setrlimit(which, (value, value))
        except (OSError, ValueError):
            applied.setdefault("rlimit_failed", []).append(int(which))
    applied["memory_bytes"] = int(limits["memory_bytes"])
    return applied


class Host:
    """The server end as seen by a rule: HTTP requests go out, responses come back by id."""

    def __init__(self, reader: FrameReader, write_fd: int) -> None:
        self.reader = reader
        self.write_fd = write_fd
        self.sequence = 0

    def send_http(self, request: dict[str, Any]) -> int:
        self.sequence += 1
        write_frame(self.write_fd, {"t": "http", "id": self.sequence, "request": request})
        return self.sequence

    def wait(self, deadline: float) -> tuple[int, dict[str, Any]] | None:
        while True:
            message = self.reader.read(deadline)
            if message is None:
                return None
            if message.get("t") == "http_result":
                return int(message["id"]), message["response"]

    def call(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        """A blocking request for Python rules."""
        try:
            request_id = self.send_http(request)
        except (TypeError, ValueError) as exc:
            return {"error": f"the request cannot be encoded as JSON: {exc}"}
        while True:
            message = self.wait(deadline)
            if message is None:
                raise py.RuleTimeout
            if message[0] == request_id:
                return message[1]


class Worker:
    def __init__(self, reader: FrameReader, write_fd: int, limits: dict[str, Any]) -> None:
        self.host = Host(reader, write_fd)
        self.write_fd = write_fd
        self.console_limit = int(limits.get("console_bytes", 4096))
        self.scripts: dict[str, str] = {}
        self.python_rules: dict[str, Callable[..., Any]] = {}
        self.js = JavaScriptEngine(int(limits.get("js_memory_bytes", 64 << 20)))

    def run_batch(self, message: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        deadline = started + float(message["budget"])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_used = usage.ru_utime + usage.ru_stime
        cpu_soft = int(cpu_used + float(message["budget"]) + 2)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, resource.RLIM_INFINITY))
        user: dict[str, Any] = message["user"]
        context: dict[str, Any] = message["context"]
        configuration: dict[str, Any] = message["configuration"]
        redirect_allowed = context.get("protocol") != "redirect-callback"
        records: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        stop: dict[str, Any] | None = None
        recycle = False
        several = len(message["rules"]) > 1
        # Every script first: the server counts the whole batch as known to this worker, even
        # the rules after a deny or redirect that this batch never reaches.
        for spec in message["rules"]:
            if "script" in spec:
                self.scripts[spec["hash"]] = spec["script"]
        for index, spec in enumerate(message["rules"]):
            if several:
                write_frame(self.write_fd, {"t": "rule", "i": index})
            console = py.Console(self.console_limit)
            began = time.perf_counter()
            if time.monotonic() >= deadline:
                step = StepResult(
                    "error", message="the rule exceeded its time limit", reason="timeout"
                )
            elif spec["runtime"] == "python":
                step = self._run_python(spec, user, context, configuration, deadline, console)
            else:
                step = self.js.run(
                    spec["hash"],
                    self.scripts[spec["hash"]],
                    user,
                    context,
                    configuration,
                    deadline,
                    self.host,
                    console,
                )
            updates.extend(step.updates)
            outcome = step.kind
            if step.kind == "continue" and step.user is not None and step.context is not None:
                user, context = step.user, step.context
                redirect = context.get("redirect")
                if redirect_allowed and isinstance(redirect, dict) and redirect.get("url"):
                    outcome = "redirect"
                    stop = {"kind": "redirect", "url": str(redirect["url"])}
            elif step.kind == "deny":
                stop = {"kind": "deny", "message": step.message}
            elif step.kind == "error":
                stop = {"kind": "error", "message": step.message, "reason": step.reason}
                recycle = recycle or step.reason == "memory"
            records.append(
                {
                    "id": spec["id"],
                    "name": spec["name"],
                    "runtime": spec["runtime"],
                    "duration_ms": round((time.perf_counter() - began) * 1000, 3),
                    "outcome": outcome,
                    "console": console.text(),
                    "truncated": console.truncated,
                    "error": step.message if step.kind != "continue" else None,
                    "reason": step.reason or None,
                }
            )
            if stop is not None:
                stop.update(rule_id=spec["id"], rule_name=spec["name"])
                break
        return {
            "t": "done",
            "user": user,
            "context": context,
            "updates": updates,
            "records": records,
            "stop": stop,
            "recycle": recycle,
        }

    def _run_python(
        self,
        spec: dict[str, Any],
        user: dict[str, Any],
        context: dict[str, Any],
        configuration: dict[str, Any],
        deadline: float,
        console: py.Console,
    ) -> StepResult:
        updates: list[dict[str, Any]] = []
        remaining = deadline - time.monotonic()
        py.ConsoleSlot.current = console
        try:
            try:
                rule = self.python_rules.get(spec["hash"])
                _Alarm.armed = True
                signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001), 0.05)
                if rule is None:
                    rule = py.compile_rule(self.scripts[spec["hash"]], spec["name"])
                    self.python_rules[spec["hash"]] = rule
                api = py.Api(lambda request: self.host.call(request, deadline), updates)
                new_user, new_context = py.call_rule(rule, user, context, dict(configuration), api)
            finally:
                _Alarm.armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
            json.dumps([new_user, new_context])
        except py.RuleTimeout:
            return StepResult("error", message="the rule exceeded its time limit", reason="timeout")
        except py.UnauthorizedError as exc:
            return StepResult("deny", message=str(exc), updates=updates)
        except MemoryError:
            return StepResult(
                "error", message="the rule exceeded its memory limit", reason="memory"
            )
        except py.RuleSourceError as exc:
            return StepResult("error", message=str(exc), reason="syntax")
        except (TypeError, ValueError) as exc:
            return StepResult("error", message=f"{type(exc).__name__}: {exc}", reason="exception")
        except BaseException as exc:
            return StepResult("error", message=f"{type(exc).__name__}: {exc}", reason="exception")
        finally:
            py.ConsoleSlot.current = None
        return StepResult("continue", new_user, new_context, updates=updates)


def main() -> None:
    read_fd, write_fd = _private_pipes()
    reader = FrameReader(read_fd)
    init = reader.read()
    if init is None or init.get("t") != "init":
        sys.exit(2)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _preload()
    confinement = confine(init)
    worker = Worker(reader, write_fd, init)
    write_frame(write_fd, {"t": "ready", "pid": os.getpid(), "confinement": confinement})
    while True:
        try:
            message = reader.read()
        except ChannelClosed:
            return
        if message is None or message.get("t") == "exit":
            return
        if message.get("t") == "run":
            write_frame(write_fd, worker.run_batch(message))


if __name__ == "__main__":
    main()
