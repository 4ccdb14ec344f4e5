"""Customer data shown to staff is attacker-controlled: a stored picture that is not an http(s)
URL (one can arrive from an upstream profile's profileData when an identity is unlinked, or
from a rule) must never become a clickable `javascript:` link on the customer-360 page; the
CSP must also be on that page (a second line of defence)."""

from __future__ import annotations

import re

import pytest

from identa.container import Container
from tests.factories import create_user
from tests.http.console.conftest import ConsoleLogin
from tests.http.console.customer_data import page_url

UNSAFE_LINK = re.compile(r'(href|src)="\s*(javascript|vbscript|data:text)', re.IGNORECASE)


async def store_picture(container: Container, user_id: str, picture: str) -> None:
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, user_id)
        assert user is not None
        user.picture = picture
        await uow.commit()


@pytest.mark.parametrize(
    "picture",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
    ],
)
async def test_a_picture_that_is_not_http_is_never_a_link(
    console_login: ConsoleLogin, container: Container, picture: str
) -> None:
    customer = await create_user(container, "victim@shop.example")
    await store_picture(container, customer["user_id"], picture)
    session = await console_login("support")
    page = await session.client.get(page_url(customer["user_id"]))
    assert page.status_code == 200
    assert not UNSAFE_LINK.search(page.text)
    assert "script-src 'self' 'nonce-" in page.headers["content-security-policy"]


async def test_an_http_picture_stays_a_link(
    console_login: ConsoleLogin, container: Container
) -> None:
    customer = await create_user(container, "ok@shop.example")
    await store_picture(container, customer["user_id"], "https://img.example/a.png")
    session = await console_login("analyst")
    page = await session.client.get(page_url(customer["user_id"]))
    assert page.status_code == 200
    assert 'href="https://img.example/a.png"' in page.text
