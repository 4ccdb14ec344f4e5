"""Management API users endpoints: tokens and scopes, Auth0's shapes, paging and errors."""

from __future__ import annotations

import httpx

from identa.container import Container
from tests.conftest import PUBLIC_URL
from tests.factories import GOOD_PASSWORD, Visitor, log_types

CONNECTION = "Username-Password-Authentication"


async def test_create_get_patch_delete(api: httpx.AsyncClient, container: Container) -> None:
    created = await api.post(
        "/api/v2/users",
        json={
            "connection": CONNECTION,
            "email": "Ada@Example.com",
            "password": GOOD_PASSWORD,
            "given_name": "Ada",
            "user_metadata": {"prefs": {"color": "blue"}, "plan": "free"},
            "app_metadata": {"tier": 1},
            "verify_email": False,
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["user_id"].startswith("auth0|") and user["email"] == "ada@example.com"
    assert user["identities"][0] == {
        "connection": CONNECTION,
        "provider": "auth0",
        "user_id": user["user_id"][6:],
        "isSocial": False,
    }
    path = f"/api/v2/users/{user['user_id']}"
    assert (await api.get(path)).json()["given_name"] == "Ada"
    patched = await api.patch(
        path,
        json={
            "user_metadata": {"prefs": {"size": 9}, "plan": None},
            "name": "Ada Lovelace",
            "blocked": True,
        },
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["user_metadata"] == {"prefs": {"size": 9}} and body["app_metadata"] == {"tier": 1}
    assert body["name"] == "Ada Lovelace" and body["blocked"] is True
    only = await api.get(path, params={"fields": "user_id,email", "include_fields": "true"})
    assert set(only.json()) == {"user_id", "email"}
    assert (await api.delete(path)).status_code == 204
    missing = await api.get(path)
    assert missing.status_code == 404 and missing.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    types = await log_types(container)
    assert "sapi" in types and "sdu" in types


async def test_errors_in_auth0_shape(api: httpx.AsyncClient) -> None:
    base = {"connection": CONNECTION, "email": "a@example.com", "password": GOOD_PASSWORD}
    assert (await api.post("/api/v2/users", json=base)).status_code == 201
    again = await api.post("/api/v2/users", json=base)
    assert again.status_code == 409 and again.json()["message"] == "The user already exists."
    weak = await api.post("/api/v2/users", json={**base, "email": "b@example.com", "password": "x"})
    assert weak.status_code == 400 and weak.json()["errorCode"] == "invalid_password"
    no_conn = await api.post("/api/v2/users", json={"email": "c@example.com"})
    assert no_conn.status_code == 400 and "connection" in no_conn.json()["message"]
    user_id = (await api.get("/api/v2/users-by-email", params={"email": "a@example.com"})).json()[
        0
    ]["user_id"]
    readonly = await api.patch(f"/api/v2/users/{user_id}", json={"logins_count": 5})
    assert readonly.status_code == 400 and "logins_count" in readonly.json()["message"]
    dotted = await api.patch(f"/api/v2/users/{user_id}", json={"user_metadata": {"a.b": 1}})
    assert dotted.status_code == 400
    big_page = await api.get("/api/v2/users", params={"per_page": "101"})
    assert big_page.status_code == 400
    broken = await api.post(
        "/api/v2/users", content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["statusCode"] == 400


async def test_paging_ends_with_an_empty_page(api: httpx.AsyncClient) -> None:
    for index in range(5):
        await api.post(
            "/api/v2/users",
            json={
                "connection": CONNECTION,
                "email": f"u{index}@example.com",
                "password": GOOD_PASSWORD,
                "verify_email": False,
            },
        )
    first = (
        await api.get(
            "/api/v2/users", params={"per_page": "2", "include_totals": "true", "sort": "email:1"}
        )
    ).json()
    assert first["total"] == 5 and first["length"] == 2 and first["start"] == 0
    assert [u["email"] for u in first["users"]] == ["u0@example.com", "u1@example.com"]
    last = (await api.get("/api/v2/users", params={"per_page": "2", "page": "2"})).json()
    assert [u["email"] for u in last] == ["u4@example.com"]
    beyond = (
        await api.get(
            "/api/v2/users", params={"per_page": "2", "page": "3", "include_totals": "true"}
        )
    ).json()
    assert beyond["users"] == []


async def test_tokens_and_scopes_are_checked(
    app_client: httpx.AsyncClient, container: Container
) -> None:
    assert (await app_client.get("/api/v2/users")).status_code == 401
    garbage = await app_client.get("/api/v2/users", headers={"Authorization": "Bearer x.y.z"})
    assert garbage.status_code == 401 and garbage.json()["errorCode"] == "invalid_token"
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session, name="Reader", app_type="non_interactive"
        )
        api_row = await container.oidc.ensure_management_api(uow.session)
        await container.oidc.grant_client(
            uow.session, made.client.client_id, api_row.identifier, ["read:users"]
        )
        await uow.commit()
    token = (
        await app_client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": made.client.client_id,
                "client_secret": made.client_secret,
                "audience": f"{PUBLIC_URL}/api/v2/",
            },
        )
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await app_client.get("/api/v2/users", headers=headers)).status_code == 200
    denied = await app_client.post(
        "/api/v2/users", headers=headers, json={"connection": CONNECTION}
    )
    assert denied.status_code == 403 and denied.json()["errorCode"] == "insufficient_scope"


async def test_user_logs(api: httpx.AsyncClient, container: Container) -> None:
    created = (
        await api.post(
            "/api/v2/users",
            json={"connection": CONNECTION, "email": "ada@example.com", "password": GOOD_PASSWORD},
        )
    ).json()
    visitor = Visitor(httpx.AsyncClient(transport=api._transport, base_url=api.base_url))
    await visitor.login("ada@example.com")
    logs = (
        await api.get(f"/api/v2/users/{created['user_id']}/logs", params={"include_totals": "true"})
    ).json()
    assert logs["total"] >= 2 and logs["logs"][0]["type"] == "s"
    assert logs["logs"][0]["user_id"] == created["user_id"] and len(logs["logs"][0]["log_id"]) == 56


async def test_search_with_q(api: httpx.AsyncClient) -> None:
    for email, age in (("m1@example.com", 25), ("m2@example.com", 45), ("f1@shop.example", 30)):
        await api.post(
            "/api/v2/users",
            json={
                "connection": CONNECTION,
                "email": email,
                "password": GOOD_PASSWORD,
                "verify_email": False,
                "user_metadata": {"age": age, "interests": ["fitness"]},
            },
        )
    found = (
        await api.get(
            "/api/v2/users",
            params={
                "q": 'user_metadata.age:[20 TO 40] AND email.domain:"example.com"',
                "search_engine": "v3",
                "include_totals": "true",
            },
        )
    ).json()
    assert found["total"] == 1 and found["users"][0]["email"] == "m1@example.com"
    interested = (
        await api.get(
            "/api/v2/users", params={"q": "user_metadata.interests:fitness", "sort": "email:1"}
        )
    ).json()
    assert [u["email"] for u in interested] == [
        "f1@shop.example",
        "m1@example.com",
        "m2@example.com",
    ]
    bad = await api.get("/api/v2/users", params={"q": "name:jo?n"})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "invalid_query_string"
    assert (await api.get("/api/v2/users", params={"sort": "picture:1"})).status_code == 400


async def test_metadata_beyond_the_size_limit_is_refused(api: httpx.AsyncClient) -> None:
    big = "x" * (60 * 1024)
    refused = await api.post(
        "/api/v2/users",
        json={
            "connection": CONNECTION,
            "email": "big@example.com",
            "password": GOOD_PASSWORD,
            "user_metadata": {"a": big},
            "app_metadata": {"b": big},
        },
    )
    assert refused.status_code == 400 and "at most 102400 bytes" in refused.json()["message"]
    assert (
        await api.get("/api/v2/users-by-email", params={"email": "big@example.com"})
    ).json() == []

    made = await api.post(
        "/api/v2/users",
        json={
            "connection": CONNECTION,
            "email": "big@example.com",
            "password": GOOD_PASSWORD,
            "user_metadata": {"a": big},
        },
    )
    assert made.status_code == 201, made.text
    path = f"/api/v2/users/{made.json()['user_id']}"
    grown = await api.patch(path, json={"app_metadata": {"b": big}, "name": "Big"})
    assert grown.status_code == 400 and grown.json()["errorCode"] == "invalid_body"
    after = (await api.get(path)).json()
    assert after["app_metadata"] == {} and after["name"] == "big@example.com"
    # Replacing the large value with a small one is fine.
    shrunk = await api.patch(path, json={"user_metadata": {"a": None}, "app_metadata": {"b": big}})
    assert shrunk.status_code == 200 and shrunk.json()["user_metadata"] == {}


async def test_checkpoint_paging_walks_every_user_once(api: httpx.AsyncClient) -> None:
    made = []
    for index in range(7):
        body = await api.post(
            "/api/v2/users",
            json={
                "connection": CONNECTION,
                "email": f"walker{index}@example.com",
                "password": GOOD_PASSWORD,
                "app_metadata": {"even": index % 2 == 0},
            },
        )
        made.append(body.json()["user_id"])

    seen: list[str] = []
    params: dict[str, str] = {"take": "3"}
    pages = 0
    while pages < 10:
        pages += 1
        page = (await api.get("/api/v2/users", params=params)).json()
        seen += [u["user_id"] for u in page["users"]]
        if "next" not in page:
            break
        params = {"take": "3", "from": page["next"]}
    assert pages == 3 and seen == sorted(made)

    evens = (
        await api.get(
            "/api/v2/users",
            params={"take": "100", "q": "app_metadata.even:true", "fields": "email"},
        )
    ).json()
    assert "next" not in evens
    assert sorted(u["email"] for u in evens["users"]) == [
        f"walker{i}@example.com" for i in (0, 2, 4, 6)
    ]
    for bad in ({"take": "0"}, {"take": "101"}, {"take": "x"}, {"from": "%%%"}):
        refused = await api.get("/api/v2/users", params=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["errorCode"] == "invalid_query_string"


async def test_totals_are_exact_up_to_the_count_limit(
    api: httpx.AsyncClient, container: Container
) -> None:
    for index in range(5):
        await api.post(
            "/api/v2/users",
            json={
                "connection": CONNECTION,
                "email": f"counted{index}@example.com",
                "password": GOOD_PASSWORD,
            },
        )
    container.settings.user_search_count_limit = 3
    capped = await api.get(
        "/api/v2/users", params={"include_totals": "true", "per_page": "2", "q": "email:counted*"}
    )
    assert capped.json()["total"] == 3 and len(capped.json()["users"]) == 2
    assert capped.headers["x-identa-total-capped"] == "true"
    # Paging still reaches every match beyond the limit, in the requested order.
    last = await api.get(
        "/api/v2/users",
        params={"include_totals": "true", "per_page": "2", "page": "2", "sort": "email:-1"},
    )
    assert [u["email"] for u in last.json()["users"]] == ["counted0@example.com"]

    container.settings.user_search_count_limit = 0
    exact = await api.get("/api/v2/users", params={"include_totals": "true", "q": "email:counted*"})
    assert exact.json()["total"] == 5 and "x-identa-total-capped" not in exact.headers
    container.settings.user_search_count_limit = 5
    assert (
        await api.get("/api/v2/users", params={"include_totals": "true", "q": "email:counted*"})
    ).json()["total"] == 5
