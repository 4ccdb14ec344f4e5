"""Storage guarantees that must hold on every database: events and outbox rows live and die
with the change they record; stores never commit on their own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from identa.container import Container
from identa.core.context import SYSTEM
from identa.events.models import LogEvent, OutboxMessage
from identa.identity.models import User
from identa.identity.service import NewDatabaseUser
from identa.notify.models import MailMessage
from tests.factories import GOOD_PASSWORD, create_user


async def counts(container: Container) -> tuple[int, int, int, int]:
    async with container.unit_of_work() as uow:
        db = uow.session
        values = []
        for model in (User, LogEvent, OutboxMessage, MailMessage):
            values.append(int(await db.scalar(select(func.count()).select_from(model)) or 0))
        return values[0], values[1], values[2], values[3]


async def register(container: Container, email: str) -> None:
    async with container.unit_of_work() as uow:
        db = uow.session
        connection = await container.connections.by_name(db, "Username-Password-Authentication")
        client = await container.flows.default_client(db)
        await container.flows.register(
            db,
            client=client,
            connection=connection,
            request=SYSTEM,
            new=NewDatabaseUser(email=email, password=GOOD_PASSWORD),
        )
        raise RuntimeError("crash after the work, before the commit")


async def test_a_crash_before_commit_leaves_nothing_behind(container: Container) -> None:
    with pytest.raises(RuntimeError):
        await register(container, "ada@example.com")
    assert await counts(container) == (0, 0, 0, 0)


async def test_each_log_event_has_its_outbox_message(container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    # The outbox holds the `ss` log event and the user.created lifecycle event.
    assert await counts(container) == (1, 1, 2, 1)
    async with container.unit_of_work() as uow:
        event = (await uow.session.scalars(select(LogEvent))).one()
        message = (
            await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "log"))
        ).one()
        created = (
            await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "user"))
        ).one()
    assert created.event_type == "user.created" and created.partition_key == user["user_id"]
    assert message.event_id == event.log_id and message.topic == "log"
    assert message.partition_key == user["user_id"]
    assert message.payload["type"] == "ss" and message.payload["log_id"] == event.log_id
    assert message.payload["user_id"] == user["user_id"]
    assert message.payload["connection"] == "Username-Password-Authentication"
    assert message.payload["strategy_type"] == "database"
    assert message.payload["details"]["body"]["email"] == "ada@example.com"
    assert "password" not in message.payload["details"]["body"]


async def test_log_ids_are_56_digits_and_sort_by_time(container: Container) -> None:
    for index in range(3):
        await create_user(container, f"user{index}@example.com")
    async with container.unit_of_work() as uow:
        rows = (await uow.session.scalars(select(LogEvent).order_by(LogEvent.log_id))).all()
    assert all(len(r.log_id) == 56 and r.log_id.isdigit() for r in rows)
    assert [r.date for r in rows] == sorted(r.date for r in rows)
    assert [r.user_name for r in rows] == [f"user{i}@example.com" for i in range(3)]


async def test_metadata_round_trips_as_json(container: Container) -> None:
    user = await create_user(
        container,
        "ada@example.com",
        user_metadata={"prefs": {"color": "blue", "sizes": [9, 9.5]}, "newsletter": True},
        app_metadata={"plan": "gold"},
    )
    async with container.unit_of_work() as uow:
        row = await uow.session.get(User, user["user_id"])
        assert row is not None
        assert row.user_metadata == {
            "prefs": {"color": "blue", "sizes": [9, 9.5]},
            "newsletter": True,
        }
        await container.users.patch_metadata(
            uow.session,
            row,
            user_metadata={"newsletter": None, "prefs": {"color": "red"}},
            app_metadata={"score": 0.5},
        )
        await uow.commit()
    async with container.unit_of_work() as uow:
        row = await uow.session.get(User, user["user_id"])
        assert row is not None
        assert row.user_metadata == {"prefs": {"color": "red"}}
        assert row.app_metadata == {"plan": "gold", "score": 0.5}
        assert row.created_at.tzinfo is not None and row.updated_at >= row.created_at
