"""The per-client Management API rate limit: headers on every response, 429 past the budget,
one budget per client, the window's reset, and the setting that turns it off."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from identa.app import create_container
from identa.container import Container
from identa.core.clock import FrozenClock
from identa.notify.providers import MemoryProvider
from identa.provisioning import initialise
from identa.settings import RateLimitSettings, Settings
from tests.conftest import PUBLIC_URL

WINDOW = 60
# A window boundary in the recent past, so that tokens issued at the frozen time are valid.
WINDOW_START = (math.floor(time.time() / WINDOW) - 1) * WINDOW
RESET = WINDOW_START + WINDOW


@pytest.fixture
def rate_limit() -> RateLimitSettings:
    return RateLimitSettings(requests=3, window_seconds=WINDOW)


@pytest.fixture
def settings(settings: Settings, rate_limit: RateLimitSettings) -> Settings:
    return settings.model_copy(update={"management_rate_limit": rate_limit})


@pytest.fixture
async def container(settings: Settings, mailbox: MemoryProvider) -> AsyncIterator[Container]:
    clock = FrozenClock(datetime.fromtimestamp(WINDOW_START + 5, UTC))
    container, _ = create_container(settings, clock=clock, mail_provider=mailbox)
    await initialise(container, migrate=False)
    yield container
    await container.close()


def advance(container: Container, seconds: float) -> None:
    clock = container.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(seconds)


def assert_budget(response: httpx.Response, limit: int, remaining: int, reset: int) -> None:
    assert response.headers["x-ratelimit-limit"] == str(limit)
    assert response.headers["x-ratelimit-remaining"] == str(remaining)
    assert response.headers["x-ratelimit-reset"] == str(reset)


async def test_responses_carry_the_budget_and_429_once_it_is_spent(
    api: httpx.AsyncClient,
) -> None:
    ok = await api.get("/api/v2/clients")
    assert ok.status_code == 200
    assert_budget(ok, 3, 2, RESET)
    assert "retry-after" not in ok.headers
    missing = await api.get("/api/v2/users/auth0|000000000000000000000000")
    assert missing.status_code == 404
    assert_budget(missing, 3, 1, RESET)
    assert_budget(await api.get("/api/v2/logs", params={"q": "type:s"}), 3, 0, RESET)

    refused = await api.get("/api/v2/logs")
    assert refused.status_code == 429
    assert refused.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining "
        "and X-RateLimit-Reset headers.",
        "errorCode": "too_many_requests",
    }
    assert_budget(refused, 3, 0, RESET)
    assert refused.headers["retry-after"] == str(WINDOW - 5)
    # Refused whatever the endpoint or method, and the Authentication API is not limited.
    assert (await api.post("/api/v2/rules", json={})).status_code == 429
    assert (await api.get("/.well-known/openid-configuration")).status_code == 200


async def test_the_budget_comes_back_when_the_window_resets(
    api: httpx.AsyncClient, container: Container
) -> None:
    for _ in range(3):
        assert (await api.get("/api/v2/clients")).status_code == 200
    advance(container, WINDOW - 6)  # one second before the reset
    late = await api.get("/api/v2/clients")
    assert late.status_code == 429 and late.headers["retry-after"] == "1"
    advance(container, 1)
    fresh = await api.get("/api/v2/clients")
    assert fresh.status_code == 200
    assert_budget(fresh, 3, 2, RESET + WINDOW)


async def test_each_client_has_its_own_budget(api: httpx.AsyncClient, container: Container) -> None:
    worker = (
        await api.post("/api/v2/clients", json={"name": "Worker", "app_type": "non_interactive"})
    ).json()
    grant = await api.post(
        "/api/v2/client-grants",
        json={
            "client_id": worker["client_id"],
            "audience": f"{PUBLIC_URL}/api/v2/",
            "scope": ["read:clients"],
        },
    )
    assert grant.status_code == 201, grant.text
    assert (await api.get("/api/v2/clients")).status_code == 200
    assert (await api.get("/api/v2/clients")).status_code == 429

    token = await api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": worker["client_id"],
            "client_secret": worker["client_secret"],
            "audience": f"{PUBLIC_URL}/api/v2/",
        },
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    other = await api.get("/api/v2/clients", headers=headers)
    assert other.status_code == 200
    assert_budget(other, 3, 2, RESET)
    # A request refused for its scopes still counts against its client.
    forbidden = await api.get("/api/v2/users", headers=headers)
    assert forbidden.status_code == 403
    assert_budget(forbidden, 3, 1, RESET)


async def test_requests_without_a_valid_token_carry_no_budget(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v2/clients", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert "x-ratelimit-limit" not in response.headers


@pytest.mark.parametrize("rate_limit", [RateLimitSettings(requests=0)])
async def test_zero_requests_turns_the_limit_off(api: httpx.AsyncClient) -> None:
    for _ in range(5):
        response = await api.get("/api/v2/clients")
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTA_MANAGEMENT_RATE_LIMIT__REQUESTS", "0")
    monkeypatch.setenv("IDENTA_MANAGEMENT_RATE_LIMIT__WINDOW_SECONDS", "10")
    limit = Settings().management_rate_limit
    assert (limit.requests, limit.window_seconds) == (0, 10)
    assert RateLimitSettings().requests > 0  # on by default
