"""`identa serve` killed with SIGKILL in the middle of a burst of logins: after a restart, every
login it committed reaches the RabbitMQ consumer."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import select, text

from identa.db.engine import create_engine
from identa.events.models import LogEvent, OutboxMessage
from identa.events.service import log_event_to_dict
from tests.conftest import POSTGRES_ADMIN_URL, database_kind, with_database
from tests.factories import GOOD_PASSWORD
from tests.streams.brokers import check_deliveries, drain_queue
from tests.streams.conftest import wait_until

CONNECTION = "Username-Password-Authentication"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log_path: Path
    database_url: str
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def command(self) -> list[str]:
        return [str(Path(sys.executable).with_name("identa"))]

    def init(self) -> None:
        import json

        done = subprocess.run(
            [*self.command(), "init", "--json"], env=self.env, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        self.report = json.loads(done.stdout.decode().strip().splitlines()[-1])

    async def start(self) -> None:
        self.log = open(self.log_path, "ab")  # noqa: SIM115, ASYNC230 - closed in stop()
        self.process = subprocess.Popen(  # noqa: ASYNC220 - starts at once, not waited for
            [*self.command(), "serve"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

        async def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, self.tail()
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(ready, 60, "`identa serve` to be ready", every=0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self.log is not None:
            self.log.close()
            self.log = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log is not None:
            self.log.close()
            self.log = None

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


async def _admin(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def server(tmp_path: Path, migrated_database: str) -> AsyncIterator[Server]:
    """An `identa serve` subprocess on its own database (SQLite file or PostgreSQL database)."""
    name = None
    if database_kind() == "postgresql":
        name = f"identa_crash_{uuid.uuid4().hex[:10]}"
        await _admin(f'CREATE DATABASE "{name}"')
        database_url = with_database(POSTGRES_ADMIN_URL, name)
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'identa.db'}"
    url = f"http://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTA_")}
    env.update(
        IDENTA_DATA_DIR=str(tmp_path / "data"),
        IDENTA_DATABASE_URL=database_url,
        IDENTA_PUBLIC_URL=url,
        IDENTA_MAIL__PROVIDER="none",
        IDENTA_LOG_LEVEL="WARNING",
        IDENTA_PASSWORD_HASH__MEMORY_COST_KIB="256",
        IDENTA_PASSWORD_HASH__TIME_COST="1",
        IDENTA_STREAMS__POLL_INTERVAL_SECONDS="0.05",
        IDENTA_STREAMS__LEASE_SECONDS="3",
        IDENTA_STREAMS__GAP_GRACE_SECONDS="0.5",
        IDENTA_MANAGEMENT_RATE_LIMIT__REQUESTS="0",
    )
    running = Server(url, env, tmp_path / "server.log", database_url)
    await asyncio.to_thread(running.init)
    try:
        yield running
    finally:
        running.stop()
        if name is not None:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def queue_name(rabbitmq_url: str) -> Iterator[str]:
    yield f"identa-crash-{uuid.uuid4().hex[:10]}"


async def _setup(
    client: httpx.AsyncClient, server: Server, rabbitmq_url: str, queue: str
) -> dict[str, str]:
    token = (
        await client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": server.report["client_id"],
                "client_secret": server.report["client_secret"],
                "audience": f"{server.url}/api/v2/",
            },
        )
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    app = (
        await client.post(
            "/api/v2/clients",
            json={"name": "Crash shop", "app_type": "regular_web", "grant_types": ["password"]},
        )
    ).json()
    connections = (await client.get("/api/v2/connections", params={"name": CONNECTION})).json()
    connection = connections[0]
    enabled = [*connection.get("enabled_clients", []), app["client_id"]]
    patched = await client.patch(
        f"/api/v2/connections/{connection['id']}", json={"enabled_clients": enabled}
    )
    assert patched.status_code == 200, patched.text
    for index in range(10):
        made = await client.post(
            "/api/v2/users",
            json={
                "connection": CONNECTION,
                "email": f"k{index}@example.com",
                "password": GOOD_PASSWORD,
            },
        )
        assert made.status_code == 201, made.text
    stream = await client.post(
        "/api/v2/log-streams",
        json={
            "name": "crash",
            "type": "rabbitmq",
            "sink": {"rabbitmqUrl": rabbitmq_url, "rabbitmqRoutingKey": queue},
            "filters": [{"type": "category", "name": "auth.login.success"}],
        },
    )
    assert stream.status_code == 201, stream.text
    return {
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "stream": stream.json()["id"],
    }


async def test_a_server_killed_mid_burst_delivers_every_committed_login_after_restart(
    server: Server, rabbitmq_url: str, queue_name: str
) -> None:
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        app = await _setup(client, server, rabbitmq_url, queue_name)
        answered = 0
        gate = asyncio.Semaphore(4)

        async def login(index: int) -> None:
            nonlocal answered
            async with gate, httpx.AsyncClient(base_url=server.url, timeout=30) as own:
                try:
                    response = await own.post(
                        "/oauth/token",
                        json={
                            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
                            "client_id": app["client_id"],
                            "client_secret": app["client_secret"],
                            "username": f"k{index % 10}@example.com",
                            "password": GOOD_PASSWORD,
                            "realm": CONNECTION,
                        },
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    answered += 1

        async def killer() -> None:
            while answered < 100:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            server.kill()

        await asyncio.gather(killer(), *(login(i) for i in range(300)))
        assert 100 <= answered < 300, f"{answered} logins answered: the kill came too late"

        await server.start()

        async def caught_up() -> bool:
            response = await client.get(f"/api/v2/log-streams/{app['stream']}")
            return response.status_code == 200 and response.json()["delivery"]["lag"] == 0

        await wait_until(caught_up, 90, "the restarted server to deliver the backlog", every=0.2)

    engine = create_engine(server.database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(LogEvent).where(LogEvent.type == "s"))).all()
            order = dict(
                (await connection.execute(select(OutboxMessage.event_id, OutboxMessage.id))).all()
            )
    finally:
        await engine.dispose()
    logged = {row.log_id: log_event_to_dict(LogEvent(**row._mapping)) for row in rows}
    assert len(logged) >= answered  # a login may commit and die before it answers
    messages = await drain_queue(rabbitmq_url, queue_name, expected=len(logged))
    check_deliveries([m.body for m in messages], logged, order)
