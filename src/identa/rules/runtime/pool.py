"""A pool of rule worker processes, driven from threads so it works under any event loop.

One thread per run owns one worker for the whole batch of rules: it sends the batch, serves the
worker's HTTP requests through the gateway (concurrently, on a separate executor) and waits for
the result until a hard deadline, after which the worker is killed and replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from identa.rules.sandbox.wire import ChannelClosed, FrameReader, write_frame

log = logging.getLogger(__name__)

SOURCE_ROOT = str(Path(__file__).resolve().parents[3])
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from identa.rules.sandbox.worker import main; main()"
)
MAX_KNOWN_SCRIPTS = 256


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 512 * 1024 * 1024
    js_memory_bytes: int = 64 * 1024 * 1024
    console_bytes: int = 4096
    grace_s: float = 1.0
    startup_s: float = 15.0
    max_runs_per_worker: int = 10_000


class WorkerCrashed(Exception):
    """The worker died, hung or broke the protocol during a run (`index`: the rule running)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class WorkerProcess:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.root = tempfile.mkdtemp(prefix="identa-rule-")
        os.chmod(self.root, 0o500)
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
            [sys.executable, "-I", "-c", BOOT, SOURCE_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd=self.root,
            close_fds=True,
            start_new_session=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.write_fd = self.process.stdin.fileno()
        self.reader = FrameReader(self.process.stdout.fileno())
        self.write_lock = threading.Lock()
        self.known: set[str] = set()
        self.runs = 0
        self.confinement: dict[str, Any] = {}
        self.active_run = 0
        try:
            self.send(
                {
                    "t": "init",
                    "memory_bytes": limits.memory_bytes,
                    "js_memory_bytes": limits.js_memory_bytes,
                    "console_bytes": limits.console_bytes,
                }
            )
            ready = self.reader.read(time.monotonic() + limits.startup_s)
        except (OSError, ChannelClosed) as exc:
            self.kill()
            raise WorkerCrashed(f"the rule worker did not start: {exc}") from None
        if ready is None or ready.get("t") != "ready":
            self.kill()
            raise WorkerCrashed("the rule worker did not start in time")
        self.confinement = ready.get("confinement", {})
        self._remove_root()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        with self.write_lock:
            write_frame(self.write_fd, message)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _remove_root(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            log.warning("rule worker %s did not exit after SIGKILL", self.process.pid)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._remove_root()

    def stop(self) -> None:
        try:
            self.send({"t": "exit"})
            self.process.wait(timeout=1)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


HttpPerformer = Callable[[dict[str, Any], float], dict[str, Any]]


class WorkerPool:
    def __init__(self, size: int, limits: Limits) -> None:
        self.size = size
        self.limits = limits
        self._idle: queue.LifoQueue[WorkerProcess] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._count = 0
        self._closed = False
        self._run_seq = 0
        self.replaced = 0
        self.runs = ThreadPoolExecutor(max_workers=size, thread_name_prefix="identa-rules")
        self._http = ThreadPoolExecutor(max_workers=16, thread_name_prefix="identa-rules-http")
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="identa-rules-spawn")

    # -- lifecycle ---------------------------------------------------------------------------

    def warm(self) -> None:
        """Start every worker now (each takes ~0.1-0.3 s) instead of on first use."""
        while True:
            with self._lock:
                if self._closed or self._count >= self.size:
                    return
                self._count += 1
            try:
                self._idle.put(WorkerProcess(self.limits))
            except WorkerCrashed:
                with self._lock:
                    self._count -= 1
                raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.runs.shutdown(wait=True)
        self._spawner.shutdown(wait=True)
        self._http.shutdown(wait=False, cancel_futures=True)
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            worker.stop()

    def idle_pids(self) -> list[int]:
        return [w.pid for w in list(self._idle.queue)]

    def confinement(self) -> dict[str, Any]:
        workers = list(self._idle.queue)
        return dict(workers[0].confinement) if workers else {}

    def _take(self) -> WorkerProcess:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            spawn = self._count < self.size
            if spawn:
                self._count += 1
        if spawn:
            try:
                return WorkerProcess(self.limits)
            except WorkerCrashed:
                with self._lock:
                    self._count -= 1
                raise
        return self._idle.get()

    def _give_back(self, worker: WorkerProcess, healthy: bool) -> None:
        if (
            healthy
            and not self._closed
            and worker.alive()
            and worker.runs < self.limits.max_runs_per_worker
            and len(worker.known) <= MAX_KNOWN_SCRIPTS
        ):
            self._idle.put(worker)
            return
        worker.kill()
        with self._lock:
            self._count -= 1
            self.replaced += 1
            closed = self._closed
        if not closed:
            with contextlib.suppress(RuntimeError):  # the pool is closing
                self._spawner.submit(self._replenish)

    def _replenish(self) -> None:
        with self._lock:
            if self._closed or self._count >= self.size:
                return
            self._count += 1
        try:
            self._idle.put(WorkerProcess(self.limits))
        except WorkerCrashed:
            log.exception("could not replace a rule worker")
            with self._lock:
                self._count -= 1

    # -- one run ----------------------------------------------------------------------------

    def run(self, batch: dict[str, Any], deadline: float, perform: HttpPerformer) -> dict[str, Any]:
        """Runs one batch on one worker (blocking); raises WorkerCrashed after killing it."""
        worker = self._take()
        healthy = False
        try:
            result = self._exchange(worker, batch, deadline, perform)
            healthy = not result.get("recycle")
            return result
        finally:
            worker.active_run = 0
            self._give_back(worker, healthy)

    def _exchange(
        self,
        worker: WorkerProcess,
        batch: dict[str, Any],
        deadline: float,
        perform: HttpPerformer,
    ) -> dict[str, Any]:
        with self._lock:
            self._run_seq += 1
            run_id = self._run_seq
        worker.active_run = run_id
        worker.runs += 1
        rules = []
        for spec in batch["rules"]:
            entry = {k: v for k, v in spec.items() if k != "script"}
            if spec["hash"] not in worker.known:
                entry["script"] = spec["script"]
            rules.append(entry)
        message = {**batch, "rules": rules, "budget": max(deadline - time.monotonic(), 0.001)}
        try:
            worker.send(message)
        except OSError as exc:
            raise WorkerCrashed(f"the rule worker is gone: {exc}") from None
        worker.known.update(spec["hash"] for spec in batch["rules"])
        hard_deadline = deadline + self.limits.grace_s
        current: int | None = 0 if len(rules) == 1 else None
        while True:
            try:
                reply = worker.reader.read(hard_deadline)
            except (ChannelClosed, OSError, ValueError):
                code = worker.process.poll()
                if code is None:
                    worker.kill()
                    code = worker.process.returncode
                raise WorkerCrashed(_death(code), current) from None
            if reply is None:
                raise WorkerCrashed("timeout", current)
            kind = reply.get("t")
            if kind == "done":
                return reply
            if kind == "rule":
                current = int(reply["i"])
            if kind == "http":
                self._serve_http(worker, run_id, reply, deadline, perform)

    def _serve_http(
        self,
        worker: WorkerProcess,
        run_id: int,
        message: dict[str, Any],
        deadline: float,
        perform: HttpPerformer,
    ) -> None:
        def serve() -> None:
            response = perform(message["request"], deadline - time.monotonic())
            if worker.active_run != run_id:
                return  # the rule already finished (fire-and-forget request)
            with contextlib.suppress(OSError):
                worker.send({"t": "http_result", "id": message["id"], "response": response})

        with contextlib.suppress(RuntimeError):
            self._http.submit(serve)


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        number = -code
        if number == signal.SIGXCPU:
            return "cpu"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"the rule worker was killed by {name}"
    return f"the rule worker exited unexpectedly (status {code})"
