"""/api/v2/rules and /api/v2/rules-configs."""

from __future__ import annotations

import httpx

JS_RULE = "function (user, context, callback) { callback(null, user, context); }"
PY_RULE = "def rule(user, context, configuration, api):\n    return None\n"


async def test_rules_crud_order_and_runtime(api: httpx.AsyncClient) -> None:
    first = await api.post("/api/v2/rules", json={"name": "Add country", "script": JS_RULE})
    assert first.status_code == 201, first.text
    assert first.json()["order"] == 1 and first.json()["runtime"] == "javascript"
    assert first.json()["stage"] == "login_success" and first.json()["id"].startswith("rul_")
    second = (
        await api.post("/api/v2/rules", json={"name": "Score", "script": PY_RULE, "enabled": False})
    ).json()
    assert second["order"] == 2 and second["runtime"] == "python" and second["enabled"] is False
    assert (
        await api.post("/api/v2/rules", json={"name": "Score", "script": JS_RULE})
    ).status_code == 409
    enabled = (await api.get("/api/v2/rules", params={"enabled": "true"})).json()
    assert [r["name"] for r in enabled] == ["Add country"]
    patched = await api.patch(f"/api/v2/rules/{second['id']}", json={"order": 0, "enabled": True})
    assert patched.json()["order"] == 0
    ordered = (await api.get("/api/v2/rules", params={"include_totals": "true"})).json()
    assert [r["name"] for r in ordered["rules"]] == ["Score", "Add country"] and ordered[
        "total"
    ] == 2
    assert (await api.delete(f"/api/v2/rules/{second['id']}")).status_code == 204
    assert (await api.get(f"/api/v2/rules/{second['id']}")).status_code == 404


async def test_bad_rules_are_refused(api: httpx.AsyncClient) -> None:
    for body in (
        {"name": "-bad", "script": JS_RULE},
        {"name": "ok", "script": ""},
        {"name": "ok", "script": JS_RULE, "runtime": "ruby"},
        {"name": "ok", "script": "x" * (100 * 1024 + 1)},
        {"name": "ok"},
    ):
        assert (await api.post("/api/v2/rules", json=body)).status_code == 400, body


async def test_rules_configs_never_return_values(api: httpx.AsyncClient) -> None:
    put = await api.put("/api/v2/rules-configs/FULLCONTACT_KEY", json={"value": "s3cret"})
    assert put.status_code == 200 and put.json() == {"key": "FULLCONTACT_KEY", "value": "s3cret"}
    listed = (await api.get("/api/v2/rules-configs")).json()
    assert listed == [{"key": "FULLCONTACT_KEY"}]
    assert (await api.put("/api/v2/rules-configs/bad key", json={"value": "x"})).status_code == 400
    assert (await api.delete("/api/v2/rules-configs/FULLCONTACT_KEY")).status_code == 204
    assert (await api.get("/api/v2/rules-configs")).json() == []
