"""Per-connection options (usernames, sign-up switch, policy) and per-application branding."""

from __future__ import annotations

import httpx
import pytest

from identa.container import Container
from identa.core.errors import InvalidInput
from tests.factories import GOOD_PASSWORD, Visitor, create_user

CONNECTION = "Username-Password-Authentication"


async def set_options(container: Container, **options: object) -> None:
    async with container.unit_of_work() as uow:
        connection = await container.connections.by_name(uow.session, CONNECTION)
        await container.connections.update_options(uow.session, connection, options)
        await uow.commit()


async def test_connection_with_usernames(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await set_options(container, requires_username=True)
    visitor = Visitor(app_client)
    page = await visitor.get("/u/signup")
    assert 'name="username"' in page.text
    missing = await visitor.submit(page, {"email": "ada@example.com", "password": GOOD_PASSWORD})
    assert missing.response.status_code == 400 and "Choose a username." in missing.text
    bad = await visitor.submit(
        missing, {"email": "ada@example.com", "username": "ada lovelace", "password": GOOD_PASSWORD}
    )
    assert bad.response.status_code == 400 and "Username may contain" in bad.text
    ok = await visitor.submit(
        bad, {"email": "ada@example.com", "username": "Ada_L", "password": GOOD_PASSWORD}
    )
    assert ok.response.url.path == "/u/account"

    other = Visitor(
        httpx.AsyncClient(transport=app_client._transport, base_url=app_client.base_url)
    )
    taken = await other.signup("grace@example.com", username="ada_l")
    assert taken.response.status_code == 409 and "username is already taken" in taken.text

    login_page = await other.get("/u/login")
    assert "Email or username" in login_page.text
    by_username = await other.submit(login_page, {"username": "ADA_L", "password": GOOD_PASSWORD})
    assert by_username.response.url.path == "/u/account"


async def test_disabled_signup(app_client: httpx.AsyncClient, container: Container) -> None:
    await set_options(container, disable_signup=True)
    page = await Visitor(app_client).get("/u/signup")
    assert page.response.status_code == 403 and "Sign-up is disabled" in page.text
    login = await Visitor(app_client).get("/u/login")
    assert "/u/signup" not in login.text


async def test_connection_password_policy_applies(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await set_options(container, passwordPolicy="low")
    page = await Visitor(app_client).signup("low@example.com", password="simple")
    assert page.response.url.path == "/u/account"


async def test_pages_are_branded_per_application(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session,
            name="InnovaShoes Store",
            logo_uri="https://cdn.example.com/shoe.png",
            primary_color="#ff6600",
        )
        connection = await container.connections.by_name(uow.session, CONNECTION)
        await container.connections.enable_for(uow.session, connection, made.client.client_id)
        shop_id = made.client.client_id
        with pytest.raises(InvalidInput, match="hex colour"):
            await container.clients.create(uow.session, name="Evil", primary_color="red;}body{")
        await uow.commit()
    page = await Visitor(app_client).get(f"/u/login?client_id={shop_id}")
    assert "InnovaShoes Store" in page.text
    assert 'src="https://cdn.example.com/shoe.png"' in page.text
    assert "--primary: #ff6600" in page.text
    # Defence in depth: a colour that reached the database some other way is not rendered.
    async with container.unit_of_work() as uow:
        row = await container.clients.get(uow.session, shop_id)
        row.primary_color = "red;}body{"
        await uow.commit()
    evil_page = await Visitor(app_client).get(f"/u/login?client_id={shop_id}")
    assert "body{" not in evil_page.text and "--primary: #3a4ccf" in evil_page.text


async def test_connection_not_enabled_for_application_is_refused(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    async with container.unit_of_work() as uow:
        made = await container.clients.create(uow.session, name="Lonely App")
        await uow.commit()
    page = await Visitor(app_client).get(f"/u/login?client_id={made.client.client_id}")
    assert page.response.status_code == 400
    assert "No database connection is enabled" in page.text


async def test_wrong_content_type_gets_a_clear_error(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    page = await Visitor(app_client).get("/u/login")
    response = await app_client.post(page.action(), json={"username": "ada@example.com"})
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.text
