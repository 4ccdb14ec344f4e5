"""The dispatcher on the test database (SQLite or PostgreSQL) with file and HTTP sinks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from identa.container import Container
from identa.core.context import SYSTEM
from identa.events.catalog import LogType
from identa.events.models import LogEvent, OutboxMessage
from identa.events.service import EventSubject, log_event_to_dict
from identa.events.streams.dispatcher import Dispatcher
from identa.identity.store import UserStore
from tests.factories import create_user
from tests.streams.conftest import (
    FAST_STREAMS,
    RecordingEndpoint,
    create_stream,
    delivery,
    password_app,
    password_login,
    wait_until,
)


async def record_logins(
    container: Container, count: int, users: int = 5, type_: LogType = LogType.SUCCESS_LOGIN
) -> list[dict[str, Any]]:
    """`count` log events through the recorder the login path uses, committed together."""
    async with container.unit_of_work() as uow:
        events = [
            container.events.record(
                uow.session,
                type_,
                subject=EventSubject(user_id=f"auth0|user{i % users}", user_name=f"u{i}"),
                request=SYSTEM,
            )
            for i in range(count)
        ]
        await uow.commit()
    return [log_event_to_dict(event) for event in events]


def file_lines(container: Container, stream_id: str) -> list[dict[str, Any]]:
    path = Path(container.settings.data_dir) / "streams" / f"{stream_id}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_file_stream_gets_the_filtered_events_in_order_exactly_as_logged(
    api: httpx.AsyncClient, container: Container
) -> None:
    stream = await create_stream(
        api,
        name="audit",
        type="file",
        sink={},
        filters=[
            {"type": "category", "name": "auth.login.success"},
            {"type": "type", "name": "user.created"},
        ],
    )
    logins = await record_logins(container, 30)
    await record_logins(container, 10, type_=LogType.FAILED_LOGIN_PASSWORD)
    user = await create_user(container, "grace@example.com")
    await container.dispatcher.deliver_all()

    lines = file_lines(container, stream["id"])
    assert [line["data"] for line in lines[:30]] == logins
    assert [line["log_id"] for line in lines[:30]] == [e["log_id"] for e in logins]
    kinds = [line["data"]["type"] for line in lines[30:]]
    # The sign-up writes a `ss` log event (filtered out) and the user.created event.
    assert kinds == ["user.created"]
    assert lines[30]["data"]["data"]["object"]["user_id"] == user["user_id"]
    status = await delivery(api, stream["id"])
    assert status["delivery"]["lag"] == 0
    assert status["delivery"]["delivered"] == 31
    assert status["delivery"]["last_delivered_id"] == lines[-1]["log_id"]


async def test_a_new_stream_starts_from_now_unless_asked_for_the_earliest(
    api: httpx.AsyncClient, container: Container
) -> None:
    before = await record_logins(container, 5)
    now = await create_stream(api, name="now", type="file", sink={})
    earliest = await create_stream(api, name="all", type="file", sink={}, startFrom="earliest")
    after = await record_logins(container, 5)
    await container.dispatcher.deliver_all()
    assert [x["log_id"] for x in file_lines(container, now["id"])] == [e["log_id"] for e in after]
    ids = [x["log_id"] for x in file_lines(container, earliest["id"])]
    assert ids[-10:] == [e["log_id"] for e in before + after]


async def test_two_workers_share_a_stream_without_delivering_an_event_twice(
    api: httpx.AsyncClient, container: Container
) -> None:
    stream = await create_stream(api, name="shared", type="file", sink={})
    streams_dir = Path(container.settings.data_dir) / "streams"
    settings = FAST_STREAMS.model_copy(update={"batch_size": 25})
    workers = [
        Dispatcher(container.clock, container.sessions, settings, streams_dir, worker_id=name)
        for name in ("worker-a", "worker-b")
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    written: list[str] = []
    try:
        for _ in range(10):
            written += [e["log_id"] for e in await record_logins(container, 40)]
            await asyncio.sleep(0.02)

        async def caught_up() -> bool:
            return (await delivery(api, stream["id"]))["delivery"]["lag"] == 0

        await wait_until(caught_up, 60, "both workers to deliver everything")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    assert [x["log_id"] for x in file_lines(container, stream["id"])] == written


async def test_user_lifecycle_events_are_written_with_the_change(
    api: httpx.AsyncClient, container: Container
) -> None:
    made = await api.post(
        "/api/v2/users",
        json={
            "email": "lin@example.com",
            "password": "Correct-Horse-9",
            "connection": "Username-Password-Authentication",
        },
    )
    user_id = made.json()["user_id"]
    await api.patch(f"/api/v2/users/{user_id}", json={"user_metadata": {"size": 38}})
    await api.patch(f"/api/v2/users/{user_id}", json={"blocked": True})
    await api.patch(f"/api/v2/users/{user_id}", json={"blocked": False})
    assert (
        await api.post("/api/v2/connections", json={"name": "Loyalty", "strategy": "auth0"})
    ).status_code == 201
    other = (
        await api.post(
            "/api/v2/users",
            json={"email": "o@example.com", "password": "Correct-Horse-9", "connection": "Loyalty"},
        )
    ).json()
    async with container.unit_of_work() as uow:
        store = UserStore(uow.session)
        primary, secondary = await store.get(user_id), await store.get(other["user_id"])
        assert primary is not None and secondary is not None
        await container.linker.link(uow.session, primary, secondary)
        await uow.commit()
    async with container.unit_of_work() as uow:
        primary = await UserStore(uow.session).get(user_id)
        assert primary is not None
        moved = primary.identities[1]
        await container.linker.unlink(uow.session, primary, moved.provider, moved.provider_user_id)
        await uow.commit()
    await api.delete(f"/api/v2/users/{user_id}")
    # A change rolled back leaves no event behind.
    async with container.unit_of_work() as uow:
        user = await UserStore(uow.session).get(other["user_id"])
        assert user is not None
        await container.users.set_blocked(uow.session, user, True)

    async with container.unit_of_work() as uow:
        rows = (
            await uow.session.execute(
                select(OutboxMessage.event_type, OutboxMessage.partition_key)
                .where(OutboxMessage.topic == "user")
                .order_by(OutboxMessage.id)
            )
        ).all()
    mine = [kind for kind, key in rows if key == user_id]
    assert mine == [
        "user.created",
        "user.updated",
        "user.blocked",
        "user.unblocked",
        "user.linked",
        "user.unlinked",
        "user.deleted",
    ]
    assert [kind for kind, key in rows if key == other["user_id"]] == ["user.created"]


async def test_retention_purges_old_log_events_and_trims_what_every_stream_has(
    api: httpx.AsyncClient, container: Container
) -> None:
    old = await record_logins(container, 3)
    async with container.unit_of_work() as uow:
        ids = [e["log_id"] for e in old]
        for event in await uow.session.scalars(select(LogEvent).where(LogEvent.log_id.in_(ids))):
            event.date = container.clock.now() - timedelta(days=31)
        await uow.commit()
    stream = await create_stream(api, name="trim", type="file", sink={})
    await record_logins(container, 4)
    purged, _ = await container.dispatcher.maintain()
    assert purged == 3
    async with container.unit_of_work() as uow:
        left = set((await uow.session.scalars(select(LogEvent.log_id))).all())
        assert not left & {e["log_id"] for e in old}
        waiting = await uow.session.scalar(select(func.count(OutboxMessage.id)))
    assert waiting is not None and waiting >= 4  # the stream has not had them yet
    await container.dispatcher.deliver_all()
    await container.dispatcher.maintain()
    async with container.unit_of_work() as uow:
        waiting = await uow.session.scalar(select(func.count(OutboxMessage.id)))
    assert waiting == 1  # the newest message always stays
    assert (await delivery(api, stream["id"]))["delivery"]["lag"] == 0


async def test_an_http_sink_that_fails_is_retried_with_backoff_then_delivered(
    api: httpx.AsyncClient,
    container: Container,
    http_endpoint: RecordingEndpoint,
    dispatcher: None,
) -> None:
    container.dispatcher._settings = FAST_STREAMS.model_copy(
        update={"backoff_base_seconds": 0.2, "backoff_max_seconds": 5.0}
    )
    http_endpoint.statuses = [503, 503, 503, 503]
    stream = await create_stream(
        api,
        name="hook",
        type="http",
        sink={
            "httpEndpoint": http_endpoint.url,
            "httpAuthorization": "Bearer abc",
            "httpCustomHeaders": [{"header": "X-Tenant", "value": "shop"}],
        },
    )
    secret = stream["sink"]["httpSigningSecret"]
    logins = await record_logins(container, 20)

    async def delivered() -> bool:
        return len(http_endpoint.envelopes()) >= 20

    await wait_until(delivered, 30, "the endpoint to accept the events")
    assert [e["data"] for e in http_endpoint.envelopes()] == logins
    times = [r.at for r in http_endpoint.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)][:4]
    # Waits of 0.2, 0.4, 0.8 and 1.6 s (less up to 20% of jitter), plus the polling.
    assert gaps[3] >= 1.6 * 0.8 and gaps[3] > gaps[0] * 2, f"no exponential backoff: {gaps}"
    accepted = http_endpoint.accepted()[0]
    assert accepted.headers["authorization"] == "Bearer abc"
    assert accepted.headers["x-tenant"] == "shop"
    assert accepted.headers["content-type"] == "application/json"
    stamp, signature = (
        part.split("=", 1)[1] for part in accepted.headers["x-identa-signature"].split(",")
    )
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + accepted.body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())
    status = (await delivery(api, stream["id"]))["delivery"]
    assert status["failures"] == 0 and status["total_failures"] == 4
    assert status["dead_letters"] == 0 and status["lag"] == 0


async def test_an_http_sink_that_keeps_failing_is_suspended_and_dead_lettered(
    api: httpx.AsyncClient,
    container: Container,
    http_endpoint: RecordingEndpoint,
) -> None:
    container.dispatcher._settings = FAST_STREAMS.model_copy(
        update={"max_attempts": 3, "backoff_base_seconds": 0.05}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(container.dispatcher.run(stop))
    try:
        http_endpoint.always = 500
        stream = await create_stream(
            api,
            name="broken",
            type="http",
            sink={"httpEndpoint": http_endpoint.url, "httpContentFormat": "JSONARRAY"},
        )
        app = await password_app(container)
        await create_user(container, "kim@example.com")
        started = time.monotonic()
        login = await password_login(api, app, "kim@example.com")
        assert login.status_code == 200, login.text
        assert time.monotonic() - started < 2.0

        async def suspended() -> bool:
            return (await delivery(api, stream["id"]))["status"] == "suspended"

        await wait_until(suspended, 30, "the stream to be suspended")
        status = (await delivery(api, stream["id"]))["delivery"]
        assert status["failures"] == 3
        assert "HTTP 500" in status["last_error"]
        dead = (await api.get(f"/api/v2/log-streams/{stream['id']}/dead-letters")).json()
        assert {d["event_type"] for d in dead} >= {"s", "sepft"}
        assert all(d["attempts"] == 3 for d in dead)
        # Logins go on while the stream is suspended: they only write the outbox.
        again = await password_login(api, app, "kim@example.com")
        assert again.status_code == 200
        # Repaired and resumed by hand: it carries on after what it dead-lettered.
        http_endpoint.always = None
        resumed = await api.patch(f"/api/v2/log-streams/{stream['id']}", json={"status": "active"})
        assert resumed.json()["status"] == "active"

        async def caught_up() -> bool:
            return (await delivery(api, stream["id"]))["delivery"]["lag"] == 0

        await wait_until(caught_up, 30, "the resumed stream to catch up")
        body = json.loads(http_endpoint.accepted()[-1].body)
        assert isinstance(body, list) and body[-1]["data"]["type"] in ("s", "sepft")
    finally:
        stop.set()
        await task


async def test_an_unreachable_host_is_reported_in_the_status(
    api: httpx.AsyncClient, container: Container
) -> None:
    stream = await create_stream(
        api, name="nowhere", type="http", sink={"httpEndpoint": "http://127.0.0.1:9/hook"}
    )
    await record_logins(container, 2)
    await container.dispatcher.deliver_all()
    status = (await delivery(api, stream["id"]))["delivery"]
    assert status["failures"] == 1 and status["lag"] == 2
    assert "ConnectError" in status["last_error"]
    assert status["next_attempt_at"] is not None
