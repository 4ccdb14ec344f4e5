"""Attacks on the prompt-mode linking page: after an upstream login lands on /u/link, the flow
holds an upstream identity that nobody has yet claimed. Only the browser that came back from the
provider may see that page or act on it; knowing the flow id (a URL that leaked through history,
a shared screen or a log) must not let another browser keep the accounts apart, and so log in as
the new account of somebody else's upstream identity, or learn whose e-mail it matched."""

from __future__ import annotations

import re

import httpx

from identa.container import Container
from identa.http.csrf import CSRF_COOKIE, CSRF_FIELD, Csrf
from identa.http.hosted.common import COOKIE_NAME
from tests.conftest import PUBLIC_URL
from tests.factories import GOOD_PASSWORD, create_user
from tests.http.test_social_login import make_connection, set_linking, social_login, users
from tests.standins.social_providers import StandIn


def attacker_browser(api: httpx.AsyncClient, container: Container) -> tuple[httpx.AsyncClient, str]:
    """Another browser, with a valid CSRF cookie and token of its own (any hosted page hands
    out such a pair)."""
    other = httpx.AsyncClient(transport=api._transport, base_url=PUBLIC_URL)
    cookie = "attacker-csrf-cookie-value-0123456789"
    other.cookies.set(CSRF_COOKIE, cookie)
    return other, Csrf(container.secret_key).token_for(cookie)


async def pending_link(api: httpx.AsyncClient, container: Container, standin: StandIn) -> str:
    await set_linking(api, "prompt")
    await create_user(container, "ada@example.com")
    await make_connection(api, container, standin, strategy="github")
    answer = await social_login(api, "github-conn")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/u/link?")
    return str(answer.headers["location"])


async def test_another_browser_cannot_use_the_link_page(
    api: httpx.AsyncClient, container: Container, standin: StandIn
) -> None:
    location = await pending_link(api, container, standin)
    other, token = attacker_browser(api, container)
    async with other:
        seen = await other.get(location)
        assert seen.status_code == 403
        assert "ada@example.com" not in seen.text
        apart = await other.post(location, data={CSRF_FIELD: token, "action": "separate"})
        assert apart.status_code == 403
        assert COOKIE_NAME not in apart.cookies
        guess = await other.post(
            location, data={CSRF_FIELD: token, "action": "link", "password": GOOD_PASSWORD}
        )
        assert guess.status_code == 403
        assert COOKIE_NAME not in guess.cookies
        proof = await other.get(location.replace("/u/link?", "/u/link/social?") + "&connection=x")
        assert proof.status_code == 403
    assert len(await users(container)) == 1  # nothing made, nothing linked

    # The browser that came back from the provider still can.
    page = await api.get(location)
    assert page.status_code == 200 and "ada@example.com" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    apart = await api.post(location, data={CSRF_FIELD: csrf.group(1), "action": "separate"})
    assert apart.status_code == 303, apart.text
    assert len(await users(container)) == 2
