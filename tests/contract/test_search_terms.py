"""SQLite's search terms written by a bulk import (Python) match those of the triggers (SQL)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from sqlalchemy import text

from identa.container import Container
from identa.search.index import terms_of
from tests.conftest import database_kind

pytestmark = pytest.mark.skipif(
    database_kind() != "sqlite", reason="user_search_terms exists on SQLite only"
)

KEYS = ["gender", "age", "tags", "prefs", "a-b", "x_y", "bad key", "dot$", "", "nested"]


def document(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(
        ["str", "int", "float", "bool", "null", "list", "dict"][: 5 + (depth < 3) * 2]
    )
    if kind == "str":
        return rng.choice(["fitness", "", "30", "true", "Émile", "a b"])
    if kind == "int":
        return rng.choice([0, 30, -7, 2**40])
    if kind == "float":
        return rng.choice([30.0, 2.5, -0.125])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [document(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): document(rng, depth + 1) for _ in range(rng.randint(0, 4))}


async def test_python_terms_equal_the_trigger_terms(container: Container) -> None:
    rng = random.Random(11)
    users = [
        (f"auth0|t{index}", {k: document(rng) for k in rng.sample(KEYS, 4)}, {"n": document(rng)})
        for index in range(300)
    ]
    async with container.unit_of_work() as uow:
        db = uow.session
        for user_id, user_metadata, app_metadata in users:
            await db.execute(
                text(
                    "INSERT INTO users (user_id, email_verified, phone_verified, created_at, "
                    "updated_at, logins_count, blocked, user_metadata, app_metadata, extra) "
                    "VALUES (:id, 0, 0, '2026-01-01', '2026-01-01', 0, 0, json(:um), json(:am), "
                    "'{}')"
                ),
                {"id": user_id, "um": json.dumps(user_metadata), "am": json.dumps(app_metadata)},
            )
        rows = (
            await db.execute(text("SELECT user_id, field, value, type FROM user_search_terms"))
        ).all()
        await uow.rollback()
    by_trigger = {(r[0], r[1], r[2], r[3]) for r in rows}
    expected: set[Any] = set()
    for user_id, user_metadata, app_metadata in users:
        expected |= terms_of(user_id, user_metadata, app_metadata)
    assert len(by_trigger) > 500
    assert expected == by_trigger
