"""Console fixtures other console page tests reuse.

`make_staff(role, ...)` creates a staff account; `console_login(role, ...)` returns a
`ConsoleSession`: an httpx client over the app, signed in as a new staff member of that role,
whose `post()` adds the page's CSRF token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from identa.console.service import ConsoleServices
from identa.container import Container
from identa.http.asgi import build_asgi
from identa.http.hosted.render import Templates
from tests.conftest import PUBLIC_URL

STAFF_PASSWORD = "Staff-Password-123"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class StaffAccount:
    id: str
    email: str
    password: str
    role: str
    name: str


@dataclass
class ConsoleSession:
    client: httpx.AsyncClient
    staff: StaffAccount
    csrf_token: str

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """A form post with the CSRF token, as the console's forms send it."""
        return await self.client.post(path, data={"csrf_token": self.csrf_token, **(data or {})})

    async def htmx(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request as htmx sends it: HX-Request and the X-CSRF-Token header."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf_token}
        return await self.client.request(method, path, headers=headers, **kwargs)


def csrf_token_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


MakeStaff = Callable[..., Awaitable[StaffAccount]]
ConsoleLogin = Callable[..., Awaitable[ConsoleSession]]


@pytest.fixture
def console_services(container: Container) -> ConsoleServices:
    return ConsoleServices(container.clock, container.hasher)


@pytest.fixture
def make_staff(container: Container, console_services: ConsoleServices) -> MakeStaff:
    """`await make_staff("support", email=None, password=STAFF_PASSWORD, name=None,
    disabled=False)` -> StaffAccount."""

    async def make(
        role: str = "admin",
        *,
        email: str | None = None,
        password: str = STAFF_PASSWORD,
        name: str | None = None,
        disabled: bool = False,
    ) -> StaffAccount:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@staff.example.com"
        async with container.unit_of_work() as uow:
            staff = await console_services.staff.create(
                uow.session, email=email, role=role, password=password, name=name
            )
            if disabled:
                await console_services.staff.set_disabled(uow.session, staff, True)
            account = StaffAccount(staff.id, staff.email, password, staff.role, staff.name)
            await uow.commit()
        return account

    return make


@pytest.fixture
def console_app(container: Container) -> FastAPI:
    """The application the console clients talk to (tests may add probe routes to it)."""
    return build_asgi(container, Templates(), run_workers=False)


@pytest.fixture
async def console_client_factory(
    console_app: FastAPI,
) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """`console_client_factory()` -> a new httpx client with its own cookies."""
    clients: list[httpx.AsyncClient] = []

    def new() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=console_app, client=("203.0.113.20", 50000))
        client = httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)
        clients.append(client)
        return client

    yield new
    for client in clients:
        await client.aclose()


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """Opens the login page and posts the form with its CSRF token."""
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"csrf_token": csrf_token_in(page.text), "email": email, "password": password},
    )


@pytest.fixture
def console_login(
    make_staff: MakeStaff, console_client_factory: Callable[[], httpx.AsyncClient]
) -> ConsoleLogin:
    """`await console_login("analyst", **make_staff_kwargs)` -> ConsoleSession, signed in."""

    async def login(role: str = "admin", **kwargs: Any) -> ConsoleSession:
        staff = await make_staff(role, **kwargs)
        client = console_client_factory()
        answer = await sign_in(client, staff.email, staff.password)
        assert answer.status_code == 303, answer.text
        home = await client.get("/console/")
        assert home.status_code == 200, home.text
        return ConsoleSession(client=client, staff=staff, csrf_token=csrf_token_in(home.text))

    return login
