"""Password login on the hosted page: sessions, events, enumeration safety, brute force."""

from __future__ import annotations

import contextlib
import statistics
import time

import httpx
from sqlalchemy import select

from identa.container import Container
from identa.identity.models import PasswordCredential, User
from identa.identity.passwords import PasswordHasher
from identa.notify.providers import MemoryProvider
from identa.sessions.models import SsoSession
from tests.factories import GOOD_PASSWORD, Visitor, create_user, deliver_mail, link_in, log_types


def fresh(app_client: httpx.AsyncClient) -> Visitor:
    return Visitor(httpx.AsyncClient(transport=app_client._transport, base_url=app_client.base_url))


async def test_login_starts_session_and_records_success(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    page = await Visitor(app_client).login("ADA@example.com")
    assert page.response.url.path == "/u/account"
    assert "ada@example.com" in page.text
    assert await log_types(container, user["user_id"]) == ["ss", "s"]
    async with container.unit_of_work() as uow:
        row = await uow.session.get(User, user["user_id"])
        assert row is not None and row.logins_count == 1 and row.last_ip == "203.0.113.10"
        assert row.last_login is not None


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    wrong = await fresh(app_client).login("ada@example.com", "Wrong-Pass-1")
    unknown = await fresh(app_client).login("nobody@example.com", "Wrong-Pass-1")
    assert wrong.response.status_code == unknown.response.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert "Wrong email or password." in unknown.text
    assert (await log_types(container))[-2:] == ["fp", "fu"]


async def test_unknown_email_costs_the_same_time_as_a_wrong_password(
    container: Container,
) -> None:
    """Both paths run one argon2id verification, so neither is measurably cheaper."""
    await create_user(container, "ada@example.com")
    from identa.identity.errors import WrongCredentials
    from identa.tenants.service import BruteForceSettings

    no_brute_force = BruteForceSettings(enabled=False)

    async def attempt(email: str) -> float:
        async with container.unit_of_work() as uow:
            connection = await container.connections.by_name(
                uow.session, "Username-Password-Authentication"
            )
            started = time.perf_counter()
            with contextlib.suppress(WrongCredentials):
                await container.users.authenticate_password(
                    uow.session,
                    connection,
                    email,
                    "Wrong-Pass-1",
                    ip="198.51.100.1",
                    brute_force=no_brute_force,
                )
            return time.perf_counter() - started

    known = [await attempt("ada@example.com") for _ in range(7)]
    unknown = [await attempt("nobody@example.com") for _ in range(7)]
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.6, (known, unknown)


async def test_each_login_gets_a_new_session_and_the_old_one_is_revoked(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    await visitor.login("ada@example.com")
    first = app_client.cookies.get("identa_session")
    await visitor.login("ada@example.com")
    second = app_client.cookies.get("identa_session")
    assert first and second and first != second
    async with container.unit_of_work() as uow:
        sessions = (
            await uow.session.scalars(select(SsoSession).order_by(SsoSession.created_at))
        ).all()
        assert len(sessions) == 2
        assert sessions[0].revoked_reason == "replaced"
        assert sessions[1].revoked_at is None


async def test_session_cookie_flags(app_client: httpx.AsyncClient, container: Container) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    page = await visitor.get("/u/login")
    response = await app_client.post(
        page.action(),
        data={"csrf_token": page.csrf, "username": "ada@example.com", "password": GOOD_PASSWORD},
    )
    assert response.status_code == 303
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("identa_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain-http public URL in tests; https turns it on


async def test_ten_failures_block_the_pair_and_log_limit_wc(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    statuses = []
    for _ in range(10):
        statuses.append(
            (await visitor.login("ada@example.com", "Wrong-Pass-1")).response.status_code
        )
    assert statuses == [401] * 9 + [429]
    blocked = await visitor.login("ada@example.com", GOOD_PASSWORD)
    assert blocked.response.status_code == 429
    assert "blocked" in blocked.text
    types = await log_types(container, user["user_id"])
    assert types.count("fp") == 9
    assert "limit_wc" in types
    assert types[-1] == "f"
    assert "s" not in types


async def test_block_is_per_ip(app_client: httpx.AsyncClient, container: Container) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    for _ in range(10):
        await visitor.login("ada@example.com", "Wrong-Pass-1")
    other_ip = httpx.ASGITransport(app=app_client._transport.app, client=("198.51.100.7", 1))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=other_ip, base_url=app_client.base_url) as other:
        page = await Visitor(other).login("ada@example.com")
        assert page.response.url.path == "/u/account"


async def test_unknown_identifiers_are_blocked_too(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    visitor = Visitor(app_client)
    statuses = [
        (await visitor.login("ghost@example.com", "Wrong-Pass-1")).response.status_code
        for _ in range(11)
    ]
    assert statuses[-2:] == [429, 429]
    assert "limit_wc" in await log_types(container)


async def test_successful_login_resets_the_failure_count(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    for _ in range(9):
        await visitor.login("ada@example.com", "Wrong-Pass-1")
    assert (await visitor.login("ada@example.com")).response.url.path == "/u/account"
    for _ in range(9):
        page = await visitor.login("ada@example.com", "Wrong-Pass-1")
    assert page.response.status_code == 401


async def test_administrator_unblock_lifts_the_block(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    for _ in range(10):
        await visitor.login("ada@example.com", "Wrong-Pass-1")
    async with container.unit_of_work() as uow:
        row = await container.users.get(uow.session, user["user_id"])
        blocks = await container.users.brute_force_blocks(uow.session, row)
        assert blocks == [
            {
                "identifier": "ada@example.com",
                "ip": "203.0.113.10",
                "connection": "Username-Password-Authentication",
            }
        ]
        assert await container.users.release_brute_force(uow.session, row) == 1
        await uow.commit()
    assert (await visitor.login("ada@example.com")).response.url.path == "/u/account"


async def test_admin_blocked_user_cannot_log_in(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com", blocked=True)
    page = await Visitor(app_client).login("ada@example.com")
    assert page.response.status_code == 401
    assert "blocked" in page.text
    assert (await log_types(container, user["user_id"]))[-1] == "f"


async def test_hash_is_upgraded_when_cost_parameters_change(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    async with container.unit_of_work() as uow:
        credential = (await uow.session.scalars(select(PasswordCredential))).one()
        old_hash = credential.password_hash
    assert old_hash and "m=19456,t=2,p=1" in old_hash
    container.users._hasher = PasswordHasher(memory_cost_kib=12288, time_cost=3, parallelism=1)
    page = await Visitor(app_client).login("ada@example.com")
    assert page.response.url.path == "/u/account"
    async with container.unit_of_work() as uow:
        credential = (await uow.session.scalars(select(PasswordCredential))).one()
        assert credential.password_hash and "m=12288,t=3,p=1" in credential.password_hash
        assert credential.user_id == user["user_id"]


async def test_expired_or_unknown_flow_shows_error_page(app_client: httpx.AsyncClient) -> None:
    page = await Visitor(app_client).get("/u/login?state=does-not-exist")
    assert page.response.status_code == 400
    assert "expired" in page.text
    assert "Start again" in page.text


async def test_completed_flow_cannot_be_replayed(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    page = await visitor.get("/u/login")
    await visitor.submit(page, {"username": "ada@example.com", "password": GOOD_PASSWORD})
    again = await visitor.submit(page, {"username": "ada@example.com", "password": GOOD_PASSWORD})
    assert again.response.status_code == 400
    assert "expired" in again.text


async def test_blocked_owner_gets_an_email_whose_link_unblocks(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    await create_user(container, "ada@example.com")
    await deliver_mail(container, mailbox)
    mailbox.sent.clear()
    visitor = Visitor(app_client)
    for _ in range(10):
        await visitor.login("ada@example.com", "Wrong-Pass-1")
    [mail] = await deliver_mail(container, mailbox)
    assert mail.recipient == "ada@example.com"
    assert mail.subject == "Your Default App account has been blocked"
    assert "203.0.113.10" in mail.text_body
    form = await visitor.get(link_in(mail, "/lo/reset"))
    await visitor.submit(form, {"password": "Fresh-Pass-77", "password_confirm": "Fresh-Pass-77"})
    assert (
        await visitor.login("ada@example.com", "Fresh-Pass-77")
    ).response.url.path == "/u/account"


async def test_no_email_is_sent_when_an_unknown_identifier_is_blocked(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    visitor = Visitor(app_client)
    for _ in range(10):
        await visitor.login("ghost@example.com", "Wrong-Pass-1")
    assert await deliver_mail(container, mailbox) == []


async def test_guessing_the_current_password_on_the_account_page_is_limited(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    page = await visitor.login("ada@example.com")
    for _ in range(10):
        page = await visitor.submit(
            page,
            {
                "current_password": "guess",
                "new_password": "Another-Pass-9",
                "new_password_confirm": "Another-Pass-9",
            },
            action="/u/account/password",
        )
    assert page.response.status_code == 400 and "Too many wrong passwords" in page.text
    page = await visitor.submit(
        page,
        {
            "current_password": GOOD_PASSWORD,
            "new_password": "Another-Pass-9",
            "new_password_confirm": "Another-Pass-9",
        },
        action="/u/account/password",
    )
    assert "Too many wrong passwords" in page.text
    types = await log_types(container, user["user_id"])
    assert "limit_wc" in types and "scp" not in types
    blocked_login = await Visitor(app_client).login("ada@example.com")
    assert blocked_login.response.status_code == 429
