"""Fixtures for the HTTP tests."""

from __future__ import annotations

import httpx
import pytest

from identa.container import Container
from identa.provisioning import initialise
from tests.conftest import PUBLIC_URL


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
