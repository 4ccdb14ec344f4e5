"""Sign-up on the hosted page: a profile in Auth0's shape, a verification e-mail, ss events."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from identa.container import Container
from identa.identity.models import User
from identa.notify.providers import MemoryProvider
from tests.factories import GOOD_PASSWORD, Visitor, deliver_mail, log_types


async def count_users(container: Container) -> int:
    async with container.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(User)) or 0)


async def test_signup_creates_profile_logs_in_and_sends_verification(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    visitor = Visitor(app_client)
    page = await visitor.signup("Grace@Example.com", name="Grace Hopper")
    assert page.response.url.path == "/u/account"
    assert "Grace Hopper" in page.text
    assert "not verified" in page.text
    assert app_client.cookies.get("identa_session")

    async with container.unit_of_work() as uow:
        user = (await uow.session.scalars(select(User))).one()
        assert user.user_id.startswith("auth0|") and len(user.user_id) == len("auth0|") + 24
        assert user.email == "grace@example.com"
        assert user.logins_count == 1
        assert user.identities[0].provider == "auth0"
        assert user.identities[0].connection_name == "Username-Password-Authentication"
        user_id = user.user_id
    assert await log_types(container, user_id) == ["ss", "s"]

    sent = await deliver_mail(container, mailbox)
    assert [m.recipient for m in sent] == ["grace@example.com"]
    assert "/lo/verify_email?ticket=" in sent[0].text_body
    assert sent[0].html_body and "Verify my email" in sent[0].html_body


async def test_second_signup_with_same_email_is_refused_with_clear_message(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await Visitor(app_client).signup("ada@example.com")
    other = Visitor(
        httpx.AsyncClient(transport=app_client._transport, base_url=app_client.base_url)
    )
    page = await other.signup("ADA@example.com", password="Another-Pass-7")
    assert page.response.status_code == 409
    assert "already exists" in page.text
    assert await count_users(container) == 1
    assert (await log_types(container))[-1] == "fs"


async def test_weak_password_lists_the_unmet_rules(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    page = await Visitor(app_client).signup("weak@example.com", password="short")
    assert page.response.status_code == 400
    assert "too weak" in page.text
    assert "At least 8 characters in length" in page.text
    assert await count_users(container) == 0
    assert await log_types(container) == ["fs"]


async def test_invalid_and_overlong_email_are_refused(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    visitor = Visitor(app_client)
    page = await visitor.signup("not-an-email")
    assert page.response.status_code == 400
    assert "Invalid email address" in page.text
    page = await visitor.signup("a" * 60 + "@" + "b" * 190 + ".com")
    assert page.response.status_code == 400
    assert "at most 254 characters" in page.text
    assert await count_users(container) == 0


async def test_password_over_one_kilobyte_is_refused_before_hashing(
    app_client: httpx.AsyncClient, container: Container, monkeypatch: object
) -> None:
    calls: list[str] = []
    original = container.hasher.hash_sync

    def spy(password: str) -> str:
        calls.append(password)
        return original(password)

    container.hasher.hash_sync = spy  # type: ignore[method-assign]
    page = await Visitor(app_client).signup("long@example.com", password="Aa1!" * 300)
    assert page.response.status_code == 400
    assert "at most 1024 bytes" in page.text
    assert calls == []
    assert await count_users(container) == 0


async def test_missing_fields_are_reported_per_field(app_client: httpx.AsyncClient) -> None:
    visitor = Visitor(app_client)
    page = await visitor.get("/u/signup")
    result = await visitor.submit(page, {"email": "", "password": ""})
    assert result.response.status_code == 400
    assert "Enter your email address." in result.text
    assert "Choose a password." in result.text
    assert 'aria-invalid="true"' in result.text


async def test_signup_page_without_csrf_token_is_refused(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    page = await Visitor(app_client).get("/u/signup")
    response = await app_client.post(
        page.action(), data={"email": "x@example.com", "password": GOOD_PASSWORD}
    )
    assert response.status_code == 403
    assert await count_users(container) == 0


async def test_invalid_utf8_in_form_gets_a_clear_error(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    page = await Visitor(app_client).get("/u/signup")
    body = f"csrf_token={page.csrf}&email=%FF%FEbad@example.com&password=x".encode()
    response = await app_client.post(
        page.action(),
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.text
    assert await count_users(container) == 0
