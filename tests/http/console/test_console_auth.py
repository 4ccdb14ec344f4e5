"""The console's login, logout, session cookie, CSRF and attempt limits."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import func, select

from identa.console.models import AuditEntry, StaffSession
from identa.container import Container
from tests.http.console.conftest import (
    ConsoleLogin,
    MakeStaff,
    csrf_token_in,
    sign_in,
)

ClientFactory = Callable[[], httpx.AsyncClient]


async def _audit(container: Container) -> list[AuditEntry]:
    async with container.unit_of_work() as uow:
        rows = await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return list(rows.all())


async def test_login_sets_a_strict_console_cookie_and_shows_the_staff_member(
    make_staff: MakeStaff, console_client_factory: ClientFactory, container: Container
) -> None:
    staff = await make_staff("support", name="Sam Support")
    client = console_client_factory()
    answer = await sign_in(client, staff.email.upper(), staff.password)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("identa_console=")
    )
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/console" in lowered
    assert "secure" not in lowered  # the test deployment runs on http
    home = await client.get("/console/")
    assert home.status_code == 200
    assert "Sam Support" in home.text and ">support<" in home.text
    csp = home.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp
    entries = await _audit(container)
    assert [(e.action, e.outcome, e.staff_id) for e in entries] == [
        ("console.login", "success", staff.id)
    ]
    assert entries[0].ip == "203.0.113.20"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    make_staff: MakeStaff, console_client_factory: ClientFactory, container: Container
) -> None:
    staff = await make_staff("admin")
    client = console_client_factory()
    wrong = await sign_in(client, staff.email, "not-the-password")
    unknown = await sign_in(client, "nobody@staff.example.com", "not-the-password")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "Wrong email or password." in answer.text
        assert "identa_console=" not in answer.headers.get("set-cookie", "")
    assert (await client.get("/console/")).status_code == 303
    outcomes = [(e.staff_email, e.outcome) for e in await _audit(container)]
    assert outcomes == [(staff.email, "failure"), ("nobody@staff.example.com", "failure")]


async def test_login_without_csrf_token_is_refused(
    make_staff: MakeStaff, console_client_factory: ClientFactory, container: Container
) -> None:
    staff = await make_staff("admin")
    client = console_client_factory()
    await client.get("/console/login")
    answer = await client.post(
        "/console/login", data={"email": staff.email, "password": staff.password}
    )
    assert answer.status_code == 403
    assert "expired" in answer.text
    async with container.unit_of_work() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_disabled_staff_cannot_log_in(
    make_staff: MakeStaff, console_client_factory: ClientFactory
) -> None:
    staff = await make_staff("admin", disabled=True)
    client = console_client_factory()
    answer = await sign_in(client, staff.email, staff.password)
    assert answer.status_code == 403
    assert "This staff account is disabled." in answer.text
    assert (await client.get("/console/")).status_code == 303


async def test_too_many_attempts_are_refused_even_with_the_right_password(
    make_staff: MakeStaff, console_client_factory: ClientFactory
) -> None:
    staff = await make_staff("admin")
    client = console_client_factory()
    for _ in range(10):
        assert (await sign_in(client, staff.email, "wrong-password")).status_code == 401
    answer = await sign_in(client, staff.email, staff.password)
    assert answer.status_code == 429
    assert "Too many login attempts" in answer.text
    assert int(answer.headers["retry-after"]) >= 1


async def test_anonymous_requests_go_to_the_login_page(
    console_client_factory: ClientFactory,
) -> None:
    client = console_client_factory()
    answer = await client.get("/console/audit?page=2")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/audit%3Fpage%3D2"
    htmx = await client.get("/console/", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/console/login")


async def test_login_only_returns_inside_the_console(
    make_staff: MakeStaff, console_client_factory: ClientFactory
) -> None:
    staff = await make_staff("analyst")
    client = console_client_factory()
    page = await client.get("/console/login?next=//evil.example/x")
    answer = await client.post(
        "/console/login",
        data={
            "csrf_token": csrf_token_in(page.text),
            "email": staff.email,
            "password": staff.password,
            "next": "//evil.example/x",
        },
    )
    assert answer.headers["location"] == "/console/"


async def test_logout_revokes_the_session(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("analyst")
    cookie = session.client.cookies.get("identa_console")
    assert cookie
    answer = await session.post("/console/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?logged_out=1"
    # The old token no longer works even if a browser kept it.
    session.client.cookies.set("identa_console", cookie, path="/console")
    assert (await session.client.get("/console/")).status_code == 303
    assert [e.action for e in await _audit(container)][-1] == "console.logout"


async def test_vendored_libraries_are_served(console_client_factory: ClientFactory) -> None:
    client = console_client_factory()
    for path, marker in (
        ("/console/static/vendor/htmx.min.js", "htmx"),
        ("/console/static/vendor/chart.umd.min.js", "Chart.js v4"),
        ("/console/static/console.js", "drawCharts"),
    ):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert "javascript" in answer.headers["content-type"]
        assert marker in answer.text
    assert (await client.get("/console/static/console.css")).status_code == 200
