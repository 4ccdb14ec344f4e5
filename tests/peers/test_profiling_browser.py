"""Progressive profiling in a real browser: the question appears at the configured login, the
answer lands in user_metadata and is searchable through the Management API."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.peers.conftest import LiveServer, UserSpec, unique_email
from tests.peers.test_browser_journey import PASSWORD, log_in, log_out, open_login, submit_login

pytestmark = pytest.mark.browser


def management(server: LiveServer) -> httpx.Client:
    token = httpx.post(
        f"{server.url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": server.management_client_id,
            "client_secret": server.management_client_secret,
            "audience": server.management_audience,
        },
    ).json()["access_token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def test_the_question_is_asked_at_the_second_login_and_lands_in_the_profile(
    server: LiveServer, page: Page
) -> None:
    email = unique_email("profiling")
    [user] = server.provision(users=[UserSpec(email=email, password=PASSWORD)]).users
    with management(server) as api:
        assert (
            api.patch(
                "/api/v2/profiling/policy", json={"start_at_login": 2, "max_questions": 1}
            ).status_code
            == 200
        )
        made = api.post(
            "/api/v2/profiling/questions",
            json={"path": "shoe.size", "label": "Your shoe size", "type": "number"},
        )
        assert made.status_code == 201, made.text

        log_in(page, server, email, PASSWORD)  # the first login: no question yet
        log_out(page, server)
        open_login(page, server)
        assert submit_login(page, email, PASSWORD) == 303
        expect(page.get_by_role("heading", name="Tell us a little more")).to_be_visible()
        page.get_by_label("Your shoe size").fill("44")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()

        found = api.get("/api/v2/users", params={"q": "user_metadata.shoe.size:44"}).json()
        assert [u["user_id"] for u in found] == [user.user_id]
        assert found[0]["user_metadata"] == {"shoe": {"size": 44}}
