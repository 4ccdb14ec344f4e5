"""The customer explorer and customer-360 page in Chromium: search, open a customer, and each
action through the real page, checked on the page and in the database (read back through the
Management API) after each; no console errors or CSP violations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.peers.conftest import LiveServer
from tests.peers.console_browser import console_log_in, create_staff

pytestmark = pytest.mark.browser

SEED_SCRIPT = Path(__file__).with_name("console_customers_seed.py")
SCREENSHOT = Path("/work/notes/console-customer360.png")


def seed(server: LiveServer, workdir: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    done = subprocess.run(
        [sys.executable, str(SEED_SCRIPT), str(workdir), tag],
        env=server.env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"seeding failed:\n{done.stderr.decode(errors='replace')[-4000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer


class Api:
    """Reads customers back through the Management API (the server's own database)."""

    def __init__(self, server: LiveServer) -> None:
        token = httpx.post(
            f"{server.url}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": server.management_client_id,
                "client_secret": server.management_client_secret,
                "audience": server.management_audience,
            },
        ).json()["access_token"]
        self.client = httpx.Client(
            base_url=f"{server.url}/api/v2", headers={"authorization": f"Bearer {token}"}
        )

    def user(self, user_id: str) -> dict[str, Any] | None:
        answer = self.client.get(f"/users/{quote(user_id, safe='')}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def close(self) -> None:
        self.client.close()

    def log_types(self, user_id: str) -> list[str]:
        answer = self.client.get(
            f"/users/{quote(user_id, safe='')}/logs", params={"sort": "date:-1"}
        )
        return [entry["type"] for entry in answer.json()]


def _problems(page: Page) -> list[str]:
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


@pytest.fixture
def api(server: LiveServer) -> Iterator[Api]:
    reader = Api(server)
    try:
        yield reader
    finally:
        reader.close()


def test_search_open_and_act_on_a_customer(
    server: LiveServer, page: Page, api: Api, tmp_path: Path
) -> None:
    data = seed(server, tmp_path)
    rich = data["rich"]
    problems = _problems(page)
    console_log_in(page, server, create_staff(server, "support", name="Sam Support"))

    # The explorer: the text box, swapped in by htmx, the address remembers it.
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    page.get_by_label("Name or e-mail").fill(rich["email"].split("@")[0])
    page.get_by_role("button", name="Search").click()
    results = page.locator("#results")
    expect(results.get_by_role("link", name=rich["email"])).to_be_visible()
    expect(results.get_by_text("Showing 1–1 of")).to_be_visible()
    expect(page).to_have_url(re.compile(r"text=rita-"))
    # A query in the search syntax, and a column chosen.
    page.get_by_label("Name or e-mail").fill("")
    page.get_by_label("Search query").fill("user_metadata.interests:fitness AND logins_count:>=4")
    page.get_by_label("Sentiment").check()
    expect(page).to_have_url(re.compile(r"col=sentiment"))
    expect(results.get_by_role("columnheader", name="Sentiment")).to_be_visible()
    expect(results.get_by_role("link", name=rich["email"])).to_be_visible()
    page.get_by_label("Search query").fill("logins_count:[1 TO")
    page.get_by_role("button", name="Search").click()
    expect(results.get_by_role("alert")).to_contain_text("The search is not valid")
    page.get_by_label("Search query").fill(f"email:{rich['email']}")
    page.get_by_role("button", name="Search").click()
    results.get_by_role("link", name=rich["email"]).click()

    # The customer-360 page.
    expect(page.get_by_role("heading", name="Rita Runner")).to_be_visible()
    for text in (
        "London, England, United Kingdom",
        "Paris, Île-de-France, France",
        "half marathon",
        "Shoe size",
        "Fitness fans",
    ):
        expect(page.get_by_text(re.compile(re.escape(text), re.I)).first).to_be_visible()
    devices = page.get_by_role("region", name="Devices")
    expect(devices.get_by_role("cell", name="Mobile Safari 17.1", exact=True)).to_be_visible()
    expect(devices.get_by_role("cell", name=re.compile("^Chrome 130"))).to_be_visible()
    timeline = page.get_by_role("region", name=re.compile("Login timeline"))
    expect(
        timeline.get_by_role("cell", name="Chrome 130.0 on Windows 10 (desktop)").first
    ).to_be_visible()
    expect(page.get_by_role("cell", name=rich["secondary_id"], exact=True)).to_be_visible()
    page.get_by_text("profileData").click()
    expect(page.get_by_text(rich["secondary_email"]).first).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Block, then unblock.
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(re.compile("The customer was blocked"))
    expect(page.locator(".c360-head").get_by_text("Blocked", exact=True)).to_be_visible()
    assert (api.user(rich["user_id"]) or {}).get("blocked") is True
    page.get_by_role("button", name="Unblock").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("unblocked"))
    assert (api.user(rich["user_id"]) or {}).get("blocked") is False
    assert api.log_types(rich["user_id"])[:2] == ["sapi", "sapi"]

    # E-mails: a password reset and a verification, both sent.
    page.get_by_role("button", name="Send password reset").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("password-reset e-mail"))
    assert "/lo/reset?ticket=" in server.wait_for_mail(rich["email"], "Reset your password")
    page.get_by_role("button", name="Resend verification").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("verification e-mail"))
    assert "/lo/verify_email?ticket=" in server.wait_for_mail(rich["email"], "Verify your email")
    assert "scpr" in api.log_types(rich["user_id"])

    # Unlink the loyalty identity: it becomes a customer of its own.
    secondary = f"{rich['secondary_provider']}|{rich['secondary_id']}"
    page.get_by_role("button", name=re.compile("^Unlink ")).click()
    expect(page.get_by_role("status")).to_have_text(re.compile("The identity was unlinked"))
    expect(page.get_by_role("button", name=re.compile("^Unlink "))).to_have_count(0)
    assert len((api.user(rich["user_id"]) or {})["identities"]) == 1
    assert (api.user(secondary) or {}).get("email") == rich["secondary_email"]

    # Delete, through the confirm step.
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete this customer?")).to_be_visible()
    page.get_by_role("button", name="Delete the customer").click()
    expect(page.get_by_role("status")).to_have_text("The customer was deleted.")
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    assert api.user(rich["user_id"]) is None
    assert problems == []
