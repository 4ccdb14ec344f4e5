"""Consent for third-party applications: asked once, recorded, revocable; first parties skip it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from identa.container import Container
from tests.factories import Page, Visitor, create_user
from tests.http.test_oidc import CALLBACK, authorize, make_app


async def start(visitor: Visitor, app: dict[str, str], **params: str) -> httpx.Response:
    return await visitor.client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid email",
            "state": "s",
            **params,
        },
    )


async def test_third_party_app_asks_once_and_the_answer_is_kept(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    first_party = await make_app(container)
    visitor = Visitor(app_client)
    await authorize(visitor, first_party)  # signs in; first party: no consent page
    third = await make_app(container, is_first_party=False)
    response = await start(visitor, third)
    assert response.status_code == 302 and response.headers["location"].startswith("/u/consent?")
    page = Page(await app_client.get(response.headers["location"]))
    assert "Authorize Shop" in page.text and "Your email address" in page.text
    allowed = await app_client.post(
        page.action(), data={"csrf_token": page.csrf, "decision": "allow"}
    )
    assert allowed.status_code == 303
    resumed = await app_client.get(allowed.headers["location"])
    assert parse_qs(urlsplit(resumed.headers["location"]).query)["code"]
    again = await start(visitor, third)
    assert again.headers["location"].startswith(CALLBACK)  # remembered
    wider = await start(visitor, third, scope="openid email profile")
    assert wider.headers["location"].startswith("/u/consent?")  # a new scope asks again
    silent = await start(visitor, third, scope="openid email profile phone", prompt="none")
    assert parse_qs(urlsplit(silent.headers["location"]).query)["error"] == ["consent_required"]


async def test_deny_returns_access_denied(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    await authorize(visitor, await make_app(container))
    third = await make_app(container, is_first_party=False)
    page = Page(await app_client.get((await start(visitor, third)).headers["location"]))
    denied = await app_client.post(
        page.action(), data={"csrf_token": page.csrf, "decision": "deny"}
    )
    assert denied.status_code == 302
    query = parse_qs(urlsplit(denied.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s"]


async def test_revoking_access_from_the_account_page(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    visitor = Visitor(app_client)
    await authorize(visitor, await make_app(container))
    third = await make_app(container, is_first_party=False)
    page = Page(await app_client.get((await start(visitor, third)).headers["location"]))
    await app_client.post(page.action(), data={"csrf_token": page.csrf, "decision": "allow"})
    account = await visitor.get("/u/account")
    assert "Applications with access" in account.text and "email openid" in account.text
    done = await visitor.submit(
        account, {"client_id": third["client_id"]}, action="/u/account/applications/revoke"
    )
    assert "no longer has access" in done.text and "Applications with access" not in done.text
    assert (await start(visitor, third)).headers["location"].startswith("/u/consent?")
