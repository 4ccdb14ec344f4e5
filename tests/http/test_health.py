"""Probes, request ids and error responses."""

from __future__ import annotations

import httpx

from identa.container import Container


async def test_healthz_and_readyz(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/healthz")).json()["status"] == "ok"
    ready = await app_client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok"}


async def test_readyz_reports_an_unreachable_database(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    from identa.db.engine import create_engine

    await container.engine.dispose()
    container.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    response = await app_client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


async def test_every_response_carries_a_request_id(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await app_client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32


async def test_hosted_pages_send_security_headers(app_client: httpx.AsyncClient) -> None:
    page = await app_client.get("/u/login", follow_redirects=True)
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


async def test_unexpected_errors_answer_500_with_an_id_and_no_trace(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    container.flows.start = broken  # type: ignore[method-assign]
    response = await app_client.get("/u/login")
    assert response.status_code == 500
    body = response.json()
    assert response.headers["x-request-id"] in body["message"]
    assert "secret internals" not in response.text
