"""Factories for test data, created through the same services the product uses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from identa.container import Container
from identa.core.context import SYSTEM
from identa.identity.service import NewDatabaseUser
from identa.notify.providers import MemoryProvider, OutgoingMail

GOOD_PASSWORD = "Correct-Horse-9"


async def create_user(
    container: Container,
    email: str = "ada@example.com",
    password: str = GOOD_PASSWORD,
    **fields: Any,
) -> dict[str, Any]:
    from identa.identity.profile import user_to_dict

    async with container.unit_of_work() as uow:
        db = uow.session
        connection = await container.connections.by_name(db, "Username-Password-Authentication")
        client = await container.flows.default_client(db)
        user = await container.flows.register(
            db,
            client=client,
            connection=connection,
            request=SYSTEM,
            new=NewDatabaseUser(email=email, password=password, **fields),
        )
        out = user_to_dict(user)
        await uow.commit()
    return out


async def log_types(container: Container, user_id: str | None = None) -> list[str]:
    """Log event types, oldest first (optionally for one user)."""
    from sqlalchemy import select

    from identa.events.models import LogEvent

    async with container.unit_of_work() as uow:
        query = select(LogEvent.type).order_by(LogEvent.log_id)
        if user_id is not None:
            query = query.where(LogEvent.user_id == user_id)
        return list((await uow.session.scalars(query)).all())


async def deliver_mail(container: Container, mailbox: MemoryProvider) -> list[OutgoingMail]:
    await container.courier.deliver_due()
    return mailbox.sent


def link_in(mail: OutgoingMail, path: str) -> str:
    match = re.search(r"https?://\S+" + re.escape(path) + r"\?ticket=[\w\-%]+", mail.text_body)
    assert match, f"no {path} link in: {mail.text_body}"
    return match.group(0)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass
class Page:
    response: httpx.Response

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def csrf(self) -> str:
        match = _CSRF.search(self.text)
        assert match, "page has no CSRF field"
        return match.group(1)

    def action(self, index: int = 0) -> str:
        actions = _ACTION.findall(self.text)
        assert actions, "page has no form"
        return actions[index].replace("&amp;", "&")


class Visitor:
    """A browser-like client of the hosted pages: follows redirects, keeps cookies."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, url: str) -> Page:
        response = await self.client.get(url, follow_redirects=True)
        return Page(response)

    async def submit(
        self,
        page: Page,
        data: dict[str, str],
        *,
        action: str | None = None,
        follow: bool = True,
    ) -> Page:
        response = await self.client.post(
            action or page.action(),
            data={"csrf_token": page.csrf, **data},
            follow_redirects=follow,
        )
        return Page(response)

    async def signup(self, email: str, password: str = GOOD_PASSWORD, **extra: str) -> Page:
        page = await self.get("/u/signup")
        return await self.submit(page, {"email": email, "password": password, **extra})

    async def login(self, email: str, password: str = GOOD_PASSWORD) -> Page:
        page = await self.get("/u/login")
        return await self.submit(page, {"username": email, "password": password})


async def load_demo(
    container: Container, customers: int, *, seed: int, facts: bool = True
) -> Container:
    """The InnovaShoes demo data set (identa.jobs.demo), small, in the test's database."""
    from identa.jobs.demo import build_demo

    async with container.unit_of_work() as uow:
        await build_demo(
            uow.session,
            container.connections,
            customers=customers,
            now=container.clock.now(),
            seed=seed,
            facts=facts,
        )
        await uow.commit()
    return container
