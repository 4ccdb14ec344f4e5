"""Log streams end to end: the app with a fast dispatcher, a recording HTTP endpoint, and the
machine's RabbitMQ (127.0.0.1:5672) and NATS (127.0.0.1:4222).

A test needing a broker skips when it is unreachable, or fails with IDENTA_REQUIRE_SERVICES=1.
IDENTA_TEST_RABBITMQ_URL and IDENTA_TEST_NATS_URL point elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from identa.container import Container
from identa.settings import PasswordHashSettings, Settings, StreamSettings
from tests.conftest import skip_or_fail
from tests.factories import GOOD_PASSWORD
from tests.http.conftest import api  # noqa: F401 - the Management API client fixture

RABBITMQ_URL = os.environ.get("IDENTA_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
NATS_URL = os.environ.get("IDENTA_TEST_NATS_URL", "nats://127.0.0.1:4222")
FAST_STREAMS = StreamSettings(
    poll_interval_seconds=0.05,
    batch_size=200,
    max_attempts=40,
    backoff_base_seconds=0.1,
    backoff_max_seconds=1.0,
    send_timeout_seconds=3.0,
    lease_seconds=10.0,
    gap_grace_seconds=0.5,
    trim_interval_seconds=3600,
)
CHEAP_HASH = PasswordHashSettings(memory_cost_kib=256, time_cost=1, parallelism=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"streams": FAST_STREAMS, "password_hash": CHEAP_HASH})


# -- waiting -----------------------------------------------------------------------------------


async def wait_until(
    check: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(every)


@pytest.fixture
async def dispatcher(container: Container) -> AsyncIterator[None]:
    """The container's dispatcher running as it does inside `identa serve`."""
    stop = asyncio.Event()
    task = asyncio.create_task(container.dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def create_stream(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v2/log-streams", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def delivery(client: httpx.AsyncClient, stream_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v2/log-streams/{stream_id}")
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


# -- logins ------------------------------------------------------------------------------------


async def password_app(container: Container) -> dict[str, str]:
    """An application allowed the password-realm grant on the database connection."""
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session,
            name="Stream shop",
            app_type="regular_web",
            callbacks=["https://app.example.com/cb"],
            grant_types=["password"],
        )
        connection = await container.connections.by_name(
            uow.session, "Username-Password-Authentication"
        )
        await container.connections.enable_for(uow.session, connection, made.client.client_id)
        await uow.commit()
    return {"client_id": made.client.client_id, "client_secret": made.client_secret or ""}


async def password_login(
    client: httpx.AsyncClient, app: dict[str, str], email: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": email,
            "password": GOOD_PASSWORD,
            "realm": "Username-Password-Authentication",
        },
    )


# -- an HTTP endpoint that records what it receives --------------------------------------------


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingEndpoint:
    url: str
    requests: list[Received] = field(default_factory=list)
    # The status to answer each request with, in turn; 200 once the list is used up.
    statuses: list[int] = field(default_factory=list)
    always: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def envelopes(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for request in self.accepted():
            out.extend(json.loads(line) for line in request.body.splitlines() if line.strip())
        return out

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.headers.get("x-test-status") == "200"]


@pytest.fixture
def http_endpoint() -> Iterator[RecordingEndpoint]:
    endpoint = RecordingEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with endpoint.lock:
                if endpoint.always is not None:
                    status = endpoint.always
                elif endpoint.statuses:
                    status = endpoint.statuses.pop(0)
                else:
                    status = 200
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["x-test-status"] = str(status)
                endpoint.requests.append(Received(time.monotonic(), self.path, headers, body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


# -- brokers -----------------------------------------------------------------------------------


def _reachable(url: str, default_port: int) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=2):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def rabbitmq_url() -> str:
    problem = _reachable(RABBITMQ_URL, 5672)
    if problem:
        skip_or_fail(f"RabbitMQ is not reachable at {RABBITMQ_URL}: {problem}")
    pytest.importorskip("aio_pika", reason="aio-pika is not installed (pip install identa[test])")
    return RABBITMQ_URL


@pytest.fixture
def nats_url() -> str:
    problem = _reachable(NATS_URL, 4222)
    if problem:
        skip_or_fail(f"NATS is not reachable at {NATS_URL}: {problem}")
    pytest.importorskip("nats", reason="nats-py is not installed (pip install identa[test])")
    return NATS_URL
