"""Fixtures for the HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from identa.container import Container
from identa.provisioning import initialise
from tests.conftest import PUBLIC_URL
from tests.standins.social_providers import StandIn


@pytest.fixture
async def api(app_client: httpx.AsyncClient, container: Container) -> httpx.AsyncClient:
    """The app client, holding a Management API token with every scope (the bootstrap client)."""
    report = await initialise(container, migrate=False)
    token = (
        await app_client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": report.management_client_id,
                "client_secret": report.management_client_secret,
                "audience": f"{PUBLIC_URL}/api/v2/",
            },
        )
    ).json()["access_token"]
    app_client.headers["Authorization"] = f"Bearer {token}"
    return app_client


@pytest.fixture(scope="module")
def standin_server() -> Iterator[StandIn]:
    """The social providers' stand-in (tests/standins/social_providers.py), one per module."""
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def standin(standin_server: StandIn) -> StandIn:
    """The module's stand-in, its scripted answers and recorded requests reset for the test."""
    standin_server.reset()
    return standin_server
