"""POST /dbconnections/signup and /dbconnections/change_password in Auth0's shapes."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from identa.container import Container
from identa.identity.models import User
from identa.notify.providers import MemoryProvider
from tests.factories import GOOD_PASSWORD, deliver_mail, log_types

CONNECTION = "Username-Password-Authentication"


async def default_client_id(container: Container) -> str:
    async with container.unit_of_work() as uow:
        return (await container.flows.default_client(uow.session)).client_id


async def user_count(container: Container) -> int:
    async with container.unit_of_work() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(User)) or 0)


async def test_signup_returns_auth0_shape(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    client_id = await default_client_id(container)
    response = await app_client.post(
        "/dbconnections/signup",
        json={
            "client_id": client_id,
            "email": "Ada@Example.com",
            "password": GOOD_PASSWORD,
            "connection": CONNECTION,
            "given_name": "Ada",
            "user_metadata": {"plan": "free"},
            "username": None,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["_id"]) == 24
    assert body["email"] == "ada@example.com" and body["email_verified"] is False
    assert body["given_name"] == "Ada"
    async with container.unit_of_work() as uow:
        user = await uow.session.get(User, "auth0|" + body["_id"])
        assert user is not None and user.user_metadata == {"plan": "free"}
    assert await log_types(container) == ["ss"]


async def test_signup_accepts_form_bodies(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    response = await app_client.post(
        "/dbconnections/signup",
        data={
            "client_id": await default_client_id(container),
            "email": "f@example.com",
            "password": GOOD_PASSWORD,
            "connection": CONNECTION,
        },
    )
    assert response.status_code == 200


async def test_signup_errors_use_auth0_error_body(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    client_id = await default_client_id(container)
    base = {"client_id": client_id, "connection": CONNECTION}
    await app_client.post(
        "/dbconnections/signup", json={**base, "email": "a@example.com", "password": GOOD_PASSWORD}
    )

    exists = await app_client.post(
        "/dbconnections/signup", json={**base, "email": "a@example.com", "password": GOOD_PASSWORD}
    )
    assert exists.status_code == 400
    assert exists.json() == {
        "name": "BadRequestError",
        "code": "user_exists",
        "description": "The user already exists.",
        "statusCode": 400,
    }

    weak = await app_client.post(
        "/dbconnections/signup", json={**base, "email": "b@example.com", "password": "abc"}
    )
    assert weak.status_code == 400
    body = weak.json()
    assert body["name"] == "PasswordStrengthError" and body["code"] == "invalid_password"
    assert body["description"]["verified"] is False
    assert body["description"]["rules"][0] == {
        "message": "At least %d characters in length",
        "format": [8],
        "verified": False,
    }

    missing = await app_client.post(
        "/dbconnections/signup", json={"email": "c@example.com", "password": GOOD_PASSWORD}
    )
    assert (
        missing.status_code == 400
        and missing.json()["description"] == "missing client_id parameter"
    )

    unknown = await app_client.post(
        "/dbconnections/signup",
        json={**base, "connection": "nope", "email": "d@example.com", "password": GOOD_PASSWORD},
    )
    assert unknown.json()["code"] == "invalid_connection"

    not_json = await app_client.post(
        "/dbconnections/signup", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == "invalid_signup"

    meta = await app_client.post(
        "/dbconnections/signup",
        json={
            **base,
            "email": "e@example.com",
            "password": GOOD_PASSWORD,
            "user_metadata": {"k": 1},
        },
    )
    assert meta.status_code == 400 and "user_metadata.k" in meta.json()["description"]

    huge = await app_client.post(
        "/dbconnections/signup", json={**base, "email": "h@example.com", "password": "Aa1!" * 300}
    )
    assert huge.status_code == 400 and "1024 bytes" in huge.json()["description"]
    assert await user_count(container) == 1


async def test_change_password_answers_the_same_for_unknown_users(
    app_client: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    client_id = await default_client_id(container)
    await app_client.post(
        "/dbconnections/signup",
        json={
            "client_id": client_id,
            "email": "a@example.com",
            "password": GOOD_PASSWORD,
            "connection": CONNECTION,
        },
    )
    await deliver_mail(container, mailbox)
    mailbox.sent.clear()
    known = await app_client.post(
        "/dbconnections/change_password",
        json={"client_id": client_id, "email": "a@example.com", "connection": CONNECTION},
    )
    unknown = await app_client.post(
        "/dbconnections/change_password",
        json={"client_id": client_id, "email": "zz@example.com", "connection": CONNECTION},
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text == "We've just sent you an email to reset your password."
    sent = await deliver_mail(container, mailbox)
    assert [m.recipient for m in sent] == ["a@example.com"]


async def test_concurrent_signups_with_one_email_make_exactly_one_user(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    """Parallel requests all pass the existence check before any inserts (a barrier in the
    hashing step makes sure of it); the unique constraint then lets exactly one through."""
    client_id = await default_client_id(container)
    payload = {
        "client_id": client_id,
        "email": "race@example.com",
        "password": GOOD_PASSWORD,
        "connection": CONNECTION,
    }
    racers = 4
    barrier = asyncio.Barrier(racers)
    original = container.hasher.hash

    async def hash_after_everyone_checked(password: str) -> str:
        await barrier.wait()
        return await original(password)

    container.hasher.hash = hash_after_everyone_checked  # type: ignore[method-assign]
    responses = await asyncio.gather(
        *(app_client.post("/dbconnections/signup", json=payload) for _ in range(racers))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (racers - 1), [r.text for r in responses]
    assert all(r.json()["code"] == "user_exists" for r in responses if r.status_code != 200)
    assert await user_count(container) == 1
    types = await log_types(container)
    assert types.count("ss") == 1 and types.count("fs") == racers - 1
