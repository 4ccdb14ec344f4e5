"""Discovery, JWKS, client_credentials and refresh_token requests per second, with p50/p99.

Starts its own `identa serve` on a free port (temporary data directory; on PostgreSQL a fresh
database, dropped afterwards), provisions an application allowed the password and
refresh_token grants and a user for it, then measures each phase for a fixed time after a
warm-up, with a load generator in another process (wrk by default, else N httpx clients in this
process):

1. GET /.well-known/openid-configuration;
2. GET /.well-known/jwks.json;
3. POST /oauth/token, grant_type=client_credentials, with the bootstrap machine-to-machine
   client and the Management API audience (one RS256 access token per request);
4. POST /oauth/token, grant_type=refresh_token, scope "openid offline_access": every connection
   (or worker) chains its own refresh token, as rotation invalidates each one once used (an
   access token, an ID token and a new refresh token per request).

The rates sit next to the targets (1,000 grants/s, 5,000 req/s for discovery and JWKS). The CPU
time of the server's event-loop thread, its other threads, PostgreSQL and the load generator is
read from /proc around every phase and shown per request; CPU used by other processes or stolen
by the hypervisor is reported too, and each phase waits for a quiet machine first.

    .venv/bin/python bench/bench_oidc.py --database sqlite
    .venv/bin/python bench/bench_oidc.py --database postgresql --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
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
    database_name,
    identa_server,
    no_database,
    percentile_ms,
    postgres_database,
    postgres_version,
    start_py_spy,
    wait_for_quiet,
)

PASSWORD = "Bench-Passw0rd!"
CONNECTION = "Username-Password-Authentication"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PROVISION_FLAG = "--provision-only"
JSON_MARKER = "BENCH-JSON "
GRANT_TARGET = 1000.0
METADATA_TARGET = 5000.0
REFRESH_TOKEN_FIELD = re.compile(r'"refresh_token"\s*:\s*"([^"]+)"')


@dataclass(frozen=True)
class Phase:
    name: str
    target: float  # requests per second
    method: str
    path: str


PHASES = (
    Phase("discovery", METADATA_TARGET, "GET", "/.well-known/openid-configuration"),
    Phase("jwks", METADATA_TARGET, "GET", "/.well-known/jwks.json"),
    Phase("client_credentials", GRANT_TARGET, "POST", "/oauth/token"),
    Phase("refresh_token", GRANT_TARGET, "POST", "/oauth/token"),
)
PHASE_NAMES = tuple(phase.name for phase in PHASES)


# -- provisioning, in a subprocess that sees the server's settings ---------------------------


@dataclass(frozen=True)
class Credentials:
    """The machine-to-machine client (from `identa init`) and the refresh_token application."""

    m2m_client_id: str
    m2m_client_secret: str
    audience: str
    app_client_id: str
    app_client_secret: str
    username: str


async def _provision() -> dict[str, str]:
    """An application with the password and refresh_token grants, and a user it can log in.

    Runs with the server's environment, through the server's own services.
    """
    from identa.app import create_container
    from identa.cli.runtime import run_create_user
    from identa.settings import Settings

    settings = Settings()
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            db = uow.session
            created = await container.clients.create(
                db,
                name="bench refresh_token",
                app_type="regular_web",
                grant_types=["password", "refresh_token"],
            )
            connection = await container.connections.by_name(db, CONNECTION)
            await container.connections.enable_for(db, connection, created.client.client_id)
            await uow.commit()
        client_id, client_secret = created.client.client_id, created.client_secret
    finally:
        await container.close()
    assert client_secret is not None
    username = f"bench-{secrets.token_hex(4)}@example.com"
    await run_create_user(
        settings,
        email=username,
        password=PASSWORD,
        connection=CONNECTION,
        username=None,
        name=None,
        verified=True,
    )
    return {"client_id": client_id, "client_secret": client_secret, "username": username}


def provision(server: Server) -> Credentials:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), PROVISION_FLAG],
        env=server.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"provisioning failed:\n{done.stderr[-3000:]}")
    app = json.loads(done.stdout.strip().splitlines()[-1])
    return Credentials(
        m2m_client_id=server.init["client_id"],
        m2m_client_secret=server.init["client_secret"],
        audience=server.init["audience"],
        app_client_id=app["client_id"],
        app_client_secret=app["client_secret"],
        username=app["username"],
    )


def client_credentials_body(creds: Credentials) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": creds.m2m_client_id,
        "client_secret": creds.m2m_client_secret,
        "audience": creds.audience,
    }


def refresh_body(creds: Credentials, refresh_token: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "client_id": creds.app_client_id,
        "client_secret": creds.app_client_secret,
        "refresh_token": refresh_token,
    }


async def mint_refresh_tokens(server: Server, creds: Credentials, count: int) -> list[str]:
    """`count` refresh tokens, each the head of its own family, from password grants."""
    body = {
        "grant_type": "password",
        "client_id": creds.app_client_id,
        "client_secret": creds.app_client_secret,
        "username": creds.username,
        "password": PASSWORD,
        "scope": "openid offline_access",
    }
    limits = httpx.Limits(max_connections=4)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120.0, limits=limits) as client:

        async def one() -> str:
            response = await client.post("/oauth/token", json=body)
            token = response.json().get("refresh_token") if response.status_code == 200 else None
            if not isinstance(token, str):
                raise BenchError(f"password grant answered {response.status_code}: {response.text}")
            return token

        return list(await asyncio.gather(*(one() for _ in range(count))))


def check_endpoints(server: Server, creds: Credentials) -> dict[str, str]:
    """One request of every kind, to fail early and to show what is being measured."""
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        for phase in PHASES[:2]:
            response = client.get(phase.path)
            if response.status_code != 200:
                raise BenchError(f"{phase.path} answered {response.status_code}")
        keys = client.get(PHASES[1].path).json()["keys"]
        cc = client.post("/oauth/token", json=client_credentials_body(creds))
        if cc.status_code != 200:
            raise BenchError(f"client_credentials answered {cc.status_code}: {cc.text[:300]}")
    token = asyncio.run(mint_refresh_tokens(server, creds, 1))[0]
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
        refreshed = client.post("/oauth/token", json=refresh_body(creds, token))
        if refreshed.status_code != 200:
            raise BenchError(f"refresh_token answered {refreshed.status_code}: {refreshed.text}")
        again = client.post("/oauth/token", json=refresh_body(creds, token))
        if again.status_code == 200:
            raise BenchError("a rotated refresh token was accepted again: no rotation?")
    refresh = refreshed.json()
    return {
        "jwks_keys": ", ".join(f"{k.get('alg')} {k.get('kty')}" for k in keys),
        "client_credentials_response": ", ".join(sorted(cc.json())),
        "refresh_token_response": ", ".join(sorted(refresh)),
    }


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Measurement:
    phase: str
    load: str  # "wrk" or "python"
    concurrency: int
    count: int
    errors: int
    seconds: float
    rate: float
    target: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    server_cores: float = 0.0
    loop_cores: float = 0.0
    other_processes_cores: float = 0.0
    stolen_cores: float = 0.0
    load_detail: dict[str, Any] = field(default_factory=dict)

    @property
    def noisy(self) -> bool:
        return max(self.other_processes_cores, self.stolen_cores) > NOISE_WARNING_CORES

    @property
    def server_cpu_ms(self) -> float:
        cpu = self.cpu_ms_per_request
        return cpu["server_loop"] + cpu["server_threads"] + cpu["postgres"]


def _measurement(
    phase: Phase,
    load: str,
    concurrency: int,
    outcome: LoadOutcome,
    usage: CpuUsage,
) -> Measurement:
    count = outcome.count
    per = 1000 / count if count else float("nan")
    # wrk times its own run; this process's clock adds wrk's start and exit, ~10 ms.
    seconds = outcome.seconds or usage.wall
    return Measurement(
        phase=phase.name,
        load=load,
        concurrency=concurrency,
        count=count,
        errors=outcome.errors,
        seconds=seconds,
        rate=count / seconds,
        target=phase.target,
        p50_ms=outcome.p50_ms,
        p99_ms=outcome.p99_ms,
        cpu_ms_per_request={
            "server_loop": usage.server_loop * per,
            # Each thread's time is read apart and rounded to a tick: never below zero.
            "server_threads": max(0.0, usage.server_threads) * per,
            "postgres": usage.postgres * per,
            "client": (usage.client + usage.children) * per,
        },
        server_cores=(usage.server_loop + usage.server_threads + usage.postgres) / usage.wall,
        loop_cores=usage.server_loop / usage.wall,
        other_processes_cores=usage.others / usage.wall,
        stolen_cores=usage.steal / usage.wall,
        load_detail=outcome.detail,
    )


@dataclass
class LoadOutcome:
    count: int
    errors: int
    p50_ms: float
    p99_ms: float
    seconds: float = 0.0  # 0: use the wall time of the CPU samples
    detail: dict[str, Any] = field(default_factory=dict)


# -- load generator 1: wrk -------------------------------------------------------------------

WRK_REPORT = """
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   if thread_setup then thread_setup(thread, #threads) end
end

function done(summary, latency, requests)
   local failed, starved = 0, 0
   for _, thread in ipairs(threads) do
      failed = failed + (thread:get("failed") or 0)
      starved = starved + (thread:get("starved") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      '%s{"requests": %d, "duration_us": %d, "p50_us": %.1f, "p99_us": %.1f, '
      .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"failed": %d, "starved": %d}\\n',
      "%MARKER%", summary.requests, summary.duration, latency:percentile(50),
      latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout, failed, starved))
end
"""

WRK_POST = """
wrk.method = "POST"
wrk.body = [==[%BODY%]==]
wrk.headers["Content-Type"] = "application/json"
"""

# Every connection sends one request at a time; a response's new refresh token goes back to
# the thread's pool, from which the next request takes one. Each token is sent exactly once.
WRK_REFRESH = """
local head = [==[%HEAD%]==]
local pools = {%POOLS%}
local headers = {["Content-Type"] = "application/json"}
failed, starved = 0, 0

function thread_setup(thread, number)
   thread:set("pool", pools[number])
end

function request()
   local token = table.remove(pool)
   if token == nil then
      starved = starved + 1
      token = "starved"
   end
   return wrk.format("POST", nil, headers, head .. token .. '"}')
end

function response(status, hdrs, body)
   local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
   if status == 200 and token then
      table.insert(pool, token)
   else
      failed = failed + 1
   end
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(phase: Phase, creds: Credentials, pools: list[list[str]]) -> str:
    script = ""
    if phase.name == "client_credentials":
        script += WRK_POST.replace("%BODY%", json.dumps(client_credentials_body(creds)))
    elif phase.name == "refresh_token":
        # The JSON body up to the refresh token's value; the token and '"}' complete it.
        head = json.dumps(refresh_body(creds, "TOKEN"))
        head = head[: head.index("TOKEN")]
        lua_pools = ", ".join("{" + ", ".join(map(_lua_string, pool)) + "}" for pool in pools)
        script += WRK_REFRESH.replace("%HEAD%", head).replace("%POOLS%", lua_pools)
    return script + WRK_REPORT.replace("%MARKER%", JSON_MARKER)


def wrk_layout(opts: Options) -> tuple[int, int]:
    """(threads, connections): wrk wants the connections to be a multiple of the threads."""
    threads = min(opts.wrk_threads, opts.concurrency)
    return threads, opts.concurrency - opts.concurrency % threads


def wrk_tokens_needed(opts: Options) -> int:
    """One token per connection, and one spare per thread: before the run, wrk calls the first
    thread's request() once to check what it returns, and that request is never sent."""
    threads, connections = wrk_layout(opts)
    return connections + threads


def _split(tokens: list[str], threads: int) -> list[list[str]]:
    """An equal share of the tokens for each wrk thread (each has as many connections)."""
    per = len(tokens) // threads
    return [tokens[i * per : (i + 1) * per] for i in range(threads)]


def run_wrk(
    opts: Options,
    server: Server,
    phase: Phase,
    creds: Credentials,
    seconds: float,
    tokens: list[str],
) -> LoadOutcome:
    """One wrk run; `tokens` holds one fresh refresh token per connection for refresh_token."""
    threads, connections = wrk_layout(opts)
    pools = _split(tokens, threads) if phase.name == "refresh_token" else []
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-oidc-") as script:
        script.write(wrk_script(phase, creds, pools))
        script.flush()
        done = subprocess.run(
            [
                opts.wrk,
                "--threads",
                str(threads),
                "--connections",
                str(connections),
                "--duration",
                f"{seconds:g}s",
                "--timeout",
                "30s",
                "--script",
                script.name,
                server.base_url + phase.path,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith(JSON_MARKER)]
    if not lines:
        raise BenchError(f"wrk printed no report:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    report = json.loads(lines[-1][len(JSON_MARKER) :])
    # A refresh that fails (or finds no token left to send) is also a failed chain.
    refused = report["failed"] if phase.name == "refresh_token" else report["status"]
    errors = refused + sum(report[key] for key in ("connect", "read", "write", "timeout"))
    return LoadOutcome(
        count=report["requests"],
        errors=errors,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        seconds=report["duration_us"] / 1e6,
        detail={"wrk_threads": threads, "connections": connections, **report},
    )


# -- load generator 2: httpx clients in this process -----------------------------------------

Op = Callable[[httpx.AsyncClient, int], Awaitable[bool]]


async def run_workers(op: Op, clients: list[httpx.AsyncClient], seconds: float) -> LoadOutcome:
    """One loop per client until the deadline; a request that fails counts as an error."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0

    async def loop(client: httpx.AsyncClient, worker: int) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                ok = await op(client, worker)
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    await asyncio.gather(*(loop(client, i) for i, client in enumerate(clients)))
    return LoadOutcome(
        count=len(latencies),
        errors=errors,
        p50_ms=percentile_ms(latencies, 50),
        p99_ms=percentile_ms(latencies, 99),
    )


def python_op(phase: Phase, creds: Credentials, chains: list[str]) -> Op:
    if phase.method == "GET":

        async def get(client: httpx.AsyncClient, _worker: int) -> bool:
            return (await client.get(phase.path)).status_code == 200

        return get
    if phase.name == "client_credentials":
        body = client_credentials_body(creds)

        async def client_credentials(client: httpx.AsyncClient, _worker: int) -> bool:
            response = await client.post(phase.path, json=body)
            return response.status_code == 200 and b'"access_token"' in response.content

        return client_credentials

    async def refresh(client: httpx.AsyncClient, worker: int) -> bool:
        response = await client.post(phase.path, json=refresh_body(creds, chains[worker]))
        found = REFRESH_TOKEN_FIELD.search(response.text)
        if response.status_code != 200 or found is None:
            return False
        chains[worker] = found.group(1)
        return True

    return refresh


# -- one phase -------------------------------------------------------------------------------


@dataclass
class Options:
    database: str
    concurrency: int
    seconds: float
    warmup: float
    load: str
    wrk: str
    wrk_threads: int
    phases: tuple[str, ...]
    pg_admin_url: str
    save: bool
    quiet_wait: float = 60.0
    rounds: int = 1
    py_spy_dir: Path | None = None
    py_spy_all: bool = False


def start_profiler(opts: Options, server: Server, phase: Phase) -> subprocess.Popen[bytes] | None:
    """py-spy on the server for the measured time, when asked for; see _server.start_py_spy."""
    if opts.py_spy_dir is None:
        return None
    out = opts.py_spy_dir / f"{opts.database}-{phase.name}.txt"
    return start_py_spy(server.pid, out, opts.seconds, gil_only=not opts.py_spy_all)


@dataclass(frozen=True)
class Target:
    """The server under test, the credentials to call it with and, on PostgreSQL, its
    database (the CPU of backends serving other databases counts as noise, not as ours)."""

    server: Server
    creds: Credentials
    postgres_db: str | None = None

    def sample(self) -> CpuSample:
        pg = self.postgres_db is not None
        return CpuSample.take(self.server.pid, pg, self.postgres_db)

    def wait_for_quiet(self, opts: Options) -> None:
        pg = self.postgres_db is not None
        wait_for_quiet(self.server.pid, pg, opts.quiet_wait, self.postgres_db)


def measure(opts: Options, target: Target, phase: Phase) -> Measurement:
    server, creds = target.server, target.creds
    if opts.load == "wrk":
        # Fresh chains for each run: wrk drops the requests in flight when its time is up, and
        # with them the refresh tokens they would have returned.
        warm_tokens: list[str] = []
        tokens: list[str] = []
        if phase.name == "refresh_token":
            needed = wrk_tokens_needed(opts)
            minted = asyncio.run(mint_refresh_tokens(server, creds, 2 * needed))
            warm_tokens, tokens = minted[:needed], minted[needed:]
        target.wait_for_quiet(opts)
        if opts.warmup > 0:
            run_wrk(opts, server, phase, creds, opts.warmup, warm_tokens)
        profiler = start_profiler(opts, server, phase)
        try:
            before = target.sample()
            outcome = run_wrk(opts, server, phase, creds, opts.seconds, tokens)
            usage = CpuUsage.between(before, target.sample())
        finally:
            if profiler is not None:
                profiler.wait(timeout=opts.seconds + 60)
        return _measurement(phase, "wrk", opts.concurrency, outcome, usage)

    # Each worker chains its own refresh token through the warm-up and the measured time.
    chains: list[str] = []
    if phase.name == "refresh_token":
        chains = asyncio.run(mint_refresh_tokens(server, creds, opts.concurrency))
    target.wait_for_quiet(opts)

    async def go() -> Measurement:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        clients = [
            httpx.AsyncClient(base_url=server.base_url, timeout=30.0, limits=limits)
            for _ in range(opts.concurrency)
        ]
        op = python_op(phase, creds, chains)
        profiler = None
        try:
            if opts.warmup > 0:
                await run_workers(op, clients, opts.warmup)
            profiler = start_profiler(opts, server, phase)
            before = target.sample()
            outcome = await run_workers(op, clients, opts.seconds)
            usage = CpuUsage.between(before, target.sample())
        finally:
            for client in clients:
                await client.aclose()
            if profiler is not None:
                profiler.wait(timeout=opts.seconds + 60)
        return _measurement(phase, "python", opts.concurrency, outcome, usage)

    return asyncio.run(go())


def run_round(opts: Options, target: Target) -> list[Measurement]:
    results = []
    for phase in PHASES:
        if phase.name not in opts.phases:
            continue
        print(f"  {phase.name} ...", flush=True)
        results.append(measure(opts, target, phase))
        target.server.check_alive()
    return results


def _median(measurements: list[Measurement]) -> Measurement:
    ordered = sorted(measurements, key=lambda m: m.rate)
    return ordered[(len(ordered) - 1) // 2]


def run(opts: Options) -> dict[str, Any]:
    facts = machine_facts(opts)
    print_header(facts, opts)
    if opts.database == "postgresql":
        database: Any = postgres_database(opts.pg_admin_url)
    else:
        database = no_database()
    rounds: list[list[Measurement]] = []
    with database as database_url, identa_server({}, database_url) as server:
        creds = provision(server)
        target = Target(server, creds, database_name(database_url))
        checked = check_endpoints(server, creds)
        print(
            f"checked:  JWKS keys: {checked['jwks_keys']}; client_credentials returns "
            f"{checked['client_credentials_response']}; refresh_token returns "
            f"{checked['refresh_token_response']}, and refuses a rotated token",
            flush=True,
        )
        for number in range(1, opts.rounds + 1):
            if opts.rounds > 1:
                print(f"round {number}/{opts.rounds}", flush=True)
            rounds.append(run_round(opts, target))
            if opts.rounds > 1:
                print_round(rounds[-1])
    rows = [_median([r[i] for r in rounds]) for i in range(len(rounds[0]))]
    print_results(rows, opts.rounds)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": facts,
        "options": {
            "database": opts.database,
            "load": opts.load,
            "concurrency": opts.concurrency,
            "wrk_threads": opts.wrk_threads if opts.load == "wrk" else None,
            "seconds": opts.seconds,
            "warmup_seconds": opts.warmup,
            "rounds": opts.rounds,
            "profiled": opts.py_spy_dir is not None,
            "profiled_gil_only": opts.py_spy_dir is not None and not opts.py_spy_all,
        },
        "checked": checked,
        "results": [asdict(m) for m in rows],
        "rounds": [[asdict(m) for m in measurements] for measurements in rounds],
    }


# -- reporting -------------------------------------------------------------------------------


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" [")[0] if first else "wrk"


def _source_revision() -> str:
    """The commit the server runs, `+changes` when src/ differs from it ("" outside git)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--", "src"):
        commit += "+changes"
    return commit


def machine_facts(opts: Options) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "identa": package_version("identa"),
        "revision": _source_revision(),
        "uvicorn": package_version("uvicorn"),
        "uvloop": package_version("uvloop"),
        "sqlalchemy": package_version("sqlalchemy"),
        "joserfc": package_version("joserfc"),
        "cryptography": package_version("cryptography"),
        "load_generator": _wrk_version(opts.wrk)
        if opts.load == "wrk"
        else "httpx " + package_version("httpx"),
    }
    if opts.database == "postgresql":
        facts["database"] = f"PostgreSQL {postgres_version(opts.pg_admin_url)}"
    else:
        facts["database"] = f"SQLite {sqlite3.sqlite_version} (WAL)"
    return facts


def print_header(facts: dict[str, Any], opts: Options) -> None:
    threads = f", {opts.wrk_threads} thread(s)" if opts.load == "wrk" else " clients"
    print(
        f"machine:  {facts['cores']} cores ({facts['cpu']}), {facts['os']}\n"
        f"software: Python {facts['python']}, identa {facts['identa']} "
        f"({facts['revision'] or 'no git'}), "
        f"uvicorn {facts['uvicorn']} + uvloop {facts['uvloop']}, "
        f"SQLAlchemy {facts['sqlalchemy']}, joserfc {facts['joserfc']}, "
        f"cryptography {facts['cryptography']}\n"
        f"database: {facts['database']}\n"
        f"load:     {facts['load_generator']}, {opts.concurrency} connections{threads}, "
        f"{opts.seconds:g} s per phase after {opts.warmup:g} s of warm-up, "
        f"{opts.rounds} round{'s' if opts.rounds > 1 else ''}",
        flush=True,
    )


def print_round(measurements: list[Measurement]) -> None:
    parts = [f"{m.phase} {m.rate:,.0f}/s" for m in measurements]
    noise = max(max(m.other_processes_cores, m.stolen_cores) for m in measurements)
    print("  " + ", ".join(parts) + f"; noise up to {noise:.2f} core", flush=True)


def _loop_cap(loop_ms: float) -> float:
    return 1000 / loop_ms if loop_ms > 0 else float("inf")


def print_results(rows: list[Measurement], rounds: int = 1) -> None:
    print()
    if rounds > 1:
        print(f"median of {rounds} rounds (each figure from the round with the median rate):")
    print(
        f"{'phase':<19}{'req/s':>8}{'target':>8}{'of target':>10}"
        f"{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}"
    )
    for m in rows:
        print(
            f"{m.phase:<19}{m.rate:>8,.0f}{m.target:>8,.0f}{m.rate / m.target:>9.0%} "
            f"{m.p50_ms:>10.2f}{m.p99_ms:>10.2f}{m.count:>10,}{m.errors:>8}"
        )
    print(
        "\nCPU ms per request, from /proc: srv loop = the server's event-loop thread; srv thr ="
        "\nits other threads (SQLite's, thread pools); server = srv loop + srv thr + postgres;"
        "\nclient = the load generator. Loop cap = 1000/srv loop: the most one event loop can"
        "\nserve, whatever the cores. Cores = CPU seconds per second used by the server and by"
        "\nits event loop alone (1.00 = the loop is saturated)."
    )
    print(
        f"{'phase':<19}{'srv loop':>9}{'srv thr':>8}{'postgres':>9}{'server':>8}{'client':>8}"
        f"{'loop cap':>10}{'server cores':>13}{'loop cores':>11}"
    )
    for m in rows:
        cpu = m.cpu_ms_per_request
        print(
            f"{m.phase:<19}{cpu['server_loop']:>9.3f}{cpu['server_threads']:>8.3f}"
            f"{cpu['postgres']:>9.3f}{m.server_cpu_ms:>8.3f}{cpu['client']:>8.3f}"
            f"{_loop_cap(cpu['server_loop']):>8,.0f}/s{m.server_cores:>13.2f}{m.loop_cores:>11.2f}"
        )
    print(
        "noise, cores used by other processes / stolen by the hypervisor: "
        + ", ".join(f"{m.phase} {m.other_processes_cores:.2f}/{m.stolen_cores:.2f}" for m in rows)
    )
    noisy = [m.phase for m in rows if m.noisy]
    if noisy:
        print(
            "warning: the machine was busy during "
            + ", ".join(noisy)
            + ": the figures are skewed, run again on a quiet machine"
        )
    failed = [m.phase for m in rows if m.errors]
    if failed:
        print("warning: requests failed during " + ", ".join(failed))
    empty = [m.phase for m in rows if not m.count]
    if empty:
        print("warning: no request completed during " + ", ".join(empty) + ": run longer")


def save(result: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = result["options"]
    path = RESULTS_DIR / (
        f"oidc-{options['database']}-{options['load']}-c{options['concurrency']}-{stamp}.json"
    )
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="connections kept busy, each one request at a time (default: 16)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up time per phase")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat all phases; report the median round"
    )
    parser.add_argument(
        "--load",
        choices=("wrk", "python"),
        help="load generator: wrk (the default when installed) or httpx clients in this process",
    )
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default: 1)")
    parser.add_argument(
        "--phases",
        default=",".join(PHASE_NAMES),
        help=f"comma-separated subset of {','.join(PHASE_NAMES)}",
    )
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
        help="profile the server with py-spy during each measured phase (it costs some CPU); "
        "only the thread holding the GIL is sampled: Python's CPU time",
    )
    parser.add_argument(
        "--py-spy-all-threads",
        action="store_true",
        help="with --py-spy, sample every thread py-spy deems active, GIL or not",
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.rounds < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("concurrency, rounds and seconds must be positive")
    if args.wrk_threads < 1:
        parser.error("--wrk-threads must be positive")
    phases = tuple(name.strip() for name in args.phases.split(",") if name.strip())
    unknown = sorted(set(phases) - set(PHASE_NAMES))
    if unknown or not phases:
        parser.error(f"unknown phase(s) {', '.join(unknown)}; choose from {PHASE_NAMES}")
    wrk = shutil.which("wrk") or ""
    load = args.load or ("wrk" if wrk else "python")
    if load == "wrk" and not wrk:
        parser.error("wrk is not installed (apt-get install wrk), use --load python")
    if load == "wrk" and args.concurrency < args.wrk_threads:
        parser.error("--concurrency must be at least --wrk-threads")
    return Options(
        database=args.database,
        concurrency=args.concurrency,
        seconds=args.seconds,
        warmup=args.warmup,
        load=load,
        wrk=wrk,
        wrk_threads=args.wrk_threads,
        phases=phases,
        pg_admin_url=args.pg_admin_url,
        save=not args.no_save,
        quiet_wait=args.quiet_wait,
        rounds=args.rounds,
        py_spy_dir=args.py_spy,
        py_spy_all=args.py_spy_all_threads,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == [PROVISION_FLAG]:
        print(json.dumps(asyncio.run(_provision())))
        return 0
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
