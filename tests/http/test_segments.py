"""/api/v2/segments and /api/v2/users/{id}/mentions."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from identa.container import Container
from identa.jobs.demo import build_demo
from tests.factories import load_demo


@pytest.fixture
async def loaded(container: Container) -> Container:
    return await load_demo(container, 60, seed=3)


async def _ids(api: httpx.AsyncClient, q: str) -> set[str]:
    found: set[str] = set()
    page = 0
    while True:
        body = (
            await api.get(
                "/api/v2/users",
                params={"q": q, "per_page": 100, "page": page, "include_totals": "true"},
            )
        ).json()
        found |= {u["user_id"] for u in body["users"]}
        if len(body["users"]) < 100:
            return found
        page += 1


async def test_segment_lifecycle(api: httpx.AsyncClient, loaded: Container) -> None:
    query = "app_metadata.demographics.gender:male AND app_metadata.demographics.interests:fitness"
    created = await api.post(
        "/api/v2/segments", json={"name": "Runners", "query": query, "description": "campaign"}
    )
    assert created.status_code == 201, created.text
    segment = created.json()
    expected = await _ids(api, query)
    assert segment["count"] == len(expected) > 0
    assert set(segment) >= {"id", "name", "query", "description", "count", "created_at"}

    one = (await api.get(f"/api/v2/segments/{segment['id']}")).json()
    assert one["count"] == len(expected)
    assert [s["id"] for s in (await api.get("/api/v2/segments")).json()] == [segment["id"]]

    members = (
        await api.get(f"/api/v2/segments/{segment['id']}/members", params={"per_page": 5})
    ).json()
    assert members["total"] == len(expected) and len(members["users"]) == min(5, len(expected))

    exported = await api.get(f"/api/v2/segments/{segment['id']}/export", params={"format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["user_id"] for row in rows} == expected
    as_json = await api.get(f"/api/v2/segments/{segment['id']}/export", params={"format": "json"})
    assert {u["user_id"] for u in json.loads(as_json.text)} == expected

    trend = (await api.get(f"/api/v2/segments/{segment['id']}/trend")).json()["trend"]
    assert trend[-1]["count"] == len(expected)

    stream = await api.post(
        "/api/v2/log-streams",
        json={
            "name": "crm",
            "type": "http",
            "sink": {"httpEndpoint": "https://crm.example/hook", "httpContentFormat": "JSONLINES"},
        },
    )
    assert stream.status_code in (200, 201), stream.text
    handed = await api.post(
        f"/api/v2/segments/{segment['id']}/handoff",
        json={"log_stream_id": stream.json()["id"], "campaign": "launch"},
    )
    assert handed.status_code == 202 and handed.json()["members"] == len(expected)
    async with loaded.unit_of_work() as uow:
        from sqlalchemy import func, select

        from identa.events.models import OutboxMessage

        queued = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.event_type == "segment.handoff")
        )
    assert queued == len(expected)

    assert (await api.delete(f"/api/v2/segments/{segment['id']}")).status_code == 204
    assert (await api.get(f"/api/v2/segments/{segment['id']}")).status_code == 404


async def test_invalid_query_is_400_naming_the_problem(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v2/segments", json={"name": "x", "query": "shoe_size:42"})
    assert response.status_code == 400
    assert "unknown field 'shoe_size'" in response.json()["message"]
    assert (await api.get("/api/v2/segments")).json() == []


async def test_unknown_segment_is_404(api: httpx.AsyncClient) -> None:
    for path in ("", "/members", "/export", "/trend"):
        response = await api.get(f"/api/v2/segments/seg_nope{path}")
        assert response.status_code == 404, path
        assert response.json()["errorCode"] == "inexistent_segment"


async def test_empty_segment_exports_an_empty_file(api: httpx.AsyncClient) -> None:
    seg = (
        await api.post("/api/v2/segments", json={"name": "none", "query": "email:nobody@x.y"})
    ).json()
    assert seg["count"] == 0
    as_csv = await api.get(f"/api/v2/segments/{seg['id']}/export", params={"format": "csv"})
    assert (
        as_csv.text.strip().startswith('"user_id"') and len(as_csv.text.strip().splitlines()) == 1
    )
    as_json = await api.get(f"/api/v2/segments/{seg['id']}/export", params={"format": "json"})
    assert json.loads(as_json.text) == []
    bad = await api.get(f"/api/v2/segments/{seg['id']}/export", params={"format": "xml"})
    assert bad.status_code == 400


async def test_mentions_score_sentiment_usable_in_search(
    api: httpx.AsyncClient, container: Container
) -> None:
    user = (
        await api.post(
            "/api/v2/users",
            json={
                "connection": "Username-Password-Authentication",
                "email": "fan@example.com",
                "password": "Correct-Horse-9",
            },
        )
    ).json()
    path = f"/api/v2/users/{user['user_id']}/mentions"
    first = await api.post(
        path, json={"text": "I love my new InnovaShoes, great!", "source": "twitter"}
    )
    assert first.status_code == 201, first.text
    assert first.json()["sentiment"]["compound"] > 0.5
    second = await api.post(path, json={"text": "Delivery was okay.", "source": "twitter"})
    score = second.json()["customer_sentiment"]["score"]
    assert second.json()["customer_sentiment"]["mentions"] == 2
    assert score == pytest.approx(
        (first.json()["sentiment"]["compound"] + second.json()["sentiment"]["compound"]) / 2,
        abs=1e-4,
    )
    found = await _ids(api, f"app_metadata.sentiment.score:[{score - 0.01:.2f} TO *]")
    assert user["user_id"] in found
    assert user["user_id"] not in await _ids(api, "app_metadata.sentiment.score:[0.99 TO *]")
    assert len((await api.get(path)).json()) == 2
    assert (await api.post(path, json={"text": "  "})).status_code == 400
    assert (
        await api.post("/api/v2/users/auth0|nobody/mentions", json={"text": "hi"})
    ).status_code == 404


async def test_demo_refuses_to_run_twice(loaded: Container) -> None:
    from identa.jobs.demo import DemoAlreadyLoaded

    async with loaded.unit_of_work() as uow:
        with pytest.raises(DemoAlreadyLoaded):
            await build_demo(uow.session, loaded.connections, customers=5, now=loaded.clock.now())
