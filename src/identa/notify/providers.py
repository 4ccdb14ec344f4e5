"""Ways to hand an e-mail over: the log (development), SMTP (production), nowhere, or a list."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from identa.settings import MailSettings

log = logging.getLogger("identa.mail")


@dataclass(frozen=True)
class OutgoingMail:
    sender: str
    recipient: str
    subject: str
    text_body: str
    html_body: str | None


class MailProvider(Protocol):
    async def send(self, mail: OutgoingMail) -> None: ...


class ConsoleProvider:
    """Writes each message to the log, links and all, for development and demos."""

    async def send(self, mail: OutgoingMail) -> None:
        log.info(
            "email to %s: %s\n%s",
            mail.recipient,
            mail.subject,
            mail.text_body,
            extra={
                "mail_to": mail.recipient,
                "mail_subject": mail.subject,
                "mail_text": mail.text_body,
            },
        )


class NullProvider:
    async def send(self, mail: OutgoingMail) -> None:
        return None


class MemoryProvider:
    """Keeps messages in a list; for tests of code that sends e-mail."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []

    async def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)


class SmtpProvider:
    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    async def send(self, mail: OutgoingMail) -> None:
        await asyncio.to_thread(self._send_sync, mail)

    def _send_sync(self, mail: OutgoingMail) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = mail.sender
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(
            domain=mail.sender.rpartition("@")[2].strip("> ") or None
        )
        message.set_content(mail.text_body)
        if mail.html_body:
            message.add_alternative(mail.html_body, subtype="html")
        smtp: smtplib.SMTP
        if s.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                s.smtp_host,
                s.smtp_port,
                timeout=s.smtp_timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
        with smtp:
            if s.smtp_starttls and not s.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
            smtp.send_message(message)


def provider_for(settings: MailSettings) -> MailProvider:
    if settings.provider == "smtp":
        return SmtpProvider(settings)
    if settings.provider == "none":
        return NullProvider()
    return ConsoleProvider()
