"""`@auth0/auth0-spa-js` (npm, pinned in tests/peers/package.json) in Chromium against Identa.

A tiny single-page application is served from a second local HTTP server, a real
http://127.0.0.1:PORT origin (a secure context, so crypto.subtle works). It logs in with
`loginWithRedirect` through the hosted login page, handles the callback, renews its token
silently (hidden iframe with response_mode=web_message, or a refresh token through CORS on
/oauth/token), logs out through /v2/logout, and then silent authentication must fail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.peers.conftest import (
    AppSpec,
    LiveServer,
    UserSpec,
    unique_email,
    verified_claims,
    watch_for_page_problems,
)

pytestmark = pytest.mark.browser

PASSWORD = "Correct-Horse-9"
SPA_JS = (
    Path(__file__).parent
    / "node_modules"
    / "@auth0"
    / "auth0-spa-js"
    / "dist"
    / "auth0-spa-js.production.js"
)
INDEX = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Peer SPA</title>
<script src="/auth0-spa-js.production.js"></script></head>
<body><h1>Peer SPA</h1></body>
</html>
"""
TIMEOUT_MS = 15_000


# -- the single-page application's origin -----------------------------------------------------


def _spa_handler(script: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/":
                self._send(200, "text/html; charset=utf-8", INDEX)
            elif path == "/auth0-spa-js.production.js":
                self._send(200, "text/javascript; charset=utf-8", script)
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture(scope="module")
def spa_origin() -> Iterator[str]:
    """http://127.0.0.1:PORT serving index.html and the spa-js bundle."""
    if not SPA_JS.exists():
        pytest.fail(f"{SPA_JS} is missing: run `npm ci` in tests/peers")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _spa_handler(SPA_JS.read_bytes()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- what the browser saw ----------------------------------------------------------------------


@dataclass
class Traffic:
    """Requests to Identa, console errors and failed requests, for assertions and diagnostics."""

    identa: str
    requests: list[Request]
    problems: list[str]
    token_bodies: list[dict[str, Any]] = field(default_factory=list)

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.url).path == path]

    def report(self) -> str:
        lines = [f"{r.method} {r.url}" for r in self.requests]
        return (
            "requests to Identa:\n  "
            + ("\n  ".join(lines) or "(none)")
            + "\nbrowser problems:\n  "
            + ("\n  ".join(self.problems) or "(none)")
        )


def watch(page: Page, identa: str) -> Traffic:
    traffic = Traffic(identa=identa, requests=[], problems=[])

    def on_request(request: Request) -> None:
        if request.url.startswith(identa):
            traffic.requests.append(request)

    def on_console(message: Any) -> None:
        if message.type == "error":
            traffic.problems.append(f"console error: {message.text} ({message.location})")

    def on_failed(request: Request) -> None:
        traffic.problems.append(f"request failed: {request.method} {request.url}")

    def on_response(response: Any) -> None:
        request = response.request
        if request.method == "POST" and response.url == f"{identa}/oauth/token":
            try:
                traffic.token_bodies.append(response.json())
            except Exception as exc:
                traffic.problems.append(f"unreadable /oauth/token answer: {exc}")
        if response.status >= 400:
            request = response.request
            traffic.problems.append(f"HTTP {response.status}: {request.method} {response.url}")

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    return traffic


@pytest.fixture
def spa_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems = watch_for_page_problems(opened)
    try:
        yield opened
    finally:
        context.close()
    assert not problems, "the pages reported problems:\n" + "\n".join(problems)


# -- the journey -------------------------------------------------------------------------------


def client_options(
    server: LiveServer, spa: str, client_id: str, use_refresh_tokens: bool
) -> dict[str, Any]:
    return {
        "domain": server.url,  # with its scheme, so that spa-js keeps plain http
        "clientId": client_id,
        "authorizationParams": {
            "redirect_uri": f"{spa}/",
            "scope": "openid profile email offline_access",
        },
        "useRefreshTokens": use_refresh_tokens,
        "cacheLocation": "memory",
    }


def open_spa(page: Page, spa: str) -> None:
    page.goto(f"{spa}/")
    page.wait_for_function("typeof window.auth0 !== 'undefined'")


def log_in_with_redirect(
    page: Page,
    server: LiveServer,
    spa: str,
    options: dict[str, Any],
    email: str,
    traffic: Traffic,
) -> None:
    open_spa(page, spa)
    # Not awaited: loginWithRedirect navigates away, destroying this execution context.
    page.evaluate(
        "options => { auth0.createAuth0Client(options).then(c => c.loginWithRedirect())"
        ".catch(e => { window.loginError = String(e); }); }",
        options,
    )
    page.wait_for_url(f"{server.url}/u/login**")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    try:
        page.wait_for_url(f"{spa}/?**")
    except PlaywrightTimeoutError:
        blocked = [p for p in traffic.problems if "form-action" in p]
        if blocked:
            pytest.fail(
                "the browser never reached the SPA callback: the login page's "
                "Content-Security-Policy `form-action 'self'` also governs the redirects "
                "after the form is posted (POST /u/login -> /authorize/resume -> the "
                f"callback on {spa}), so Chromium blocks the cross-origin one:\n"
                + "\n".join(blocked)
            )
        raise
    query = parse_qs(urlsplit(page.url).query)
    assert "code" in query and "state" in query, f"callback without code/state: {page.url}"


HANDLE_CALLBACK = """async options => {
    const client = new auth0.Auth0Client(options);
    window.client = client;
    const result = await client.handleRedirectCallback();
    const user = await client.getUser();
    const claims = await client.getIdTokenClaims();
    const first = await client.getTokenSilently({detailedResponse: true});
    return {appState: result.appState ?? null, user, iss: claims.iss, aud: claims.aud,
            idToken: claims.__raw, accessToken: first.access_token};
}"""

RENEW = """async () => {
    try {
        const renewed = await window.client.getTokenSilently(
            {cacheMode: "off", detailedResponse: true});
        return {ok: true, accessToken: renewed.access_token, idToken: renewed.id_token,
                scope: renewed.scope ?? null};
    } catch (e) {
        return {ok: false, error: e.error ?? null, description: e.error_description ?? String(e)};
    }
}"""

SILENT_AFTER_LOGOUT = """async options => {
    const client = new auth0.Auth0Client({...options, useRefreshTokens: false});
    try {
        await client.getTokenSilently({cacheMode: "off"});
        return {ok: true};
    } catch (e) {
        return {ok: false, error: e.error ?? null, description: e.error_description ?? String(e)};
    }
}"""


def journey(page: Page, server: LiveServer, spa: str, *, use_refresh_tokens: bool) -> Traffic:
    made = server.provision(
        apps=[
            AppSpec(
                name=f"spa-js {'refresh' if use_refresh_tokens else 'iframe'}",
                app_type="spa",
                callbacks=[f"{spa}/"],
                allowed_logout_urls=[f"{spa}/"],
                web_origins=[spa],
                grant_types=["authorization_code", "refresh_token"],
                token_endpoint_auth_method="none",
            )
        ],
        users=[UserSpec(email=unique_email("spa"), password=PASSWORD, name="Spa Person")],
    )
    app, user = made.apps[0], made.users[0]
    options = client_options(server, spa, app.client_id, use_refresh_tokens)
    traffic = watch(page, server.url)
    try:
        log_in_with_redirect(page, server, spa, options, user.email, traffic)

        done = page.evaluate(HANDLE_CALLBACK, options)
        assert done["user"]["email"] == user.email
        assert done["user"]["sub"] == user.user_id
        assert done["iss"] == server.issuer
        assert done["aud"] == app.client_id
        claims = verified_claims(server, done["idToken"])
        assert claims["sub"] == user.user_id
        assert done["accessToken"]
        exchanges = [r for r in traffic.to("/oauth/token") if r.method == "POST"]
        assert len(exchanges) == 1, traffic.report()
        assert parse_qs(exchanges[0].post_data or "")["grant_type"] == ["authorization_code"]
        assert exchanges[0].headers.get("auth0-client"), "spa-js sends Auth0-Client"

        renewed = page.evaluate(RENEW)
        assert renewed["ok"], f"getTokenSilently failed: {renewed}\n{traffic.report()}"
        assert renewed["accessToken"] and renewed["accessToken"] != done["accessToken"]
        assert verified_claims(server, renewed["idToken"])["sub"] == user.user_id

        posts = [r for r in traffic.to("/oauth/token") if r.method == "POST"]
        grants = [parse_qs(r.post_data or "")["grant_type"][0] for r in posts]
        silent = [
            parse_qs(urlsplit(r.url).query)
            for r in traffic.to("/authorize")
            if parse_qs(urlsplit(r.url).query).get("prompt") == ["none"]
        ]
        if use_refresh_tokens:
            assert grants == ["authorization_code", "refresh_token"], traffic.report()
            assert silent == [], traffic.report()
        else:
            assert grants == ["authorization_code", "authorization_code"], traffic.report()
            assert len(silent) == 1, traffic.report()
            assert all(q["response_mode"] == ["web_message"] for q in silent)

        page.evaluate(
            "returnTo => { window.client.logout({logoutParams: {returnTo}}); }", f"{spa}/"
        )
        page.wait_for_url(f"{spa}/")
        logouts = traffic.to("/v2/logout")
        assert len(logouts) == 1, traffic.report()
        assert parse_qs(urlsplit(logouts[0].url).query)["client_id"] == [app.client_id]
        page.wait_for_function("typeof window.auth0 !== 'undefined'")

        after = page.evaluate(SILENT_AFTER_LOGOUT, options)
        assert not after["ok"], "silent authentication succeeded after logout"
        assert after["error"] == "login_required", after
    except BaseException:
        print(traffic.report())
        print(f"server log tail:\n{server.log_tail()}")
        raise
    return traffic


def test_silent_authentication_in_a_hidden_iframe(
    live_server: LiveServer, spa_origin: str, spa_page: Page
) -> None:
    journey(spa_page, live_server, spa_origin, use_refresh_tokens=False)


def test_refresh_token_rotation_through_cors(
    live_server: LiveServer, spa_origin: str, spa_page: Page
) -> None:
    traffic = journey(spa_page, live_server, spa_origin, use_refresh_tokens=True)
    refresh = [
        r
        for r in traffic.to("/oauth/token")
        if r.method == "POST"
        and "refresh_token" in parse_qs(r.post_data or "").get("grant_type", [])
    ]
    assert refresh and refresh[0].all_headers().get("origin") == spa_origin
    response = refresh[0].response()
    assert response is not None and response.status == 200
    assert response.all_headers().get("access-control-allow-origin") == spa_origin
    bodies = traffic.token_bodies
    assert len(bodies) == 2, bodies
    assert bodies[1]["token_type"].lower() == "bearer"
    assert bodies[1].get("refresh_token"), "the refresh grant answers with a refresh token"
    assert bodies[1]["refresh_token"] != bodies[0]["refresh_token"], "rotated"
