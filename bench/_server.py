"""What the benchmarks share: the server under test, its database, and CPU accounting.

- `identa_server` runs `identa init --json` and `identa serve` on a free port with a temporary
  data directory; `postgres_database` makes a fresh PostgreSQL database and drops it afterwards.
- `CpuSample` / `CpuUsage` read the CPU time of the server (its event-loop thread apart), of
  PostgreSQL, of the benchmark process and its children, of everything else on the machine and
  what the hypervisor stole, from /proc; `wait_for_quiet` waits for the other processes to idle.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOISE_WARNING_CORES = 0.10
BACKEND_HOST = re.compile(r"^(\S+\(\d+\)|\[local\])$")


class BenchError(RuntimeError):
    pass


# -- CPU accounting from /proc ---------------------------------------------------------------


def proc_cpu_seconds(stat_path: str) -> float:
    """utime + stime of a process or thread, from /proc/.../stat; 0 when it is gone."""
    try:
        with open(stat_path, encoding="ascii") as fh:
            raw = fh.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of the whole machine, all cores, from /proc/stat.

    Stolen time is what the hypervisor gave to other virtual machines: it slows everything
    down without showing up as anyone's CPU time here.
    """
    with open("/proc/stat", encoding="ascii") as fh:
        parts = [int(p) for p in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = parts[:7]
    steal = parts[7] if len(parts) > 7 else 0
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its descendants alive now (e.g. uvicorn's workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as fh:
                raw = fh.read()
        except OSError:
            continue
        parent = int(raw[raw.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += proc_cpu_seconds(f"/proc/{current}/stat")
        pending.extend(children.get(current, ()))
    return total


def postgres_cpu_seconds(database: str | None = None) -> float:
    """CPU seconds of PostgreSQL's processes; with `database`, backends serving another
    database (someone else's tests) are left out, the shared processes (writers,
    checkpointer, autovacuum) are kept."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/comm", encoding="utf-8") as fh:
                comm = fh.read().strip()
            if comm == "postgres" and database is not None:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    title = fh.read().decode("utf-8", "replace").replace("\0", " ").split()
                # A backend's title: "postgres: [cluster: ]user database host(port) activity".
                host = next((i for i, t in enumerate(title) if BACKEND_HOST.match(t)), None)
                if host is not None and host >= 2 and title[host - 1] != database:
                    continue
        except OSError:
            continue
        if comm == "postgres":
            total += proc_cpu_seconds(f"/proc/{entry.name}/stat")
    return total


@dataclass(frozen=True)
class CpuSample:
    wall: float
    machine: float
    steal: float
    server_all: float
    server_loop: float
    client: float
    postgres: float
    # Children of this process that have exited and been waited for (e.g. wrk).
    children: float = 0.0

    @classmethod
    def take(
        cls, server_pid: int, with_postgres: bool, postgres_database: str | None = None
    ) -> CpuSample:
        times = os.times()
        machine, steal = machine_cpu_seconds()
        return cls(
            wall=time.perf_counter(),
            machine=machine,
            steal=steal,
            server_all=process_tree_cpu_seconds(server_pid),
            server_loop=proc_cpu_seconds(f"/proc/{server_pid}/task/{server_pid}/stat"),
            client=times.user + times.system,
            postgres=postgres_cpu_seconds(postgres_database) if with_postgres else 0.0,
            children=times.children_user + times.children_system,
        )


@dataclass(frozen=True)
class CpuUsage:
    """CPU seconds per component over one phase, and the machine's wall time.

    `client` is this process; `children` its children that ended within the phase (a load
    generator such as wrk), counted neither in `client` nor in `others`.
    """

    wall: float
    server_loop: float
    server_threads: float
    client: float
    postgres: float
    others: float
    steal: float
    children: float = 0.0

    @classmethod
    def between(cls, a: CpuSample, b: CpuSample) -> CpuUsage:
        server_all = b.server_all - a.server_all
        server_loop = b.server_loop - a.server_loop
        client = b.client - a.client
        postgres = b.postgres - a.postgres
        children = b.children - a.children
        ours = server_all + client + postgres + children
        return cls(
            wall=b.wall - a.wall,
            server_loop=server_loop,
            server_threads=server_all - server_loop,
            client=client,
            postgres=postgres,
            others=max(0.0, (b.machine - a.machine) - ours),
            steal=b.steal - a.steal,
            children=children,
        )


def wait_for_quiet(
    server_pid: int, with_postgres: bool, quiet_wait: float, postgres_database: str | None = None
) -> None:
    """Waits for a second in which other processes and other VMs leave the CPU alone.

    Gives up after `quiet_wait` seconds; the results then carry a warning.
    """
    deadline = time.perf_counter() + quiet_wait
    told = False
    while True:
        before = CpuSample.take(server_pid, with_postgres, postgres_database)
        time.sleep(1.0)
        after = CpuSample.take(server_pid, with_postgres, postgres_database)
        usage = CpuUsage.between(before, after)
        busy = max(usage.others, usage.steal) / usage.wall
        if busy < NOISE_WARNING_CORES:
            return
        if time.perf_counter() >= deadline:
            print(f"  the machine is still busy ({busy:.2f} core): measuring anyway", flush=True)
            return
        if not told:
            print(f"  the machine is busy ({busy:.2f} core): waiting", flush=True)
            told = True


def percentile_ms(latencies: list[float], pct: int) -> float:
    """The pct-th percentile of latencies given in seconds, in milliseconds."""
    if len(latencies) < 2:
        return latencies[0] * 1000 if latencies else float("nan")
    return statistics.quantiles(latencies, n=100, method="inclusive")[pct - 1] * 1000


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# -- the server under test -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def identa_executable() -> str:
    beside = Path(sys.executable).with_name("identa")
    if beside.exists():
        return str(beside)
    found = shutil.which("identa")
    if found is None:
        raise BenchError("the `identa` console script was not found; install the project first")
    return found


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    default_client_id: str
    log_path: Path
    # What `identa init --json` printed (the management client and its audience) and the
    # environment the server runs with, for commands that must see the same deployment.
    init: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"the server died:\n{self.log_tail()}")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty database for this run; yields its SQLAlchemy URL, drops it afterwards."""
    name = f"identa_bench_{secrets.token_hex(4)}"

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def database_name(url: str | None) -> str | None:
    """The database of a URL such as postgresql+asyncpg://postgres@host:5432/name."""
    return url.rsplit("/", 1)[1] if url else None


def postgres_version(admin_url: str) -> str:
    async def query() -> str:
        connection = await asyncpg.connect(admin_url)
        try:
            value: str = await connection.fetchval("SHOW server_version")
            return value
        finally:
            await connection.close()

    return asyncio.run(query())


@contextmanager
def no_database() -> Iterator[None]:
    yield None


@contextmanager
def identa_server(extra_env: Mapping[str, str], database_url: str | None) -> Iterator[Server]:
    """`identa init` then `identa serve` on a free port, in a temporary data directory."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="identa-bench-") as data_dir:
        env = {
            **os.environ,
            **extra_env,
            "IDENTA_DATA_DIR": data_dir,
            "IDENTA_PUBLIC_URL": base_url,
            "IDENTA_MAIL__PROVIDER": "none",
            "IDENTA_LOG_LEVEL": "WARNING",
        }
        if database_url:
            env["IDENTA_DATABASE_URL"] = database_url
        else:
            env.pop("IDENTA_DATABASE_URL", None)
        executable = identa_executable()
        init = subprocess.run(
            [executable, "init", "--json"], env=env, capture_output=True, text=True, check=False
        )
        if init.returncode != 0:
            raise BenchError(f"`identa init` failed:\n{init.stderr[-3000:]}")
        # The JSON is the last line: anything before it is logging (e.g. SQL echo).
        report = json.loads(init.stdout.strip().splitlines()[-1])
        log_path = Path(data_dir) / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [executable, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        server = Server(process, base_url, report["default_client_id"], log_path, report, env)
        try:
            wait_ready(server)
            yield server
        finally:
            stop(process)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BenchError(f"the server exited early:\n{server.log_tail()}")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise BenchError(f"the server was not ready after {timeout:.0f} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# -- profiling -------------------------------------------------------------------------------


def start_py_spy(
    pid: int, out: Path, seconds: float, *, gil_only: bool = False
) -> subprocess.Popen[bytes]:
    """Samples a process for `seconds`: collapsed stacks, one line per stack, with threads.

    py-spy pauses the process for each sample (so that it can tell running threads from idle
    ones), which slows it down: the rates of a profiled run are not comparable. `gil_only`
    keeps only the thread that holds the GIL: Python's CPU time, without the waits that py-spy
    takes for activity (uvloop's epoll, threads queueing for the GIL).
    """
    executable = Path(sys.executable).with_name("py-spy")
    if not executable.exists():
        raise BenchError("--py-spy needs py-spy: .venv/bin/pip install py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(executable),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--threads",
            "--format",
            "raw",
            "--duration",
            str(max(1, round(seconds))),
            "--output",
            str(out),
            *(["--gil"] if gil_only else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # attaching takes a moment
    return process
