"""Role guard, require_role, audit() and the audit page."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from identa.console.models import AuditEntry
from identa.console.service import ConsoleServices
from identa.container import Container
from identa.db.uow import UnitOfWork
from identa.http.console.auth import Staff, audit, console_uow, current_staff, role_guard
from tests.http.console.conftest import ConsoleLogin


@pytest.fixture
def probes(console_app: FastAPI) -> None:
    """Actions behind the console's guard, as page builders will add them."""
    r = APIRouter(dependencies=[Depends(role_guard)])

    async def act(
        request: Request,
        target: str,
        commit: bool,
        staff: Staff,
        uow: UnitOfWork,
    ) -> Response:
        await audit(uow.session, request, staff, "probe.act", target_type="probe", target_id=target)
        if commit:
            await uow.commit()
        return PlainTextResponse("done")

    @r.post("/console/customers/{target}/block")
    async def customer_action(
        request: Request,
        target: str,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        is_form = request.headers.get("content-type", "").startswith("application/x-www-form")
        form = await request.app.state.console.form(request) if is_form else {}
        commit = form.get("commit") != "no"
        return await act(request, target, commit, staff, uow)

    @r.post("/console/segments/{target}/delete")
    async def segment_action(
        request: Request,
        target: str,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        return await act(request, target, True, staff, uow)

    console_app.router.routes[:0] = r.routes


async def _count(container: Container) -> int:
    async with container.unit_of_work() as uow:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "probe.act")
        return int(await uow.session.scalar(query) or 0)


@pytest.mark.parametrize(
    ("role", "customer", "segment"),
    [("admin", 200, 200), ("support", 200, 403), ("analyst", 403, 403)],
)
async def test_role_guard(
    probes: None,
    console_login: ConsoleLogin,
    container: Container,
    role: str,
    customer: int,
    segment: int,
) -> None:
    session = await console_login(role)
    on_customer = await session.post("/console/customers/c1/block")
    on_segment = await session.post("/console/segments/s1/delete")
    assert (on_customer.status_code, on_segment.status_code) == (customer, segment)
    refused = [a for a in (on_customer, on_segment) if a.status_code == 403]
    for answer in refused:
        assert "Not allowed" in answer.text
    assert await _count(container) == 2 - len(refused)
    # Analysts may still log out.
    assert (await session.post("/console/logout")).status_code == 303


async def test_guard_checks_csrf_on_every_change(
    probes: None, console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("admin")
    missing = await session.client.post("/console/customers/c1/block", data={"x": "1"})
    assert missing.status_code == 403
    via_header = await session.htmx("POST", "/console/customers/c1/block")
    assert via_header.status_code == 200
    assert await _count(container) == 1


async def test_audit_is_kept_only_with_the_action(
    probes: None, console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("support")
    assert (await session.post("/console/customers/c1/block", {"commit": "no"})).status_code == 200
    assert await _count(container) == 0
    assert (await session.post("/console/customers/c2/block")).status_code == 200
    async with container.unit_of_work() as uow:
        entry = await uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "probe.act"))
    assert entry is not None
    assert (entry.staff_id, entry.staff_email, entry.target_type, entry.target_id) == (
        session.staff.id,
        session.staff.email,
        "probe",
        "c2",
    )


@pytest.mark.parametrize("role", ["analyst", "support"])
async def test_audit_page_is_for_admins_only(console_login: ConsoleLogin, role: str) -> None:
    session = await console_login(role)
    page = await session.client.get("/console/audit")
    assert page.status_code == 403
    assert "This page is for admins only." in page.text
    home = await session.client.get("/console/")
    assert 'href="/console/audit"' not in home.text


async def test_audit_page_lists_entries_newest_first_in_pages(
    console_login: ConsoleLogin, container: Container, console_services: ConsoleServices
) -> None:
    session = await console_login("admin")  # its login is entry 1
    async with container.unit_of_work() as uow:
        for n in range(60):
            await console_services.audit.record(
                uow.session,
                staff_id=session.staff.id,
                staff_email=session.staff.email,
                action="customer.block",
                target_type="user",
                target_id=f"auth0|{n:04d}",
                details={"n": n},
            )
        await uow.commit()
    first = await session.client.get("/console/audit")
    assert first.status_code == 200
    assert "61 entries" in first.text and "Page 1 of 2" in first.text
    assert first.text.index("auth0|0059") < first.text.index("auth0|0058")
    assert "auth0|0010" in first.text and "auth0|0009" not in first.text
    second = await session.client.get("/console/audit?page=2")
    assert "Page 2 of 2" in second.text and "auth0|0009" in second.text
    assert "auth0|0000" in second.text and "auth0|0010" not in second.text
    assert "console.login" in second.text
    assert 'href="/console/audit" aria-current="page"' in second.text


async def test_home_shows_customer_totals(
    console_login: ConsoleLogin, api: httpx.AsyncClient
) -> None:
    for n in range(3):
        created = await api.post(
            "/api/v2/users",
            json={
                "email": f"customer{n}@example.com",
                "password": "Customer-Password-9",
                "connection": "Username-Password-Authentication",
            },
        )
        assert created.status_code == 201, created.text
    session = await console_login("analyst", name="Ana Lyst")
    home = await session.client.get("/console/")
    assert 'data-figure="total">3<' in home.text
    assert "Ana Lyst" in home.text and "analyst" in home.text
