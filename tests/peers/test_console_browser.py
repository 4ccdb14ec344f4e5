"""The staff console in a real browser: login, the vendored htmx and Chart.js load under the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.peers.conftest import LiveServer
from tests.peers.console_browser import console_admin, console_log_in, create_staff

pytestmark = pytest.mark.browser


def _errors(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.append(message.text)

    page.on("console", on_console)
    page.on("requestfailed", lambda request: found.append(f"request failed: {request.url}"))
    page.on(
        "response",
        lambda response: (
            found.append(f"{response.status}: {response.url}") if response.status >= 400 else None
        ),
    )
    return found


def test_admin_logs_in_and_the_libraries_load(server: LiveServer, page: Page) -> None:
    errors = _errors(page)
    console_log_in(page, server, console_admin(server))
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.Chart") == "function"
    assert page.evaluate("window.Chart.version").startswith("4.")
    assert page.evaluate("window.htmx.version").startswith("2.")
    # A chart declared the way pages declare them is drawn by console.js.
    drawn = page.evaluate(
        """() => {
            const canvas = document.createElement("canvas");
            canvas.setAttribute("data-chart", JSON.stringify({
                type: "bar", data: {labels: ["a", "b"], datasets: [{data: [1, 2]}]}}));
            document.querySelector("main").appendChild(canvas);
            window.identaConsole.drawCharts(document);
            return window.Chart.getChart(canvas) !== undefined;
        }"""
    )
    assert drawn
    nav = page.get_by_role("navigation", name="Console")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_role("cell", name="console.login").first).to_be_visible()
    expect(nav.get_by_role("link", name="Audit")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_have_text("You have been logged out.")
    assert errors == []


def test_analyst_sees_no_audit_link_and_is_refused_the_page(server: LiveServer, page: Page) -> None:
    analyst = create_staff(server, "analyst", name="Ana Lyst")
    console_log_in(page, server, analyst)
    expect(page.get_by_text("Ana Lyst").first).to_be_visible()
    expect(page.get_by_role("link", name="Audit")).to_have_count(0)
    answer = page.goto(f"{server.url}/console/audit")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
