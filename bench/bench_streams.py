"""Log streams: events per second delivered to RabbitMQ and to an HTTP endpoint, and the latency
of a password login with no stream and with three active streams (RabbitMQ, HTTP, file).

    .venv/bin/python bench/bench_streams.py [--database sqlite|postgresql] [--events 20000]

Starts its own `identa serve` (see _server.py). The delivery rates are measured on a backlog:
`--events` success-login events are written while the stream is paused (through the recorder
the login path uses, 500 per transaction, from this process), then the stream is set active and
the time until its lag is 0 is taken. RabbitMQ must be at --rabbitmq-url; the HTTP endpoint is
a small asyncio server in this process that answers 200 to everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import (
    DEFAULT_PG_ADMIN_URL,
    Server,
    free_port,
    identa_server,
    percentile_ms,
    postgres_database,
)

CONNECTION = "Username-Password-Authentication"
PASSWORD = "Correct-Horse-9"
REALM = "http://auth0.com/oauth/grant-type/password-realm"


async def endpoint(port: int) -> asyncio.Server:
    """An HTTP/1.1 endpoint answering 200 to every request (keep-alive)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def management(client: httpx.AsyncClient, server: Server) -> None:
    token = (
        await client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": server.init["client_id"],
                "client_secret": server.init["client_secret"],
                "audience": f"{server.base_url}/api/v2/",
            },
        )
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"


async def setup_logins(client: httpx.AsyncClient, users: int) -> dict[str, str]:
    app = (
        await client.post(
            "/api/v2/clients",
            json={"name": "Bench", "app_type": "regular_web", "grant_types": ["password"]},
        )
    ).json()
    connection = (await client.get("/api/v2/connections", params={"name": CONNECTION})).json()[0]
    await client.patch(
        f"/api/v2/connections/{connection['id']}",
        json={"enabled_clients": [*connection.get("enabled_clients", []), app["client_id"]]},
    )
    for index in range(users):
        made = await client.post(
            "/api/v2/users",
            json={"connection": CONNECTION, "email": f"b{index}@example.com", "password": PASSWORD},
        )
        made.raise_for_status()
    return {"client_id": app["client_id"], "client_secret": app["client_secret"]}


async def login_latencies(
    server: Server, app: dict[str, str], count: int, concurrency: int, users: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:

        async def one(index: int) -> None:
            async with gate:
                started = time.perf_counter()
                response = await client.post(
                    "/oauth/token",
                    json={
                        "grant_type": REALM,
                        "client_id": app["client_id"],
                        "client_secret": app["client_secret"],
                        "username": f"b{index % users}@example.com",
                        "password": PASSWORD,
                        "realm": CONNECTION,
                    },
                )
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return latencies, time.perf_counter() - started


async def backlog(server: Server, events: int) -> None:
    """`events` success-login events written through the recorder, 500 per transaction."""
    from identa.app import create_container
    from identa.core.context import SYSTEM
    from identa.events.catalog import LogType
    from identa.events.service import EventSubject
    from identa.settings import Settings

    os.environ.update({k: v for k, v in server.env.items() if k.startswith("IDENTA_")})
    container, _ = create_container(Settings())
    try:
        for start in range(0, events, 500):
            async with container.unit_of_work() as uow:
                for index in range(start, min(start + 500, events)):
                    container.events.record(
                        uow.session,
                        LogType.SUCCESS_LOGIN,
                        subject=EventSubject(user_id=f"auth0|bench{index % 100}"),
                        request=SYSTEM,
                    )
                await uow.commit()
    finally:
        await container.close()


async def lag(client: httpx.AsyncClient, stream_id: str) -> int:
    value: int = (await client.get(f"/api/v2/log-streams/{stream_id}")).json()["delivery"]["lag"]
    return value


async def delivery_rate(
    client: httpx.AsyncClient, server: Server, sink_type: str, sink: dict[str, Any], events: int
) -> float:
    made = (
        await client.post(
            "/api/v2/log-streams",
            json={
                "name": f"bench-{sink_type}",
                "type": sink_type,
                "sink": sink,
                "status": "paused",
            },
        )
    ).json()
    await backlog(server, events)
    started = time.perf_counter()
    await client.patch(f"/api/v2/log-streams/{made['id']}", json={"status": "active"})
    while await lag(client, made["id"]):  # noqa: ASYNC110 - polling the API is the point
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await client.delete(f"/api/v2/log-streams/{made['id']}")
    return events / elapsed


async def purge(url: str, queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


async def run(args: argparse.Namespace, server: Server) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    hook = await endpoint(port := free_port())
    queue = f"identa-bench-{uuid.uuid4().hex[:8]}"
    rabbit = {"rabbitmqUrl": args.rabbitmq_url, "rabbitmqRoutingKey": queue}
    http = {"httpEndpoint": f"http://127.0.0.1:{port}/hook", "httpBatchSize": 200}
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            await management(client, server)
            app = await setup_logins(client, args.users)
            await login_latencies(server, app, 50, args.concurrency, args.users)  # warm-up

            def latency_rows(label: str, latencies: list[float], elapsed: float) -> None:
                rows.append(
                    (
                        f"login, {label}",
                        f"p50 {percentile_ms(latencies, 50):.1f} ms · "
                        f"p95 {percentile_ms(latencies, 95):.1f} ms · "
                        f"mean {statistics.mean(latencies) * 1000:.1f} ms · "
                        f"{len(latencies) / elapsed:.0f} logins/s",
                    )
                )

            latencies, elapsed = await login_latencies(
                server, app, args.logins, args.concurrency, args.users
            )
            latency_rows("no stream", latencies, elapsed)
            streams = []
            for kind, sink in (("rabbitmq", rabbit), ("http", http), ("file", {})):
                made = await client.post(
                    "/api/v2/log-streams", json={"name": f"live-{kind}", "type": kind, "sink": sink}
                )
                made.raise_for_status()
                streams.append(made.json()["id"])
            latencies, elapsed = await login_latencies(
                server, app, args.logins, args.concurrency, args.users
            )
            latency_rows("3 active streams", latencies, elapsed)
            for stream_id in streams:
                while await lag(client, stream_id):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                await client.delete(f"/api/v2/log-streams/{stream_id}")

            for kind, sink in (("rabbitmq", rabbit), ("http", http)):
                rate = await delivery_rate(client, server, kind, sink, args.events)
                rows.append(
                    (f"delivery to {kind}", f"{rate:,.0f} events/s ({args.events:,} events)")
                )
    finally:
        hook.close()
        await purge(args.rabbitmq_url, queue)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument(
        "--rabbitmq-url",
        default=os.environ.get("IDENTA_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--logins", type=int, default=400)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=3)
    args = parser.parse_args()
    env = {
        # Cheap hashing: the latency measured is the server's and the streams', not argon2id's.
        "IDENTA_PASSWORD_HASH__MEMORY_COST_KIB": "256",
        "IDENTA_PASSWORD_HASH__TIME_COST": "1",
        "IDENTA_MANAGEMENT_RATE_LIMIT__REQUESTS": "0",
        "IDENTA_STREAMS__POLL_INTERVAL_SECONDS": "0.1",
        "IDENTA_STREAMS__BATCH_SIZE": "500",
    }
    with ExitStack() as stack:
        database = (
            stack.enter_context(postgres_database(args.pg_admin_url))
            if args.database == "postgresql"
            else None
        )
        server = stack.enter_context(identa_server(env, database))
        rows = asyncio.run(run(args, server))
    width = max(len(label) for label, _ in rows)
    print(
        f"\nLog streams on {args.database} "
        f"(cores: {os.cpu_count()}, concurrency {args.concurrency})"
    )
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 60}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
