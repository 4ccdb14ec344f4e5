"""Creates applications and users in a live server's database, through the product's services.

`LiveServer.provision` calls `provision(request, settings_from(server.env))` in the test process;
`python tests/peers/provision.py`, with the server's environment (IDENTA_DATA_DIR,
IDENTA_DATABASE_URL, IDENTA_PUBLIC_URL), does the same from a shell. It reads one JSON request on
stdin:

    {"apps": [{"name": ..., "app_type": ..., "callbacks": [...], "allowed_logout_urls": [...],
               "grant_types": [...] | null, "token_endpoint_auth_method": ... | null,
               "web_origins": [...],
               "connection": "Username-Password-Authentication" | null,
               "management_scopes": [...] | null}],
     "users": [{"email": ..., "password": ..., "name": ... | null}]}

and prints one JSON answer on stdout: {"apps": [{"client_id", "client_secret"}], "users": [...]}
with the users as the Management API shows them. Everything happens in one unit of work.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from identa.app import create_container
from identa.core.context import SYSTEM
from identa.identity.profile import NewDatabaseUser, user_to_dict
from identa.settings import ENV_PREFIX, Settings


def settings_from(env: Mapping[str, str]) -> Settings:
    """The settings a process started with `env` would read (its IDENTA_* variables only)."""
    saved = {key: value for key, value in os.environ.items() if key.startswith(ENV_PREFIX)}
    try:
        for key in saved:
            del os.environ[key]
        os.environ.update({k: v for k, v in env.items() if k.startswith(ENV_PREFIX)})
        return Settings()
    finally:
        for key in [key for key in os.environ if key.startswith(ENV_PREFIX)]:
            del os.environ[key]
        os.environ.update(saved)


async def provision(request: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    container, _ = create_container(settings or Settings())
    apps: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    try:
        async with container.unit_of_work() as uow:
            db = uow.session
            for spec in request.get("apps", []):
                made = await container.clients.create(
                    db,
                    name=spec["name"],
                    app_type=spec["app_type"],
                    callbacks=spec.get("callbacks") or [],
                    allowed_logout_urls=spec.get("allowed_logout_urls") or [],
                    grant_types=spec.get("grant_types"),
                    token_endpoint_auth_method=spec.get("token_endpoint_auth_method"),
                    web_origins=spec.get("web_origins") or [],
                )
                client_id = made.client.client_id
                if spec.get("connection"):
                    connection = await container.connections.by_name(db, spec["connection"])
                    await container.connections.enable_for(db, connection, client_id)
                scopes = spec.get("management_scopes")
                if scopes is not None:
                    await container.oidc.grant_client(
                        db, client_id, container.oidc.management_audience, list(scopes)
                    )
                apps.append({"client_id": client_id, "client_secret": made.client_secret})
            if request.get("users"):
                connection = await container.connections.by_name(
                    db, "Username-Password-Authentication"
                )
                default_client = await container.flows.default_client(db)
                for spec in request["users"]:
                    user = await container.flows.register(
                        db,
                        client=default_client,
                        connection=connection,
                        request=SYSTEM,
                        new=NewDatabaseUser(
                            email=spec["email"],
                            password=spec["password"],
                            name=spec.get("name"),
                            email_verified=True,
                        ),
                    )
                    users.append(user_to_dict(user))
            await uow.commit()
    finally:
        await container.close()
    return {"apps": apps, "users": users}


def main() -> None:
    answer = asyncio.run(provision(json.load(sys.stdin)))
    sys.stdout.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
