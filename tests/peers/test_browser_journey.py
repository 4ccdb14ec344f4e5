"""A person in a real browser (Debian's chromium through Playwright) on the hosted pages.

Every step is checked on what the page shows, found by label and role as a screen reader would.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.peers.conftest import LiveServer, unique_email, watch_for_page_problems

pytestmark = pytest.mark.browser

PASSWORD = "Correct-Horse-9"
NEW_PASSWORD = "Battery-Staple-42"
WRONG_PASSWORD = "Wrong-Password-1"
PHONE: ViewportSize = {"width": 375, "height": 667}


# -- what a person does ------------------------------------------------------------------------


def sign_up(page: Page, server: LiveServer, email: str, password: str, name: str = "") -> None:
    page.goto(f"{server.url}/u/signup")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Email address", exact=True).fill(email)
    if name:
        page.get_by_label("Full name (optional)", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()


def submit_login(page: Page, email: str, password: str) -> int:
    """Fills the login form on the current page and sends it; returns the HTTP status."""
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_response(
        lambda r: r.request.method == "POST" and "/u/login" in r.url
    ) as answer:
        page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    return answer.value.status


def open_login(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/u/login")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()


def log_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    open_login(page, server)
    status = submit_login(page, email, password)
    assert status == 303, f"login answered {status}"
    expect(page).to_have_url(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()


def log_out(page: Page, server: LiveServer) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}/u/login?")))
    expect(page.get_by_role("status")).to_have_text("You have been logged out.")


def reset_password(page: Page, server: LiveServer, email: str, new_password: str) -> str:
    """From the login page: "Forgot password?", the e-mailed link, a new password, "Log in".

    Returns the link from the e-mail.
    """
    open_login(page, server)
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = server.wait_for_mail(email, "Reset your password")
    assert link.startswith(f"{server.url}/lo/reset?ticket=")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(page.get_by_text(f"For {email}.")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("Repeat the new password", exact=True).fill(new_password)
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    return link


def badge(page: Page, text: str) -> None:
    """The account page's verification badge reads exactly `text`, and only that one shows."""
    expect(page.get_by_text(text, exact=True)).to_be_visible()
    other = "verified" if text == "not verified" else "not verified"
    expect(page.get_by_text(other, exact=True)).to_have_count(0)


# -- journeys ----------------------------------------------------------------------------------


def test_sign_up_verify_email_log_in_and_edit_profile(
    server: LiveServer, page: Page, screenshots: Path
) -> None:
    email = unique_email("ada")
    sign_up(page, server, email, PASSWORD, name="Ada Lovelace")
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    badge(page, "not verified")
    expect(page.get_by_role("button", name="Send the email again")).to_be_visible()
    page.screenshot(path=screenshots / "account-not-verified.png", full_page=True)

    link = server.wait_for_mail(email, "Verify your email")
    assert link.startswith(f"{server.url}/lo/verify_email?ticket=")
    page.goto(link)
    expect(page.get_by_role("heading", name="Email verified")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(f"Thank you: {email} is verified.")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/u/account")
    badge(page, "verified")
    expect(page.get_by_role("button", name="Send the email again")).to_have_count(0)

    log_out(page, server)
    page.goto(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()

    log_in(page, server, email, PASSWORD)
    badge(page, "verified")
    name = page.get_by_label("Full name", exact=True)
    expect(name).to_have_value("Ada Lovelace")
    name.fill("Ada King")
    page.get_by_label("Nickname", exact=True).fill("ada")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Your profile has been saved.")
    expect(page.get_by_role("heading", name="Ada King")).to_be_visible()
    page.screenshot(path=screenshots / "account-profile-saved.png", full_page=True)

    page.reload()
    expect(page.get_by_label("Full name", exact=True)).to_have_value("Ada King")
    expect(page.get_by_label("Nickname", exact=True)).to_have_value("ada")
    log_out(page, server)

    for shot in ("account-not-verified.png", "account-profile-saved.png"):
        assert (screenshots / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forgotten_password_is_reset_through_the_emailed_link(
    server: LiveServer, page: Page
) -> None:
    email = unique_email("grace")
    sign_up(page, server, email, PASSWORD)
    log_out(page, server)

    reset_password(page, server, email, NEW_PASSWORD)

    assert submit_login(page, email, PASSWORD) == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    assert submit_login(page, email, NEW_PASSWORD) == 303
    expect(page).to_have_url(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()


def test_reset_link_works_once(server: LiveServer, page: Page) -> None:
    email = unique_email("once")
    sign_up(page, server, email, PASSWORD)
    log_out(page, server)
    link = reset_password(page, server, email, NEW_PASSWORD)

    page.goto(link)
    expect(page.get_by_role("heading", name="Link expired")).to_be_visible()
    expect(page.get_by_role("button", name="Reset password")).to_have_count(0)


def test_changing_the_password_on_the_account_page_logs_out(server: LiveServer, page: Page) -> None:
    email = unique_email("changer")
    sign_up(page, server, email, PASSWORD)

    page.get_by_label("Current password", exact=True).fill(WRONG_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The current password is not correct.")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()

    page.get_by_label("Current password", exact=True).fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "Your password has been changed. Please log in again."
    )
    page.goto(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()

    log_in(page, server, email, NEW_PASSWORD)


def test_ten_wrong_passwords_block_until_a_password_reset(
    server: LiveServer, page: Page, screenshots: Path
) -> None:
    email = unique_email("mallory-target")
    sign_up(page, server, email, PASSWORD)
    log_out(page, server)

    open_login(page, server)
    for attempt in range(1, 11):
        status = submit_login(page, email, WRONG_PASSWORD)
        alert = page.get_by_role("alert")
        if attempt < 10:
            assert status == 401, f"attempt {attempt} answered {status}"
            expect(alert).to_have_text("Wrong email or password.")
        else:
            assert status == 429, f"attempt {attempt} answered {status}"
            expect(alert).to_contain_text("blocked")
        # The form keeps the e-mail address for the next try.
        expect(page.get_by_label("Email address", exact=True)).to_have_value(email)

    assert submit_login(page, email, PASSWORD) == 429
    expect(page.get_by_role("alert")).to_contain_text("blocked")
    expect(page).not_to_have_url(f"{server.url}/u/account")
    page.screenshot(path=screenshots / "login-blocked.png", full_page=True)

    reset_password(page, server, email, NEW_PASSWORD)
    assert submit_login(page, email, NEW_PASSWORD) == 303
    expect(page).to_have_url(f"{server.url}/u/account")
    expect(page.get_by_role("heading", name=email)).to_be_visible()


# -- a phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "heading", "button"),
    [
        ("/u/login", "Log in", "Continue"),
        ("/u/signup", "Create your account", "Sign up"),
        ("/u/reset-password/request", "Forgot your password?", "Send reset link"),
    ],
)
def test_pages_are_usable_on_a_phone(
    server: LiveServer,
    browser: Browser,
    screenshots: Path,
    path: str,
    heading: str,
    button: str,
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        problems = watch_for_page_problems(page)
        page.goto(f"{server.url}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        submit = page.get_by_role("button", name=button)
        expect(submit).to_be_visible()
        expect(submit).to_be_in_viewport()
        box = submit.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        for field in page.get_by_role("textbox").all():
            field_box = field.bounding_box()
            assert field_box is not None
            assert field_box["x"] + field_box["width"] <= PHONE["width"], field_box
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= PHONE["width"], f"the page scrolls sideways: {scroll_width}px"
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=screenshots / f"phone-{name}.png")
        assert not problems, problems
    finally:
        context.close()
