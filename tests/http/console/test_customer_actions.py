"""Actions on the customer-360 page through the ASGI app: each per role (analysts refused),
with its audit entry, log event and e-mail; a customer deleted meanwhile changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from identa.container import Container
from identa.jobs.models import Job
from identa.notify.providers import MemoryProvider
from tests.factories import create_user, deliver_mail, link_in
from tests.http.console.conftest import ConsoleLogin, ConsoleSession
from tests.http.console.customer_data import (
    MAIN,
    audit_entries,
    log_types_of,
    page_url,
    rich_customer,
)

# -- actions -------------------------------------------------------------------------------------


async def act(session: ConsoleSession, user_id: str, action: str, **form: str) -> Any:
    return await session.post(f"{page_url(user_id)}/{action}", form)


@pytest.mark.parametrize("role", ["admin", "support"])
async def test_block_and_unblock(
    console_login: ConsoleLogin, container: Container, role: str
) -> None:
    session = await console_login(role)
    customer = await create_user(container, "blockme@shop.example")
    user_id = customer["user_id"]
    blocked = await act(session, user_id, "block")
    assert blocked.status_code == 303
    assert blocked.headers["location"] == f"{page_url(user_id)}?done=blocked"
    page = await session.client.get(blocked.headers["location"])
    assert "The customer was blocked" in page.text and ">Blocked</span>" in page.text
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, user_id)
        assert user is not None and user.blocked is True
    unblocked = await act(session, user_id, "unblock")
    assert unblocked.headers["location"] == f"{page_url(user_id)}?done=unblocked"
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, user_id)
        assert user is not None and user.blocked is False
    entries = await audit_entries(container, "customer.block")
    assert [(e.staff_email, e.target_id, e.outcome) for e in entries] == [
        (session.staff.email, user_id, "success")
    ]
    assert [e.outcome for e in await audit_entries(container, "customer.unblock")] == ["success"]
    assert (await log_types_of(container, user_id))[-2:] == ["sapi", "sapi"]


@pytest.mark.parametrize(
    "action", ["block", "unblock", "delete", "password-reset", "verification-email", "unlink"]
)
async def test_analysts_may_not_act(
    console_login: ConsoleLogin, container: Container, action: str
) -> None:
    session = await console_login("analyst")
    customer = await rich_customer(container)
    user_id = customer["user_id"]
    before = await log_types_of(container, user_id)
    answer = await act(session, user_id, action, provider="auth0", identity_user_id="x")
    assert answer.status_code == 403 and "Not allowed" in answer.text
    confirm = await session.client.get(f"{page_url(user_id)}/delete")
    assert confirm.status_code == 403
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, user_id)
        assert user is not None and not user.blocked and len(user.identities) == 2
    assert await log_types_of(container, user_id) == before
    assert await audit_entries(container, f"customer.{action.replace('-', '_')}") == []


async def test_actions_need_the_csrf_token(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("admin")
    customer = await create_user(container, "csrf@shop.example")
    answer = await session.client.post(f"{page_url(customer['user_id'])}/block", data={"a": "1"})
    assert answer.status_code == 403
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, customer["user_id"])
        assert user is not None and not user.blocked


@pytest.mark.parametrize("role", ["admin", "support"])
async def test_delete_with_a_confirm_step(
    console_login: ConsoleLogin, container: Container, role: str
) -> None:
    session = await console_login(role)
    customer = await create_user(container, "goner@shop.example")
    user_id = customer["user_id"]
    confirm = await session.client.get(f"{page_url(user_id)}/delete")
    assert confirm.status_code == 200 and "Delete this customer?" in confirm.text
    assert f'action="{page_url(user_id)}/delete"' in confirm.text
    deleted = await act(session, user_id, "delete")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/console/customers?done=deleted"
    listing = await session.client.get(deleted.headers["location"])
    assert "The customer was deleted." in listing.text
    async with container.unit_of_work() as uow:
        assert await container.users.find(uow.session, user_id) is None
    assert "sdu" in await log_types_of(container, user_id)
    [entry] = await audit_entries(container, "customer.delete")
    assert (entry.outcome, entry.details) == ("success", {"email": "goner@shop.example"})


async def test_acting_on_a_customer_deleted_meanwhile(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("support")
    customer = await create_user(container, "twice@shop.example")
    user_id = customer["user_id"]
    assert (await act(session, user_id, "delete")).status_code == 303
    events = await log_types_of(container, user_id)
    for action in ("block", "delete", "password-reset", "verification-email"):
        again = await act(session, user_id, action)
        assert again.status_code == 404, action
        assert "may have been deleted meanwhile. Nothing was changed." in again.text
    assert await log_types_of(container, user_id) == events
    failures = await audit_entries(container, "customer.block")
    assert [(e.outcome, e.details) for e in failures] == [
        ("failure", {"reason": "customer not found"})
    ]
    gone_page = await session.client.get(page_url(user_id))
    assert gone_page.status_code == 404


async def test_password_reset_and_verification_emails(
    console_login: ConsoleLogin, container: Container, mailbox: MemoryProvider
) -> None:
    session = await console_login("support")
    customer = await create_user(container, "mail@shop.example")
    user_id = customer["user_id"]
    await deliver_mail(container, mailbox)
    mailbox.sent.clear()
    reset = await act(session, user_id, "password-reset")
    assert reset.headers["location"] == f"{page_url(user_id)}?done=reset"
    verify = await act(session, user_id, "verification-email")
    assert verify.headers["location"] == f"{page_url(user_id)}?done=verification"
    page = await session.client.get(verify.headers["location"])
    assert "A verification e-mail is on its way" in page.text
    sent = await deliver_mail(container, mailbox)
    assert [m.recipient for m in sent] == ["mail@shop.example", "mail@shop.example"]
    assert link_in(sent[0], "/lo/reset")
    assert link_in(sent[1], "/lo/verify_email")
    types = await log_types_of(container, user_id)
    assert types[-2:] == ["scpr", "sapi"]
    async with container.unit_of_work() as uow:
        jobs = (await uow.session.scalars(select(Job.type))).all()
    assert "verification_email" in jobs
    [reset_audit] = await audit_entries(container, "customer.password_reset")
    assert reset_audit.details["recipient"] == "mail@shop.example"
    [verify_audit] = await audit_entries(container, "customer.verification_email")
    assert verify_audit.outcome == "success"


async def test_unlink_a_secondary_identity(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("admin")
    customer = await rich_customer(container)
    user_id = customer["user_id"]
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, user_id)
        assert user is not None
        secondary = user.identities[1]
        provider, identity_id = secondary.provider, secondary.provider_user_id
        primary_provider, primary_id = (
            user.identities[0].provider,
            user.identities[0].provider_user_id,
        )
    refused = await act(
        session, user_id, "unlink", provider=primary_provider, identity_user_id=primary_id
    )
    assert refused.status_code == 409 and "cannot be unlinked" in refused.text
    done = await act(session, user_id, "unlink", provider=provider, identity_user_id=identity_id)
    assert done.headers["location"] == f"{page_url(user_id)}?done=unlinked"
    async with container.unit_of_work() as uow:
        user = await container.users.find(uow.session, user_id)
        assert user is not None and [i.connection_name for i in user.identities] == [MAIN]
        standalone = await container.users.find(uow.session, f"{provider}|{identity_id}")
        assert standalone is not None and standalone.email == "rita.loyal@shop.example"
    again = await act(session, user_id, "unlink", provider=provider, identity_user_id=identity_id)
    assert again.status_code == 409 and "not linked to this customer" in again.text
    entries = await audit_entries(container, "customer.unlink")
    assert [e.outcome for e in entries] == ["failure", "success", "failure"]
    assert entries[1].details["new_user_id"] == f"{provider}|{identity_id}"
    assert (await log_types_of(container, user_id))[-1] == "sapi"
