"""Verification and reset links, the self-service account page, logout."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from identa.container import Container
from identa.identity.models import User
from identa.notify.providers import MemoryProvider
from identa.sessions.models import SsoSession
from tests.factories import GOOD_PASSWORD, Visitor, create_user, deliver_mail, link_in, log_types

NEW_PASSWORD = "Brand-New-Pass-42"


async def user_row(container: Container, user_id: str) -> User:
    async with container.unit_of_work() as uow:
        user = await uow.session.get(User, user_id)
        assert user is not None
        await uow.commit()  # keeps the loaded attributes (no expiry on commit)
        return user


async def test_verification_link_verifies_once(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    user = await create_user(container, "ada@example.com")
    [mail] = await deliver_mail(container, mailbox)
    link = link_in(mail, "/lo/verify_email")
    visitor = Visitor(app_client)
    page = await visitor.get(link)
    assert page.response.status_code == 200 and "Email verified" in page.text
    assert (await user_row(container, user["user_id"])).email_verified
    again = await visitor.get(link)
    assert again.response.status_code == 400 and "invalid or has expired" in again.text
    types = await log_types(container)
    assert "sv" in types and types[-1] == "fv"


async def test_resend_verification_from_account_page(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    account = await visitor.login("ada@example.com")
    page = await visitor.submit(account, {}, action="/u/account/verification")
    assert "new verification email" in page.text
    sent = await deliver_mail(container, mailbox)
    assert len(sent) == 2 and all(m.recipient == "ada@example.com" for m in sent)
    assert "svr" in await log_types(container)


async def test_reset_password_flow(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    await visitor.login("ada@example.com")
    await deliver_mail(container, mailbox)
    mailbox.sent.clear()

    request_page = await visitor.get("/u/reset-password/request")
    done = await visitor.submit(request_page, {"email": "ada@example.com"})
    assert "Check your email" in done.text
    [mail] = await deliver_mail(container, mailbox)
    assert mail.subject.startswith("Reset your password")
    link = link_in(mail, "/lo/reset")

    form = await visitor.get(link)
    mismatch = await visitor.submit(form, {"password": NEW_PASSWORD, "password_confirm": "x"})
    assert mismatch.response.status_code == 400 and "do not match" in mismatch.text
    weak = await visitor.submit(form, {"password": "weak", "password_confirm": "weak"})
    assert weak.response.status_code == 400 and "too weak" in weak.text
    ok = await visitor.submit(form, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert ok.response.status_code == 200 and "Password changed" in ok.text

    replay = await visitor.submit(
        form, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert replay.response.status_code == 400
    async with container.unit_of_work() as uow:
        sessions = (await uow.session.scalars(select(SsoSession))).all()
        assert sessions and all(s.revoked_at is not None for s in sessions)
    assert (await Visitor(app_client).login("ada@example.com")).response.status_code == 401
    assert (
        await Visitor(app_client).login("ada@example.com", NEW_PASSWORD)
    ).response.url.path == "/u/account"
    types = await log_types(container, user["user_id"])
    assert "scpr" in types and "scp" in types and "fcp" in types
    assert (await user_row(container, user["user_id"])).last_password_reset is not None


async def test_reset_request_for_unknown_email_looks_the_same(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    visitor = Visitor(app_client)
    page = await visitor.get("/u/reset-password/request")
    done = await visitor.submit(page, {"email": "nobody@example.com"})
    assert done.response.status_code == 200 and "Check your email" in done.text
    assert await deliver_mail(container, mailbox) == []
    assert await log_types(container) == ["fcpr"]


async def test_successful_reset_lifts_brute_force_block(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    await create_user(container, "ada@example.com")
    await deliver_mail(container, mailbox)
    mailbox.sent.clear()
    visitor = Visitor(app_client)
    for _ in range(10):
        await visitor.login("ada@example.com", "Wrong-Pass-1")
    assert (await visitor.login("ada@example.com")).response.status_code == 429
    page = await visitor.get("/u/reset-password/request")
    await visitor.submit(page, {"email": "ada@example.com"})
    blocked, reset = await deliver_mail(container, mailbox)
    assert "blocked" in blocked.subject and reset.subject.startswith("Reset your password")
    form = await visitor.get(link_in(reset, "/lo/reset"))
    await visitor.submit(form, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert (await visitor.login("ada@example.com", NEW_PASSWORD)).response.url.path == "/u/account"


async def test_account_page_requires_a_session(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/u/account")
    assert response.status_code == 303 and response.headers["location"] == "/u/login"


async def test_edit_profile(app_client: httpx.AsyncClient, container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    account = await visitor.login("ada@example.com")
    saved = await visitor.submit(
        account,
        {
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "nickname": "ada",
            "picture": "https://example.com/ada.png",
        },
        action="/u/account/profile",
    )
    assert "Your profile has been saved." in saved.text and "Ada Lovelace" in saved.text
    row = await user_row(container, user["user_id"])
    assert (row.name, row.given_name, row.family_name) == ("Ada Lovelace", "Ada", "Lovelace")
    assert row.picture == "https://example.com/ada.png"
    bad = await visitor.submit(
        saved, {"name": "x" * 301, "picture": "javascript:alert(1)"}, action="/u/account/profile"
    )
    assert bad.response.status_code == 400
    assert (await user_row(container, user["user_id"])).name == "Ada Lovelace"


async def test_change_password_ends_every_session(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    other = Visitor(
        httpx.AsyncClient(transport=app_client._transport, base_url=app_client.base_url)
    )
    await other.login("ada@example.com")
    visitor = Visitor(app_client)
    account = await visitor.login("ada@example.com")
    wrong = await visitor.submit(
        account,
        {
            "current_password": "nope",
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
        action="/u/account/password",
    )
    assert wrong.response.status_code == 400 and "current password is not correct" in wrong.text
    changed = await visitor.submit(
        wrong,
        {
            "current_password": GOOD_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
        action="/u/account/password",
    )
    assert changed.response.url.path == "/u/login"
    assert "Your password has been changed" in changed.text
    assert (await other.client.get("/u/account")).status_code == 303
    assert (await visitor.client.get("/u/account")).status_code == 303
    assert (await visitor.login("ada@example.com", NEW_PASSWORD)).response.url.path == "/u/account"


async def test_logout_revokes_session(app_client: httpx.AsyncClient, container: Container) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    account = await visitor.login("ada@example.com")
    token = app_client.cookies.get("identa_session")
    page = await visitor.submit(account, {}, action="/u/logout")
    assert "You have been logged out." in page.text
    app_client.cookies.set("identa_session", token or "")  # the browser keeps the old cookie
    response = await app_client.get("/u/account")
    assert response.status_code == 303
    assert (await log_types(container, user["user_id"]))[-1] == "slo"


async def test_logout_without_csrf_is_refused(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    await Visitor(app_client).login("ada@example.com")
    response = await app_client.post("/u/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert (await app_client.get("/u/account")).status_code == 200
