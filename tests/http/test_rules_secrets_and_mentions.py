"""Rules-configs sealed at rest, the save-time compile of rules, and mentions captured by rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import text

from identa.container import Container
from identa.core.secretbox import SecretBox
from identa.rules.runtime import Limits, RuleRunner
from tests.factories import create_user
from tests.http.test_oidc import key_set, make_app
from tests.http.test_rules_pipeline import add_rule, events, password_grant

CONFIG_RULE = """
def rule(user, context, configuration, api):
    context["accessToken"]["https://shop.example/key"] = configuration["CRM_KEY"]
    return user, context
"""
MENTION_RULES = {
    "python": """
def rule(user, context, configuration, api):
    api.mentions.add(user["user_id"], "I love these shoes, wonderful service!",
                     source="twitter", url="https://social.example/status/1")
    api.mentions.add(user["user_id"], "The delivery was terrible and late.", source="survey")
    return user, context
""",
    "javascript": """function (user, context, callback) {
  identa.mentions.add(user.user_id, { text: 'I love these shoes, wonderful service!',
                                      source: 'twitter', url: 'https://social.example/status/1' })
    .then(function () {
      return identa.mentions.add(user.user_id, { text: 'The delivery was terrible and late.',
                                                 source: 'survey' });
    })
    .then(function () { callback(null, user, context); });
}""",
}


@pytest.fixture(scope="module")
def shared_runner() -> Iterator[RuleRunner]:
    runner = RuleRunner(workers=2, limits=Limits(grace_s=0.5, memory_bytes=384 << 20))
    yield runner
    runner.close()


@pytest.fixture(autouse=True)
def _use_shared_runner(container: Container, shared_runner: RuleRunner) -> None:
    container.pipeline.runner = shared_runner


async def test_rules_configs_are_sealed_but_rules_see_the_value(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    shop = await make_app(container, grant_types=["password"])
    put = await api.put("/api/v2/rules-configs/CRM_KEY", json={"value": "crm-s3cret-value"})
    assert put.status_code == 200
    async with container.unit_of_work() as uow:
        stored = (
            await uow.session.execute(text("SELECT value FROM rules_configs WHERE key = 'CRM_KEY'"))
        ).scalar_one()
    assert "crm-s3cret-value" not in stored and SecretBox.is_sealed(stored)
    assert SecretBox(container.secret_key, "rules-configs").open(stored) == "crm-s3cret-value"
    assert SecretBox("another-deployment-key", "rules-configs").open(stored) is None

    await add_rule(api, "config", CONFIG_RULE, 1)
    response = await password_grant(app_client, shop)
    assert response.status_code == 200, response.text
    access = jwt.decode(response.json()["access_token"], await key_set(app_client)).claims
    assert access["https://shop.example/key"] == "crm-s3cret-value"

    # Replacing the value seals the new one.
    await api.put("/api/v2/rules-configs/CRM_KEY", json={"value": "rotated"})
    response = await password_grant(app_client, shop)
    access = jwt.decode(response.json()["access_token"], await key_set(app_client)).claims
    assert access["https://shop.example/key"] == "rotated"


async def test_invalid_javascript_is_refused_with_the_engine_message(
    api: httpx.AsyncClient,
) -> None:
    bad = await api.post(
        "/api/v2/rules",
        json={
            "name": "bad-js",
            "script": "function (user, context, callback) {\n  var x = ;\n  callback(null);\n}",
        },
    )
    assert bad.status_code == 400
    body = bad.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["errorCode"] == "invalid_body"
    assert "SyntaxError: unexpected token in expression: ';'" in body["message"]
    assert "(line 2)" in body["message"]
    unclosed = await api.post(
        "/api/v2/rules", json={"name": "open", "script": "function (u, c, cb) {\n  cb(null);"}
    )
    assert unclosed.status_code == 400 and "SyntaxError" in unclosed.json()["message"]

    made = await add_rule(
        api, "loop", "function (user, context, callback) { while (true) {} }", 1
    )  # compiled only: saving it does not run the loop
    patched = await api.patch(f"/api/v2/rules/{made['id']}", json={"script": "function (a) { a. }"})
    assert patched.status_code == 400 and "SyntaxError" in patched.json()["message"]
    assert patched.json()["errorCode"] == "invalid_body"
    kept = (await api.get(f"/api/v2/rules/{made['id']}")).json()
    assert kept["script"] == "function (user, context, callback) { while (true) {} }"


async def test_invalid_python_is_refused_by_the_compiler(api: httpx.AsyncClient) -> None:
    # ast.parse accepts both; compile() does not.
    for script, message in (
        ("return 1\ndef rule(user, context, configuration, api):\n    pass\n", "outside function"),
        ("nonlocal x\ndef rule(user, context, configuration, api):\n    pass\n", "nonlocal"),
    ):
        refused = await api.post(
            "/api/v2/rules", json={"name": "bad-py", "script": script, "runtime": "python"}
        )
        assert refused.status_code == 400, script
        assert refused.json()["errorCode"] == "invalid_body"
        assert "SyntaxError" in refused.json()["message"] and message in refused.json()["message"]
    started = time.monotonic()
    slow = "while True:\n    pass\n\ndef rule(user, context, configuration, api):\n    pass\n"
    made = await add_rule(api, "top-level-loop", slow, 1, runtime="python")
    assert time.monotonic() - started < 5  # compiled, never executed
    patched = await api.patch(f"/api/v2/rules/{made['id']}", json={"script": "def rule(:\n"})
    assert patched.status_code == 400 and "SyntaxError" in patched.json()["message"]


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_rules_capture_mentions_scored_for_sentiment(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container, runtime: str
) -> None:
    user = await create_user(container, "ada@example.com")
    shop = await make_app(container, grant_types=["password"])
    await add_rule(api, "mentions", MENTION_RULES[runtime], 1, runtime=runtime)
    response = await password_grant(app_client, shop)
    assert response.status_code == 200, response.text

    listed = await api.get(f"/api/v2/users/{user['user_id']}/mentions")
    assert listed.status_code == 200
    by_source: dict[str, Any] = {m["source"]: m for m in listed.json()}
    assert set(by_source) == {"twitter", "survey"}
    assert by_source["twitter"]["url"] == "https://social.example/status/1"
    positive = by_source["twitter"]["sentiment"]["compound"]
    negative = by_source["survey"]["sentiment"]["compound"]
    assert positive > 0.5 and negative < -0.3
    stored = (await api.get(f"/api/v2/users/{user['user_id']}")).json()
    sentiment = stored["app_metadata"]["sentiment"]
    assert sentiment["mentions"] == 2
    assert sentiment["score"] == pytest.approx((positive + negative) / 2, abs=1e-3)
    [success] = await events(container, "s")
    assert success.details["rules"]["mentions_added"] == 2


async def test_a_refused_mention_fails_the_login_closed(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "ada@example.com")
    shop = await make_app(container, grant_types=["password"])
    await add_rule(
        api,
        "bad-mention",
        "function (user, context, callback) {\n"
        "  identa.mentions.add(user.user_id, { text: '' }).then(\n"
        "    function () { callback(null, user, context); },\n"
        "    function (err) { callback(err); });\n}",
        1,
    )
    response = await password_grant(app_client, shop)
    assert response.status_code == 500
    assert "mention's text must be a non-empty string" in response.json()["error_description"]
