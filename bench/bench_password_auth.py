"""Password sign-ups and logins per second over HTTP, next to the raw argon2id rate.

Starts its own `identa serve` on a free port (temporary data directory; on PostgreSQL a fresh
database, dropped afterwards), then measures, each for a fixed time after a warm-up:

1. raw argon2id hashes/s with N threads in this process (server idle), as a sign-up does;
2. sign-ups/s: N httpx clients POSTing /dbconnections/signup;
3. raw argon2id verifications/s with N threads (server idle), as a login does;
4. logins/s: N httpx clients each running GET /u/login (a fresh flow and its page) -> POST the form.

The raw figures use Identa's own PasswordHasher with the server's cost parameters (a login
costs the server one verification, a sign-up one hash), so `overhead = 1 - http/raw` is what
serving over HTTP adds on top of the hashing, the load generator included as it shares the
cores. The CPU time of the server's event-loop thread, its other threads, PostgreSQL and this
process is read from /proc around every phase, to tell the server's own share ("CPU overhead")
from the client's; CPU used by other processes or stolen by the hypervisor is reported too.

    .venv/bin/python bench/bench_password_auth.py --database sqlite
    .venv/bin/python bench/bench_password_auth.py --database postgresql --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import json
import os
import platform
import re
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import httpx
from _server import (
    DEFAULT_PG_ADMIN_URL,
    NOISE_WARNING_CORES,
    BenchError,
    CpuSample,
    CpuUsage,
    Server,
    cpu_model,
    identa_server,
    no_database,
    percentile_ms,
    postgres_database,
    postgres_version,
)
from _server import start_py_spy as start_py_spy_process
from _server import wait_for_quiet as wait_for_quiet_machine

from identa.identity.passwords import PasswordHasher

PASSWORD = "Bench-Passw0rd!"
CONNECTION = "Username-Password-Authentication"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
CSRF_INPUT = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass(frozen=True)
class HashCost:
    memory_cost_kib: int
    time_cost: int
    parallelism: int

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            memory_cost_kib=self.memory_cost_kib,
            time_cost=self.time_cost,
            parallelism=self.parallelism,
        )

    def env(self) -> dict[str, str]:
        return {
            "IDENTA_PASSWORD_HASH__MEMORY_COST_KIB": str(self.memory_cost_kib),
            "IDENTA_PASSWORD_HASH__TIME_COST": str(self.time_cost),
            "IDENTA_PASSWORD_HASH__PARALLELISM": str(self.parallelism),
        }


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Measurement:
    operation: str
    kind: str  # "raw" or "http"
    concurrency: int
    count: int
    seconds: float
    rate: float
    p50_ms: float
    p95_ms: float
    cpu_ms_per_op: dict[str, float] = field(default_factory=dict)
    other_processes_cores: float = 0.0
    stolen_cores: float = 0.0

    @property
    def noisy(self) -> bool:
        return max(self.other_processes_cores, self.stolen_cores) > NOISE_WARNING_CORES


def _measurement(
    operation: str, kind: str, concurrency: int, latencies: list[float], usage: CpuUsage
) -> Measurement:
    count = len(latencies)
    per_op = 1000 / count if count else float("nan")
    return Measurement(
        operation=operation,
        kind=kind,
        concurrency=concurrency,
        count=count,
        seconds=usage.wall,
        rate=count / usage.wall,
        p50_ms=percentile_ms(latencies, 50),
        p95_ms=percentile_ms(latencies, 95),
        cpu_ms_per_op={
            "server_loop": usage.server_loop * per_op,
            "server_threads": usage.server_threads * per_op,
            "client": usage.client * per_op,
            "postgres": usage.postgres * per_op,
        },
        other_processes_cores=usage.others / usage.wall,
        stolen_cores=usage.steal / usage.wall,
    )


def run_threads(op: Callable[[], object], threads: int, seconds: float) -> list[float]:
    """Runs `op` in `threads` threads until the deadline; returns every call's latency."""
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    latencies: list[float] = []

    def loop() -> None:
        mine: list[float] = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            op()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="raw-argon2") as pool:
        for future in [pool.submit(loop) for _ in range(threads)]:
            future.result()
    return latencies


async def run_workers(
    op: Callable[[httpx.AsyncClient, int], Awaitable[None]],
    clients: list[httpx.AsyncClient],
    seconds: float,
) -> list[float]:
    """Runs `op` concurrently, one loop per client, until the deadline; returns latencies."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def loop(client: httpx.AsyncClient, worker: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await op(client, worker)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(loop(client, i) for i, client in enumerate(clients)))
    return latencies


class Accounts:
    """E-mails of the users created by the sign-up phases, handed out round-robin for logins."""

    def __init__(self) -> None:
        self.run = secrets.token_hex(3)
        self.emails: list[str] = []
        self._next = itertools.count()
        self._cycle: Iterator[str] | None = None

    def new_email(self, worker: int) -> str:
        return f"bench-{self.run}-{worker}-{next(self._next)}@example.com"

    def next_for_login(self) -> str:
        if not self.emails:
            raise BenchError("no account to log in with: the sign-up phase created none")
        if self._cycle is None:
            self._cycle = itertools.cycle(list(self.emails))
        return next(self._cycle)


def signup_op(
    server: Server, accounts: Accounts
) -> Callable[[httpx.AsyncClient, int], Awaitable[None]]:
    async def op(client: httpx.AsyncClient, worker: int) -> None:
        email = accounts.new_email(worker)
        response = await client.post(
            "/dbconnections/signup",
            json={
                "client_id": server.default_client_id,
                "email": email,
                "password": PASSWORD,
                "connection": CONNECTION,
            },
        )
        if response.status_code != 200:
            raise BenchError(f"sign-up answered {response.status_code}: {response.text[:300]}")
        accounts.emails.append(email)

    return op


def login_op(accounts: Accounts) -> Callable[[httpx.AsyncClient, int], Awaitable[None]]:
    """One full hosted-page login: the page (which starts a fresh flow), then the posted form."""

    async def op(client: httpx.AsyncClient, _worker: int) -> None:
        page = await client.get("/u/login")
        csrf = CSRF_INPUT.search(page.text)
        action = FORM_ACTION.search(page.text)
        if page.status_code != 200 or csrf is None or action is None:
            raise BenchError(f"the login page ({page.status_code}) has no form with a CSRF token")
        posted = await client.post(
            html.unescape(action.group(1)),
            data={
                "csrf_token": html.unescape(csrf.group(1)),
                "username": accounts.next_for_login(),
                "password": PASSWORD,
            },
        )
        landed = posted.headers.get("location", "").endswith("/u/account")
        if posted.status_code != 303 or not landed or "identa_session" not in posted.cookies:
            raise BenchError(f"login answered {posted.status_code}: {posted.text[:300]}")
        # A fresh login each time: the next one must not replace this session.
        client.cookies.delete("identa_session")

    return op


def make_clients(server: Server, count: int) -> list[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return [
        httpx.AsyncClient(base_url=server.base_url, timeout=120.0, limits=limits)
        for _ in range(count)
    ]


# -- one run ---------------------------------------------------------------------------------


@dataclass
class Options:
    database: str
    concurrency: int
    seconds: float
    warmup: float
    cost: HashCost
    pg_admin_url: str
    save: bool
    quiet_wait: float = 60.0
    rounds: int = 1
    py_spy_dir: Path | None = None


def wait_for_quiet(opts: Options, server: Server) -> None:
    """Waits for a second in which other processes and other VMs leave the CPU alone.

    Gives up after opts.quiet_wait seconds; the results then carry a warning.
    """
    wait_for_quiet_machine(server.pid, opts.database == "postgresql", opts.quiet_wait)


def measure_raw(
    operation: str,
    op: Callable[[], object],
    opts: Options,
    server: Server,
) -> Measurement:
    wait_for_quiet(opts, server)
    run_threads(op, opts.concurrency, opts.warmup)
    pg = opts.database == "postgresql"
    before = CpuSample.take(server.pid, pg)
    latencies = run_threads(op, opts.concurrency, opts.seconds)
    usage = CpuUsage.between(before, CpuSample.take(server.pid, pg))
    return _measurement(operation, "raw", opts.concurrency, latencies, usage)


def start_py_spy(opts: Options, server: Server, operation: str) -> subprocess.Popen[bytes] | None:
    """Samples the server during the measured phase: collapsed stacks, one line per stack.

    py-spy pauses the server for each sample (so that it can tell running threads from idle
    ones), which slows it down: the rates of a profiled run are not comparable.
    """
    if opts.py_spy_dir is None:
        return None
    out = opts.py_spy_dir / f"{opts.database}-{operation}.txt"
    return start_py_spy_process(server.pid, out, opts.seconds)


def measure_http(
    operation: str,
    op: Callable[[httpx.AsyncClient, int], Awaitable[None]],
    opts: Options,
    server: Server,
) -> Measurement:
    pg = opts.database == "postgresql"

    wait_for_quiet(opts, server)

    async def go() -> Measurement:
        clients = make_clients(server, opts.concurrency)
        profiler = None
        try:
            await run_workers(op, clients, opts.warmup)
            profiler = start_py_spy(opts, server, operation)
            before = CpuSample.take(server.pid, pg)
            latencies = await run_workers(op, clients, opts.seconds)
            usage = CpuUsage.between(before, CpuSample.take(server.pid, pg))
        finally:
            for client in clients:
                await client.aclose()
            if profiler is not None:
                profiler.wait(timeout=opts.seconds + 60)
        return _measurement(operation, "http", opts.concurrency, latencies, usage)

    return asyncio.run(go())


Pair = tuple[Measurement, Measurement]  # (raw, http) for one operation


def run_round(opts: Options, server: Server, accounts: Accounts, stored: str) -> list[Pair]:
    hasher = opts.cost.hasher()
    raw_signup = measure_raw("sign-up", lambda: hasher.hash_sync(PASSWORD), opts, server)
    http_signup = measure_http("sign-up", signup_op(server, accounts), opts, server)
    _check_alive(server)
    raw_login = measure_raw("login", lambda: hasher.verify_sync(stored, PASSWORD), opts, server)
    http_login = measure_http("login", login_op(accounts), opts, server)
    _check_alive(server)
    return [(raw_signup, http_signup), (raw_login, http_login)]


def _check_alive(server: Server) -> None:
    server.check_alive()


def _median(measurements: list[Measurement]) -> Measurement:
    ordered = sorted(measurements, key=lambda m: m.rate)
    return ordered[(len(ordered) - 1) // 2]


def run(opts: Options) -> dict[str, Any]:
    hasher = opts.cost.hasher()
    stored = hasher.hash_sync(PASSWORD)
    if hasher.verify_sync(stored, PASSWORD).needs_rehash:
        raise BenchError("a fresh hash already needs a rehash: the cost parameters disagree")
    facts = machine_facts(opts)
    print_header(facts, opts)

    if opts.database == "postgresql":
        database: Any = postgres_database(opts.pg_admin_url)
    else:
        database = no_database()
    rounds: list[list[Pair]] = []
    with database as database_url, identa_server(opts.cost.env(), database_url) as server:
        accounts = Accounts()
        for number in range(1, opts.rounds + 1):
            pairs = run_round(opts, server, accounts, stored)
            rounds.append(pairs)
            if opts.rounds > 1:
                print_round(number, opts.rounds, pairs)
    rows = [
        (_median([r[i][0] for r in rounds]), _median([r[i][1] for r in rounds]))
        for i in range(len(rounds[0]))
    ]
    print_results(rows, opts.rounds)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": facts,
        "options": {
            "database": opts.database,
            "concurrency": opts.concurrency,
            "seconds": opts.seconds,
            "warmup_seconds": opts.warmup,
            "rounds": opts.rounds,
            "argon2id": asdict(opts.cost),
        },
        "results": [_result(raw, http) for raw, http in rows],
        "rounds": [[_result(raw, http) for raw, http in pairs] for pairs in rounds],
    }


def _result(raw: Measurement, http: Measurement) -> dict[str, Any]:
    return {
        "operation": http.operation,
        "overhead_percent": overhead_percent(http, raw),
        "server_cpu_overhead_percent": server_cpu_overhead_percent(http, raw),
        "client_floor_percent": client_floor_percent(http, raw),
        "hash_cpu_ms": hash_cpu_ms(raw),
        "server_cpu_ms": server_cpu_ms(http),
        "http": asdict(http),
        "raw": asdict(raw),
    }


def overhead_percent(http: Measurement, raw: Measurement) -> float:
    return (1 - http.rate / raw.rate) * 100


def hash_cpu_ms(raw: Measurement) -> float:
    """CPU of one raw argon2id call: the raw phase runs in this process, hence `client`."""
    return raw.cpu_ms_per_op["client"]


def server_cpu_ms(http: Measurement) -> float:
    cpu = http.cpu_ms_per_op
    return cpu["server_loop"] + cpu["server_threads"] + cpu["postgres"]


def server_cpu_overhead_percent(http: Measurement, raw: Measurement) -> float:
    return (1 - hash_cpu_ms(raw) / server_cpu_ms(http)) * 100


def client_floor_percent(http: Measurement, raw: Measurement) -> float:
    hashing = hash_cpu_ms(raw)
    return (1 - hashing / (hashing + http.cpu_ms_per_op["client"])) * 100


# -- reporting -------------------------------------------------------------------------------


def machine_facts(opts: Options) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "argon2_cffi": package_version("argon2-cffi"),
        "httpx": package_version("httpx"),
        "uvicorn": package_version("uvicorn"),
        "sqlalchemy": package_version("sqlalchemy"),
        "identa": package_version("identa"),
    }
    if opts.database == "postgresql":
        facts["database"] = f"PostgreSQL {postgres_version(opts.pg_admin_url)}"
    else:
        facts["database"] = f"SQLite {sqlite3.sqlite_version} (WAL)"
    return facts


def print_header(facts: dict[str, Any], opts: Options) -> None:
    c = opts.cost
    print(
        f"machine:  {facts['cores']} cores ({facts['cpu']}), {facts['os']}\n"
        f"software: Python {facts['python']}, identa {facts['identa']}, "
        f"argon2-cffi {facts['argon2_cffi']}, uvicorn {facts['uvicorn']}, "
        f"SQLAlchemy {facts['sqlalchemy']}, httpx {facts['httpx']}\n"
        f"database: {facts['database']}\n"
        f"argon2id: m={c.memory_cost_kib} KiB, t={c.time_cost}, p={c.parallelism}\n"
        f"load:     concurrency {opts.concurrency} (HTTP clients = raw hashing threads), "
        f"{opts.seconds:g} s per phase after {opts.warmup:g} s of warm-up, "
        f"{opts.rounds} round{'s' if opts.rounds > 1 else ''}",
        flush=True,
    )


def print_round(number: int, total: int, pairs: list[Pair]) -> None:
    parts = [
        f"{http.operation} {http.rate:.1f}/s vs {raw.rate:.1f}/s "
        f"({overhead_percent(http, raw):.0f}%)"
        for raw, http in pairs
    ]
    noise = max(max(m.other_processes_cores, m.stolen_cores) for pair in pairs for m in pair)
    print(f"round {number}/{total}: " + ", ".join(parts) + f"; noise up to {noise:.2f} core")


def print_results(rows: list[Pair], rounds: int = 1) -> None:
    print()
    if rounds > 1:
        print(f"median of {rounds} rounds (each figure from the round with the median rate):")
    print(
        f"{'operation':<10}{'HTTP/s':>9}{'raw/s':>9}{'overhead':>10}"
        f"{'HTTP p50':>10}{'HTTP p95':>10}{'raw p50':>9}{'raw p95':>9}{'n HTTP':>8}"
    )
    for raw, http in rows:
        print(
            f"{http.operation:<10}{http.rate:>9.1f}{raw.rate:>9.1f}"
            f"{overhead_percent(http, raw):>9.1f}%"
            f"{http.p50_ms:>8.1f}ms{http.p95_ms:>8.1f}ms{raw.p50_ms:>7.1f}ms{raw.p95_ms:>7.1f}ms"
            f"{http.count:>8}"
        )
    print(
        "\nCPU ms per operation, from /proc: hash = one raw argon2id call; srv loop = the server's"
        "\nevent-loop thread; srv thr = its other threads (argon2id, database driver); server ="
        "\nsrv loop + srv thr + postgres; client = this process. CPU overhead = 1 - hash/server:"
        "\nwhat the server alone adds. Client floor = 1 - hash/(hash + client): the overhead an"
        "\ninfinitely fast server would still show, as the client shares the cores. Loop cap ="
        "\n1000/srv loop: the most one event loop can serve, whatever the cores."
    )
    print(
        f"{'operation':<10}{'hash':>7}{'srv loop':>9}{'srv thr':>8}{'postgres':>9}{'server':>8}"
        f"{'client':>8}{'CPU overhead':>13}{'client floor':>13}{'loop cap':>10}"
    )
    for raw, http in rows:
        cpu = http.cpu_ms_per_op
        print(
            f"{http.operation:<10}{hash_cpu_ms(raw):>7.1f}{cpu['server_loop']:>9.1f}"
            f"{cpu['server_threads']:>8.1f}{cpu['postgres']:>9.1f}{server_cpu_ms(http):>8.1f}"
            f"{cpu['client']:>8.1f}{server_cpu_overhead_percent(http, raw):>12.1f}%"
            f"{client_floor_percent(http, raw):>12.1f}%{1000 / cpu['server_loop']:>8.1f}/s"
        )
    print(
        "noise, cores used by other processes / stolen by the hypervisor: "
        + ", ".join(
            f"{m.kind} {m.operation} {m.other_processes_cores:.2f}/{m.stolen_cores:.2f}"
            for pair in rows
            for m in pair
        )
    )
    noisy = [m for pair in rows for m in pair if m.noisy]
    if noisy:
        print(
            "warning: the machine was busy during "
            + ", ".join(f"{m.kind} {m.operation}" for m in noisy)
            + ": the figures are skewed, run again on a quiet machine"
        )


def save(result: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = result["options"]
    path = RESULTS_DIR / (
        f"password_auth-{options['database']}-c{options['concurrency']}-{stamp}.json"
    )
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="HTTP clients and raw hashing threads (default: cores + 1)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up time per phase")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat all phases; report the median round"
    )
    parser.add_argument("--memory-cost-kib", type=int, default=19456)
    parser.add_argument("--time-cost", type=int, default=2)
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument(
        "--pg-admin-url",
        default=DEFAULT_PG_ADMIN_URL,
        help="PostgreSQL URL used to create and drop the benchmark's database",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="before each phase, wait up to this long for other processes to go idle",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile the server with py-spy during the HTTP phases (it costs some CPU)",
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.rounds < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("concurrency, rounds and seconds must be positive")
    return Options(
        database=args.database,
        concurrency=args.concurrency,
        seconds=args.seconds,
        warmup=args.warmup,
        cost=HashCost(args.memory_cost_kib, args.time_cost, args.parallelism),
        pg_admin_url=args.pg_admin_url,
        save=not args.no_save,
        quiet_wait=args.quiet_wait,
        rounds=args.rounds,
        py_spy_dir=args.py_spy,
    )


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    try:
        result = run(opts)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if opts.py_spy_dir is not None:
        print(f"\npy-spy profiles (rates above are lowered by profiling) in {opts.py_spy_dir}")
    if opts.save:
        print(f"\nresults written to {save(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
