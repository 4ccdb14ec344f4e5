"""Progressive profiling: questions and policy through /api/v2/profiling, the hosted form."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from identa.container import Container
from identa.events.models import LogEvent, OutboxMessage
from tests.factories import GOOD_PASSWORD, Page, create_user
from tests.http.test_oidc import CALLBACK, make_app


async def login(client: httpx.AsyncClient, app: dict[str, Any]) -> httpx.Response:
    """A fresh login (prompt=login) through the hosted page; the response to the form."""
    response = await client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": "s",
            "prompt": "login",
        },
    )
    assert response.status_code == 302, response.text
    page = Page(await client.get(response.headers["location"]))
    response = await client.post(
        page.action(),
        data={"csrf_token": page.csrf, "username": "ada@example.com", "password": GOOD_PASSWORD},
    )
    assert response.status_code == 303, response.text
    return response


async def reaches_app(client: httpx.AsyncClient, response: httpx.Response) -> bool:
    location = response.headers["location"]
    if location.startswith("/u/profile"):
        return False
    response = await client.get(location)
    assert response.headers["location"].startswith(CALLBACK)
    assert "code" in parse_qs(urlsplit(response.headers["location"]).query)
    return True


async def setup(api: httpx.AsyncClient, app: dict[str, Any]) -> list[dict[str, Any]]:
    policy = await api.patch(
        "/api/v2/profiling/policy",
        json={"start_at_login": 2, "max_questions": 1, "decline_days": 30},
    )
    assert policy.status_code == 200, policy.text
    questions = []
    for body in (
        {"path": "shoe.size", "label": "Your shoe size", "type": "number",
         "client_ids": [app["client_id"]]},
        {"path": "running", "label": "How often do you run?", "type": "choice",
         "options": ["never", "weekly", "daily"]},
    ):  # fmt: skip
        made = await api.post("/api/v2/profiling/questions", json=body)
        assert made.status_code == 201, made.text
        questions.append(made.json())
    return questions


async def test_questions_and_policy_are_validated(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v2/profiling/policy")).json() == {
        "enabled": True, "start_at_login": 1, "max_questions": 1, "decline_days": 30,
    }  # fmt: skip
    bad = [
        {"path": "x", "label": "X", "type": "colour"},
        {"path": "bad path", "label": "X"},
        {"path": "x", "label": "X", "type": "choice"},
    ]
    for body in bad:
        assert (await api.post("/api/v2/profiling/questions", json=body)).status_code == 400
    assert (
        await api.patch("/api/v2/profiling/policy", json={"max_questions": 0})
    ).status_code == 400
    made = (
        await api.post(
            "/api/v2/profiling/questions",
            json={"path": "tags", "label": "Tags", "type": "multi-choice", "options": ["a", "b"]},
        )
    ).json()
    changed = await api.patch(f"/api/v2/profiling/questions/{made['id']}", json={"label": "T"})
    assert changed.json()["label"] == "T"
    assert [q["id"] for q in (await api.get("/api/v2/profiling/questions")).json()] == [made["id"]]
    assert (await api.delete(f"/api/v2/profiling/questions/{made['id']}")).status_code == 204
    assert (await api.get(f"/api/v2/profiling/questions/{made['id']}")).status_code == 404


async def test_questions_are_asked_per_policy_and_land_in_the_profile(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    app = await make_app(container)
    await setup(api, app)
    token = api.headers.pop("Authorization")

    assert await reaches_app(app_client, await login(app_client, app))  # login 1: too early
    response = await login(app_client, app)  # login 2: the first question
    assert response.headers["location"].startswith("/u/profile")
    page = Page(await app_client.get(response.headers["location"]))
    assert "Your shoe size" in page.text and "How often" not in page.text
    refused = await app_client.post(page.action(), data={"q_x": "1"})
    assert refused.status_code == 403
    question_id = page.text.split('name="q_')[1].split('"')[0]
    wrong = await app_client.post(
        page.action(), data={"csrf_token": page.csrf, f"q_{question_id}": "big", "action": "save"}
    )
    assert wrong.status_code == 400 and "Enter a number." in wrong.text
    saved = await app_client.post(
        page.action(), data={"csrf_token": page.csrf, f"q_{question_id}": "42", "action": "save"}
    )
    assert saved.status_code == 303
    assert await reaches_app(app_client, saved)

    response = await login(app_client, app)  # login 3: the next question, skipped
    page = Page(await app_client.get(response.headers["location"]))
    assert "How often do you run?" in page.text
    skipped = await app_client.post(page.action(), data={"csrf_token": page.csrf, "action": "skip"})
    assert await reaches_app(app_client, skipped)
    assert await reaches_app(app_client, await login(app_client, app))  # login 4: declined

    api.headers["Authorization"] = token
    found = await api.get("/api/v2/users", params={"q": "user_metadata.shoe.size:42"})
    assert [u["user_id"] for u in found.json()] == [user["user_id"]]
    assert found.json()[0]["user_metadata"] == {"shoe": {"size": 42}}
    async with container.unit_of_work() as uow:
        events = (
            await uow.session.scalars(
                select(LogEvent).where(LogEvent.description == "Progressive profiling answers")
            )
        ).all()
        assert [e.details["profiling"] for e in events] == [
            {"answered": ["shoe.size"], "declined": []},
            {"answered": [], "declined": ["running"]},
        ]
        updated = (
            await uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.event_type == "user.updated")
            )
        ).all()
        assert updated
