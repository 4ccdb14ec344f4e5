"""Progressive-profiling answers reach the customer's demographics (app_metadata.demographics and
the interests segments count) when they are given, not at the next login: a customer who answers
at sign-up and never comes back is still in the segments the answer puts them in."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from identa.container import Container
from identa.enrichment.models import CustomerInterest
from tests.factories import Page, create_user
from tests.http.test_oidc import make_app
from tests.http.test_profiling import login, reaches_app


async def test_answers_are_mirrored_into_the_demographics_at_once(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "ada@example.com")
    app = await make_app(container)
    made = await api.post(
        "/api/v2/profiling/questions",
        json={"path": "interests", "label": "What are you into?", "type": "multi-choice",
              "options": ["fitness", "music", "outdoors"]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    question = made.json()["id"]
    token = api.headers.pop("Authorization")

    response = await login(app_client, app)
    assert response.headers["location"].startswith("/u/profile")
    page = Page(await app_client.get(response.headers["location"]))
    saved = await app_client.post(
        page.action(),
        data={"csrf_token": page.csrf, f"q_{question}_0": "fitness",
              f"q_{question}_2": "outdoors", "action": "save"},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert await reaches_app(app_client, saved)

    api.headers["Authorization"] = token
    found = await api.get(
        "/api/v2/users", params={"q": "app_metadata.demographics.interests:fitness"}
    )
    assert [u["user_id"] for u in found.json()] == [user["user_id"]]
    assert found.json()[0]["app_metadata"]["demographics"]["interests"] == ["fitness", "outdoors"]
    async with container.unit_of_work() as uow:
        interests = await uow.session.scalars(
            select(CustomerInterest.interest).where(CustomerInterest.user_id == user["user_id"])
        )
        assert sorted(interests.all()) == ["fitness", "outdoors"]


async def test_metadata_patched_through_the_api_reaches_the_demographics(
    api: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(container, "grace@example.com")
    patched = await api.patch(
        f"/api/v2/users/{user['user_id']}",
        json={"user_metadata": {"gender": "female", "interests": ["running", "Fitness"],
                                "birthdate": "1990-04-02"}},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    demographics = patched.json()["app_metadata"]["demographics"]
    assert demographics["gender"] == "female"
    assert demographics["birthdate"] == "1990-04-02"

    found = await api.get(
        "/api/v2/users",
        params={"q": "app_metadata.demographics.gender:female AND "
                     "app_metadata.demographics.birthdate:[1985-01-01 TO 1995-12-31]"},
    )  # fmt: skip
    assert [u["user_id"] for u in found.json()] == [user["user_id"]]
    async with container.unit_of_work() as uow:
        interests = await uow.session.scalars(
            select(CustomerInterest.interest).where(CustomerInterest.user_id == user["user_id"])
        )
        assert sorted(interests.all()) == sorted(demographics["interests"])
        assert "fitness" in [i.lower() for i in demographics["interests"]]


async def test_imported_customers_are_in_the_demographic_segments_before_they_log_in(
    api: httpx.AsyncClient, container: Container
) -> None:
    from tests.http.test_management_jobs import import_and_run

    records = [
        {"email": "mia@example.com", "email_verified": True,
         "user_metadata": {"gender": "female", "birthdate": "1994-02-11",
                           "interests": ["fitness", "yoga", "fitness"]}},
        {"email": "leo@example.com",
         "user_metadata": {"gender": "male"}, "app_metadata": {"plan": "gold"}},
        {"email": "kim@example.com"},
    ]  # fmt: skip
    job = await import_and_run(api, container, records)
    assert job["status"] == "completed", job

    found = await api.get(
        "/api/v2/users",
        params={"q": "app_metadata.demographics.interests:fitness", "fields": "email"},
    )
    assert [u["email"] for u in found.json()] == ["mia@example.com"]
    leo = (await api.get("/api/v2/users-by-email", params={"email": "leo@example.com"})).json()[0]
    assert leo["app_metadata"] == {"plan": "gold", "demographics": {"gender": "male"}}
    kim = (await api.get("/api/v2/users-by-email", params={"email": "kim@example.com"})).json()[0]
    assert "app_metadata" not in kim or "demographics" not in kim["app_metadata"]

    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(CustomerInterest.user_id, CustomerInterest.interest)
        )
        by_user: dict[str, set[str]] = {}
        for user_id, interest in rows.all():
            by_user.setdefault(user_id, set()).add(interest)
    mia = (await api.get("/api/v2/users-by-email", params={"email": "mia@example.com"})).json()[0]
    assert by_user == {mia["user_id"]: set(mia["app_metadata"]["demographics"]["interests"])}
    assert {i.lower() for i in by_user[mia["user_id"]]} == {"fitness", "yoga"}
