"""The mail courier: real SMTP delivery, retries with backoff, giving up after repeated failures."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from identa.container import Container
from identa.core.clock import FrozenClock
from identa.notify.models import MailMessage
from identa.notify.providers import OutgoingMail, SmtpProvider
from identa.notify.service import MAX_ATTEMPTS, Courier
from identa.settings import MailSettings
from tests.factories import create_user


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_smtp_provider_delivers_the_queued_message(
    container: Container, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    await create_user(container, "ada@example.com")
    courier = Courier(
        container.clock,
        container.sessions,
        SmtpProvider(MailSettings(provider="smtp", smtp_host="127.0.0.1", smtp_port=port)),
        "Identa <no-reply@identa.test>",
    )
    assert await courier.deliver_due() == 1
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["ada@example.com"]
    message = message_from_bytes(envelope.content)
    assert message["Subject"] == "Verify your email for Default App"
    assert message.is_multipart()
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "http://identa.test/lo/verify_email?ticket=" in text
    assert await courier.deliver_due() == 0


class FailingProvider:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[OutgoingMail] = []

    async def send(self, mail: OutgoingMail) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("smtp down")
        self.sent.append(mail)


async def queued(container: Container) -> MailMessage:
    async with container.unit_of_work() as uow:
        message = (await uow.session.scalars(select(MailMessage))).one()
        await uow.commit()
        return message


async def test_failures_are_retried_with_backoff(container: Container) -> None:
    await create_user(container, "ada@example.com")
    clock = FrozenClock(container.clock.now())
    provider = FailingProvider(failures=2)
    courier = Courier(clock, container.sessions, provider, "x@identa.test")
    assert await courier.deliver_due() == 0
    message = await queued(container)
    assert message.attempts == 1 and message.status == "pending"
    assert message.last_error == "ConnectionRefusedError: smtp down"
    assert message.next_attempt_at - clock.now() == timedelta(seconds=2)
    assert await courier.deliver_due() == 0  # not due yet
    clock.advance(2)
    assert await courier.deliver_due() == 0
    clock.advance(4)
    assert await courier.deliver_due() == 1
    assert [m.recipient for m in provider.sent] == ["ada@example.com"]
    assert (await queued(container)).status == "sent"


async def test_courier_gives_up_after_max_attempts(container: Container) -> None:
    await create_user(container, "ada@example.com")
    clock = FrozenClock(container.clock.now())
    courier = Courier(clock, container.sessions, FailingProvider(failures=99), "x@identa.test")
    for _ in range(MAX_ATTEMPTS):
        await courier.deliver_due()
        clock.advance(3600)
    message = await queued(container)
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS
