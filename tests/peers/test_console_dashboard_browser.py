"""The console's dashboard and segment builder in Chromium, over the InnovaShoes demo data set
(`identa demo`): the charts draw under the CSP, the range changes the figures through htmx, and a
segment is built with its live count, saved, opened and exported as CSV.

Screenshots go to the module's temporary folder; the dashboard's full page is also written to
IDENTA_DASHBOARD_SCREENSHOT when that is set (the README's picture)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.peers.conftest import LiveServer, identa_command
from tests.peers.console_browser import console_admin, console_log_in, create_staff

pytestmark = pytest.mark.browser

DEMO_CUSTOMERS = 1500
CHARTS = ("chart-daily", "chart-active", "chart-funnel", "chart-connection", "chart-country",
          "chart-device", "chart-browser", "chart-os", "chart-gender", "chart-age_band",
          "chart-interest")  # fmt: skip
QUERY = "app_metadata.demographics.gender:male AND app_metadata.demographics.interests:fitness"


@pytest.fixture(scope="module")
def demo_server(live_server: LiveServer) -> Iterator[LiveServer]:
    """The module's server with the demo data set loaded once."""
    done = subprocess.run(
        [*identa_command(), "demo", "--customers", str(DEMO_CUSTOMERS)],
        env=live_server.env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"`identa demo` failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
    yield live_server


def _console_errors(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.append(message.text)

    page.on("console", on_console)
    page.on(
        "response",
        lambda response: (
            found.append(f"{response.status}: {response.url}") if response.status >= 400 else None
        ),
    )
    return found


def _chart_js(name: str) -> str:
    """A browser expression: the Chart.js chart drawn on the canvas named `name`."""
    return f"window.Chart.getChart(document.querySelector('canvas[data-canvas=\"{name}\"]'))"


def _drawn(page: Page, canvas_id: str) -> int:
    """How many labels the Chart.js chart on that canvas has (-1: no chart drawn)."""
    count: int = page.evaluate(
        """(id) => {
            const canvas = document.querySelector(`canvas[data-canvas="${id}"]`);
            const chart = canvas && window.Chart.getChart(canvas);
            return chart ? chart.data.labels.length : -1;
        }""",
        canvas_id,
    )
    return count


def test_dashboard_draws_its_charts_and_follows_the_range(
    demo_server: LiveServer, page: Page, screenshots: Path
) -> None:
    errors = _console_errors(page)
    console_log_in(page, demo_server, console_admin(demo_server))
    for canvas in CHARTS:
        expect(page.locator(f'canvas[data-canvas="{canvas}"]')).to_be_attached()
    page.wait_for_function(f"() => window.Chart && {_chart_js('chart-daily')}")
    for canvas in CHARTS:
        assert _drawn(page, canvas) > 0, canvas
    assert _drawn(page, "chart-daily") == 30
    total = page.locator('[data-figure="total"]').inner_text()
    assert int(total.replace(",", "")) >= DEMO_CUSTOMERS
    expect(page.locator("#retention tbody tr").first).to_be_visible()
    logins_30 = page.locator('[data-figure="signups"]').inner_text()
    page.screenshot(path=str(screenshots / "dashboard-30-days.png"), full_page=True)

    # A preset: htmx swaps the body (no reload), the address follows, the charts redraw.
    page.evaluate("() => { window.__sameDocument = true; }")
    page.get_by_role("button", name="7 days").click()
    today = datetime.now(UTC).date()
    expect(page.locator("#dash-range")).to_have_attribute(
        "data-from", (today - timedelta(days=6)).isoformat()
    )
    assert page.evaluate("() => window.__sameDocument") is True
    assert "days=7" in page.url
    # Between the swap and the redraw there is no chart on the new canvas yet: wait, not fail.
    page.wait_for_function(f"() => {_chart_js('chart-daily')}?.data.labels.length === 7")
    logins_7 = page.locator('[data-figure="signups"]').inner_text()
    assert int(logins_7.replace(",", "")) <= int(logins_30.replace(",", ""))

    # A backwards range: a message on the page, the figures gone, nothing broken.
    page.get_by_label("From", exact=True).fill((today - timedelta(days=3)).isoformat())
    page.get_by_label("To", exact=True).fill((today - timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#dash-error")).to_contain_text("is before From")
    expect(page.locator('[data-figure="total"]')).to_have_count(0)

    # The README's picture: a quarter of the demo.
    page.goto(f"{demo_server.url}/console/?days=90")
    page.wait_for_function(f"() => {_chart_js('chart-interest')} !== undefined")
    assert _drawn(page, "chart-daily") == 90
    page.screenshot(path=str(screenshots / "dashboard-90-days.png"), full_page=True)
    target = os.environ.get("IDENTA_DASHBOARD_SCREENSHOT")
    if target:
        page.screenshot(path=target, full_page=True)
    assert errors == []


def test_build_save_open_and_export_a_segment(
    demo_server: LiveServer, page: Page, screenshots: Path
) -> None:
    errors = _console_errors(page)
    console_log_in(page, demo_server, console_admin(demo_server))
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Segments").click()
    expect(page.get_by_role("heading", name="Build a segment")).to_be_visible()

    box = page.get_by_label("Query")
    box.fill("app_metadata.demographics.gender:(male")
    expect(page.locator("#query-error")).to_contain_text("Invalid segment query")
    box.fill(QUERY)
    count = page.locator("#query-count")
    expect(count).to_be_visible()
    members = int(count.get_attribute("data-count") or "-1")
    assert members > 0
    page.screenshot(path=str(screenshots / "segment-builder.png"), full_page=True)

    page.get_by_label("Name").fill("Men into fitness")
    page.get_by_label("Description").fill("Spring running campaign")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="Men into fitness")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Segment saved.")
    expect(page.locator("#segment-count")).to_have_attribute("data-count", str(members))
    page.wait_for_function(f"() => {_chart_js('chart-trend')} !== undefined")
    expect(page.locator("#members tbody tr")).to_have_count(min(25, members))
    page.screenshot(path=str(screenshots / "segment-detail.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == members
    assert all(r["user_id"] for r in rows)

    # The saved segment is listed with its count, and filters the dashboard.
    page.get_by_role("link", name="← Segments").click()
    row = page.locator("#saved-segments tbody tr", has_text="Men into fitness")
    expect(row.locator("td.num")).to_have_attribute("data-count", str(members))
    page.get_by_role("link", name="Men into fitness").click()
    page.get_by_role("link", name="Dashboard", exact=True).last.click()
    expect(page.locator("#dash-range")).to_contain_text("Men into fitness")
    assert int(page.locator('[data-figure="total"]').inner_text().replace(",", "")) == members
    assert errors == []


def test_analyst_counts_but_cannot_save(demo_server: LiveServer, page: Page) -> None:
    analyst = create_staff(demo_server, "analyst", name="Ana Lyst")
    console_log_in(page, demo_server, analyst)
    page.goto(f"{demo_server.url}/console/segments")
    page.get_by_label("Query").fill("logins_count:[* TO 1]")
    expect(page.locator("#query-count")).to_be_visible()
    expect(page.get_by_role("button", name="Save segment")).to_have_count(0)
    expect(page.get_by_text("Only admins can save segments")).to_be_visible()
