"""Helpers for console pages in a real browser, against a `live_server`.

`console_admin(server)`: the administrator `identa init` created (from console-admin.json);
`create_staff(server, role, ...)`: a new staff account through `identa console staff create`;
`console_log_in(page, server, staff)`: the login form, as a person fills it in.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.peers.conftest import LiveServer, identa_command

STAFF_PASSWORD = "Staff-Password-123"


@dataclass(frozen=True)
class StaffLogin:
    email: str
    password: str
    role: str


def console_admin(server: LiveServer) -> StaffLogin:
    saved = json.loads((server.data_dir / "console-admin.json").read_text(encoding="utf-8"))
    return StaffLogin(email=saved["email"], password=saved["password"], role="admin")


def create_staff(
    server: LiveServer,
    role: str,
    *,
    email: str | None = None,
    password: str = STAFF_PASSWORD,
    name: str | None = None,
) -> StaffLogin:
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@staff.example.com"
    command = [*identa_command(), "console", "staff", "create", "--email", email]
    command += ["--role", role, "--password", password]
    if name:
        command += ["--name", name]
    done = subprocess.run(command, env=server.env, capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(f"`identa console staff create` failed:\n{done.stderr.decode()[-2000:]}")
    return StaffLogin(email=email, password=password, role=role)


def console_log_in(page: Page, server: LiveServer, staff: StaffLogin) -> None:
    """Opens /console/login, logs in and waits for the dashboard."""
    page.goto(f"{server.url}/console/login")
    expect(page.get_by_role("heading", name="Staff console")).to_be_visible()
    page.get_by_label("Email address", exact=True).fill(staff.email)
    page.get_by_label("Password", exact=True).fill(staff.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/console/")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
