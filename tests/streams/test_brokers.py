"""Delivery to the machine's RabbitMQ and NATS (and Kafka, where a broker is reachable)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from identa.container import Container
from identa.core.context import SYSTEM
from identa.events.catalog import LogType
from identa.events.models import LogEvent, OutboxMessage
from identa.events.service import EventSubject, log_event_to_dict
from tests.factories import create_user
from tests.streams.brokers import (
    check_deliveries,
    drain_queue,
    rabbitmqctl,
    wait_for_rabbitmq,
)
from tests.streams.conftest import (
    create_stream,
    delivery,
    password_app,
    password_login,
    wait_until,
)

USERS = 20
LOGINS_ONLY = [{"type": "category", "name": "auth.login.success"}]


async def make_users(container: Container) -> list[str]:
    emails = [f"burst{i}@example.com" for i in range(USERS)]
    for email in emails:
        await create_user(container, email)
    return emails


async def http_logins(
    api: httpx.AsyncClient, app: dict[str, str], emails: list[str], count: int
) -> None:
    gate = asyncio.Semaphore(6)

    async def one(index: int) -> None:
        async with gate:
            response = await password_login(api, app, emails[index % len(emails)])
            assert response.status_code == 200, response.text

    await asyncio.gather(*(one(i) for i in range(count)))


async def recorded_logins(container: Container, emails: list[str], count: int) -> None:
    """Success-login events written by the recorder the login path uses, 100 per transaction,
    for the same users (far faster than `count` password checks)."""
    async with container.unit_of_work() as uow:
        users = {email: (await container.users.by_email(uow.session, email))[0] for email in emails}
    done = 0
    while done < count:
        async with container.unit_of_work() as uow:
            for index in range(done, min(done + 100, count)):
                user = users[emails[index % len(emails)]]
                container.events.record(
                    uow.session,
                    LogType.SUCCESS_LOGIN,
                    subject=EventSubject(
                        connection="Username-Password-Authentication",
                        strategy="auth0",
                        user_id=user.user_id,
                        user_name=user.email,
                    ),
                    request=SYSTEM,
                    details={"prompts": [{"name": "password"}]},
                )
            await uow.commit()
        done = min(done + 100, count)
        await asyncio.sleep(0)


async def logged_logins(container: Container) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    async with container.unit_of_work() as uow:
        rows = (
            await uow.session.scalars(
                select(LogEvent).where(LogEvent.type == LogType.SUCCESS_LOGIN)
            )
        ).all()
        order = dict(
            (await uow.session.execute(select(OutboxMessage.event_id, OutboxMessage.id))).all()
        )
    return {row.log_id: log_event_to_dict(row) for row in rows}, order


async def caught_up(api: httpx.AsyncClient, stream_id: str, within: float) -> None:
    async def check() -> bool:
        return (await delivery(api, stream_id))["delivery"]["lag"] == 0

    await wait_until(check, within, "the stream to deliver everything", every=0.2)


async def test_5000_logins_reach_a_rabbitmq_consumer_exactly_as_logged(
    api: httpx.AsyncClient, container: Container, rabbitmq_url: str, dispatcher: None
) -> None:
    queue = f"identa-test-{uuid.uuid4().hex[:10]}"
    stream = await create_stream(
        api,
        name="rabbit",
        type="rabbitmq",
        sink={"rabbitmqUrl": rabbitmq_url, "rabbitmqRoutingKey": queue},
        filters=LOGINS_ONLY,
    )
    emails = await make_users(container)
    app = await password_app(container)
    # 300 real logins over HTTP and 4,700 through the recorder, at the same time.
    await asyncio.gather(
        http_logins(api, app, emails, 300), recorded_logins(container, emails, 4700)
    )
    await caught_up(api, stream["id"], 120)
    logged, order = await logged_logins(container)
    assert len(logged) == 5000
    messages = await drain_queue(rabbitmq_url, queue, expected=5000)
    assert all(m.delivery_mode == 2 and m.message_id for m in messages)
    check_deliveries([m.body for m in messages], logged, order)
    assert (await delivery(api, stream["id"]))["delivery"]["delivered"] >= 5000


@pytest.mark.exclusive
async def test_rabbitmq_stopped_mid_burst_loses_nothing(
    api: httpx.AsyncClient, container: Container, rabbitmq_url: str, dispatcher: None
) -> None:
    queue = f"identa-test-{uuid.uuid4().hex[:10]}"
    stream = await create_stream(
        api,
        name="rabbit",
        type="rabbitmq",
        sink={"rabbitmqUrl": rabbitmq_url, "rabbitmqRoutingKey": queue},
        filters=LOGINS_ONLY,
    )
    emails = await make_users(container)
    app = await password_app(container)

    async def noticed() -> bool:
        return bool((await delivery(api, stream["id"]))["delivery"]["total_failures"] >= 1)

    async def outage() -> None:
        await asyncio.sleep(0.5)
        try:
            await rabbitmqctl("stop_app")
            # Logins go on while the broker is down, and it stays down until the dispatcher
            # has failed to deliver at least once: the outage cannot fall between two polls.
            await recorded_logins(container, emails, 100)
            await wait_until(noticed, 30, "the dispatcher to notice the outage", every=0.2)
        finally:
            await rabbitmqctl("start_app")

    try:
        await asyncio.gather(
            http_logins(api, app, emails, 100),
            recorded_logins(container, emails, 1800),
            outage(),
        )
    finally:
        await rabbitmqctl("start_app")  # whatever happened, leave RabbitMQ running
    await wait_for_rabbitmq(rabbitmq_url)
    await caught_up(api, stream["id"], 120)
    status = (await delivery(api, stream["id"]))["delivery"]
    assert status["total_failures"] >= 1, "the outage went unnoticed: was RabbitMQ stopped?"
    assert status["dead_letters"] == 0
    logged, order = await logged_logins(container)
    assert len(logged) == 2000
    messages = await drain_queue(rabbitmq_url, queue, expected=2000)
    check_deliveries([m.body for m in messages], logged, order)


async def test_nats_jetstream_receives_every_event_once(
    api: httpx.AsyncClient, container: Container, nats_url: str, dispatcher: None
) -> None:
    import nats

    name = f"IDENTA_TEST_{uuid.uuid4().hex[:8].upper()}"
    subject = f"identa.test.{name.lower()}"
    stream = await create_stream(
        api,
        name="nats",
        type="nats",
        sink={"natsUrl": nats_url, "natsSubject": subject, "natsStream": name},
        filters=LOGINS_ONLY,
    )
    emails = await make_users(container)
    await recorded_logins(container, emails, 300)
    await caught_up(api, stream["id"], 60)
    logged, order = await logged_logins(container)
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe(subject, stream=name)
        messages: list[Any] = []
        while len(messages) < 300:
            batch = await subscription.fetch(100, timeout=5)
            for message in batch:
                await message.ack()
            messages.extend(batch)
        assert all(m.headers and m.headers["Nats-Msg-Id"] for m in messages)
        check_deliveries([m.data for m in messages], logged, order)
        assert len({m.headers["Nats-Msg-Id"] for m in messages}) == len(messages)
        await js.delete_stream(name)
    finally:
        await client.close()


KAFKA = os.environ.get("IDENTA_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


async def test_kafka_receives_every_event_keyed_by_user(
    api: httpx.AsyncClient, container: Container, dispatcher: None
) -> None:
    host, _, port = KAFKA.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        # Issue #7: Kafka is tested only where a broker is reachable. There is none on this
        # machine, so this stays a skip even with IDENTA_REQUIRE_SERVICES=1.
        pytest.skip(
            f"no Kafka broker reachable at {KAFKA} ({exc}); set IDENTA_TEST_KAFKA_BOOTSTRAP"
        )
    aiokafka = pytest.importorskip("aiokafka", reason="aiokafka is not installed (identa[kafka])")
    topic = f"identa-test-{uuid.uuid4().hex[:8]}"
    stream = await create_stream(
        api,
        name="kafka",
        type="kafka",
        sink={"kafkaBootstrapServers": KAFKA, "kafkaTopic": topic},
        filters=LOGINS_ONLY,
    )
    emails = await make_users(container)
    await recorded_logins(container, emails, 200)
    await caught_up(api, stream["id"], 60)
    logged, order = await logged_logins(container)
    consumer = aiokafka.AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        records: list[Any] = []
        while len(records) < 200:
            batches = await consumer.getmany(timeout_ms=5000)
            if not batches:
                break
            for items in batches.values():
                records.extend(items)
        check_deliveries([r.value for r in records], logged, order)
        for record in records:
            assert record.key.decode() == json.loads(record.value)["data"]["user_id"]
    finally:
        await consumer.stop()
