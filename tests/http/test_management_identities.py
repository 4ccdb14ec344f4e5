"""Account linking through the Management API: POST and DELETE /api/v2/users/{id}/identities."""

from __future__ import annotations

from typing import Any

import httpx

from identa.container import Container
from tests.factories import GOOD_PASSWORD, log_types
from tests.http.test_oidc import make_app

MAIN = "Username-Password-Authentication"
LOYALTY = "Loyalty-Members"


async def second_connection(api: httpx.AsyncClient, app: dict[str, Any]) -> dict[str, Any]:
    made = await api.post(
        "/api/v2/connections",
        json={"name": LOYALTY, "strategy": "auth0", "enabled_clients": [app["client_id"]]},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def new_user(api: httpx.AsyncClient, connection: str, email: str, **extra: Any) -> Any:
    made = await api.post(
        "/api/v2/users",
        json={"connection": connection, "email": email, "password": GOOD_PASSWORD, **extra},
    )
    assert made.status_code == 201, made.text
    return made.json()


async def password_login(
    client: httpx.AsyncClient, app: dict[str, Any], email: str, realm: str, **extra: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        json={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": email,
            "password": GOOD_PASSWORD,
            "realm": realm,
            **extra,
        },
    )


async def test_link_moves_the_identity_and_keeps_the_primary_profile(
    api: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container, grant_types=["password"])
    await second_connection(api, app)
    primary = await new_user(
        api, MAIN, "ada@example.com", user_metadata={"size": 38}, app_metadata={"tier": "gold"}
    )
    secondary = await new_user(
        api, LOYALTY, "ada.l@example.org", given_name="Ada", user_metadata={"lost": True}
    )
    secondary_local = secondary["user_id"].removeprefix("auth0|")

    linked = await api.post(
        f"/api/v2/users/{primary['user_id']}/identities",
        json={"provider": "auth0", "user_id": secondary_local, "connection_id": None},
    )
    assert linked.status_code == 201, linked.text
    identities = linked.json()
    assert [i["connection"] for i in identities] == [MAIN, LOYALTY]
    assert "profileData" not in identities[0]
    assert identities[1]["user_id"] == secondary_local
    profile = identities[1]["profileData"]
    assert profile["email"] == "ada.l@example.org" and profile["given_name"] == "Ada"
    assert profile["email_verified"] is False

    # The primary keeps its own attributes and metadata; the secondary user is gone.
    merged = (await api.get(f"/api/v2/users/{primary['user_id']}")).json()
    assert merged["email"] == "ada@example.com"
    assert merged["user_metadata"] == {"size": 38} and merged["app_metadata"] == {"tier": "gold"}
    assert len(merged["identities"]) == 2
    gone = await api.get(f"/api/v2/users/{secondary['user_id']}")
    assert gone.status_code == 404 and gone.json()["errorCode"] == "inexistent_user"
    everyone = (await api.get("/api/v2/users", params={"include_totals": "true"})).json()
    assert [u["user_id"] for u in everyone["users"]] == [primary["user_id"]]
    found = await api.get("/api/v2/users", params={"q": f"identities.connection:{LOYALTY}"})
    assert [u["user_id"] for u in found.json()] == [primary["user_id"]]

    # Logging in with the secondary account's password now yields the primary profile.
    tokens = await password_login(api, app, "ada.l@example.org", LOYALTY, scope="openid")
    assert tokens.status_code == 200, tokens.text
    info = await api.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert info.json()["sub"] == primary["user_id"]
    assert "sapi" in await log_types(container, primary["user_id"])


async def test_linking_refusals(api: httpx.AsyncClient, container: Container) -> None:
    app = await make_app(container)
    await second_connection(api, app)
    primary = await new_user(api, MAIN, "ada@example.com")
    other_main = await new_user(api, MAIN, "bob@example.com")
    secondary = await new_user(api, LOYALTY, "ada@example.org")
    path = f"/api/v2/users/{primary['user_id']}/identities"
    local = secondary["user_id"].removeprefix("auth0|")

    myself = await api.post(path, json={"provider": "auth0", "user_id": primary["user_id"]})
    assert myself.status_code == 409 and myself.json()["statusCode"] == 409

    # Two accounts on one connection would make logins ambiguous.
    same_connection = await api.post(
        path, json={"provider": "auth0", "user_id": other_main["user_id"][6:]}
    )
    assert same_connection.status_code == 409

    unknown = await api.post(path, json={"provider": "auth0", "user_id": "nobody"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "Bad Request"
    for body in ({}, {"provider": "auth0"}, {"provider": "auth0", "user_id": True}):
        refused = await api.post(path, json=body)
        assert refused.status_code == 400, body
    missing_primary = await api.post(
        "/api/v2/users/auth0|ghost/identities", json={"provider": "auth0", "user_id": local}
    )
    assert missing_primary.status_code == 404

    assert (await api.post(path, json={"provider": "auth0", "user_id": local})).status_code == 201
    again = await api.post(path, json={"provider": "auth0", "user_id": local})
    assert again.status_code == 409
    assert again.json()["message"] == "Specified identity already exists."

    # Nothing changed for the refused requests: Bob is intact and still alone.
    bob = (await api.get(f"/api/v2/users/{other_main['user_id']}")).json()
    assert len(bob["identities"]) == 1


async def test_unlink_makes_the_identity_its_own_user_again(
    api: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container, grant_types=["password"])
    await second_connection(api, app)
    primary = await new_user(api, MAIN, "ada@example.com", user_metadata={"size": 38})
    secondary = await new_user(
        api, LOYALTY, "ada@example.org", name="Ada L.", user_metadata={"dropped": 1}
    )
    local = secondary["user_id"].removeprefix("auth0|")
    base = f"/api/v2/users/{primary['user_id']}/identities"
    assert (await api.post(base, json={"provider": "auth0", "user_id": local})).status_code == 201

    unlinked = await api.delete(f"{base}/auth0/{local}")
    assert unlinked.status_code == 200, unlinked.text
    assert [i["connection"] for i in unlinked.json()] == [MAIN]

    alone = await api.get(f"/api/v2/users/auth0|{local}")
    assert alone.status_code == 200
    body = alone.json()
    assert body["email"] == "ada@example.org" and body["name"] == "Ada L."
    assert body["user_metadata"] == {} and body["app_metadata"] == {}
    assert [i["connection"] for i in body["identities"]] == [LOYALTY]
    assert "profileData" not in body["identities"][0]
    kept = (await api.get(f"/api/v2/users/{primary['user_id']}")).json()
    assert kept["user_metadata"] == {"size": 38} and len(kept["identities"]) == 1

    # The password of the unlinked account logs in to the new user, not to the primary.
    tokens = await password_login(api, app, "ada@example.org", LOYALTY, scope="openid")
    info = await api.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert info.json()["sub"] == f"auth0|{local}"

    main_identity = primary["user_id"].removeprefix("auth0|")
    assert (await api.delete(f"{base}/auth0/{main_identity}")).status_code == 400
    assert (await api.delete(f"{base}/auth0/not-linked")).status_code == 400
    assert (await api.delete(f"{base}/google-oauth2/{local}")).status_code == 400


async def test_deleting_the_primary_deletes_its_linked_identities(
    api: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container, grant_types=["password"])
    await second_connection(api, app)
    primary = await new_user(api, MAIN, "ada@example.com")
    secondary = await new_user(api, LOYALTY, "ada@example.org")
    local = secondary["user_id"].removeprefix("auth0|")
    linked = await api.post(
        f"/api/v2/users/{primary['user_id']}/identities",
        json={"provider": "auth0", "user_id": int(local) if local.isdigit() else local},
    )
    assert linked.status_code == 201
    assert (await api.delete(f"/api/v2/users/{primary['user_id']}")).status_code == 204
    refused = await password_login(api, app, "ada@example.org", LOYALTY)
    assert refused.status_code == 403
    # The e-mail is free again on that connection.
    await new_user(api, LOYALTY, "ada@example.org")


async def test_link_with_an_id_token_and_current_user_scopes(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, container: Container
) -> None:
    app = await make_app(container, grant_types=["password"])
    await second_connection(api, app)
    primary = await new_user(api, MAIN, "ada@example.com")
    secondary = await new_user(api, LOYALTY, "ada@example.org")
    id_token = (await password_login(api, app, "ada@example.org", LOYALTY, scope="openid")).json()[
        "id_token"
    ]

    # A person's token for the Management API carries the current_user scopes only: asking
    # for read:users must not give a customer access to every other customer.
    person = await password_login(
        api,
        app,
        "ada@example.com",
        MAIN,
        scope="openid read:users update:current_user_identities",
        audience="http://identa.test/api/v2/",
    )
    assert person.status_code == 200, person.text
    assert person.json()["scope"] == "openid update:current_user_identities"
    headers = {"Authorization": f"Bearer {person.json()['access_token']}"}
    app_client.headers.pop("Authorization", None)
    listing = await app_client.get("/api/v2/users", headers=headers)
    assert listing.status_code == 403

    # Linking someone else's account with one's own token is refused.
    elsewhere = await app_client.post(
        f"/api/v2/users/{secondary['user_id']}/identities",
        json={"link_with": id_token},
        headers=headers,
    )
    assert elsewhere.status_code == 403
    forged = await app_client.post(
        f"/api/v2/users/{primary['user_id']}/identities",
        json={"link_with": id_token[:-4] + "AAAA"},
        headers=headers,
    )
    assert forged.status_code == 400
    linked = await app_client.post(
        f"/api/v2/users/{primary['user_id']}/identities",
        json={"link_with": id_token},
        headers=headers,
    )
    assert linked.status_code == 201, linked.text
    assert [i["connection"] for i in linked.json()] == [MAIN, LOYALTY]
