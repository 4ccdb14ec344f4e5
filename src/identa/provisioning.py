"""First-run set-up, safe to repeat: migrate, signing key, default connection and applications."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from identa.connections.errors import ConnectionNotFound
from identa.connections.models import DATABASE_STRATEGY, DEFAULT_DATABASE_CONNECTION
from identa.container import Container
from identa.db.migrate import upgrade_async
from identa.db.uow import UnitOfWork

BOOTSTRAP_FILE = "bootstrap-client.json"
SECRET_FILE = "secret.key"


@dataclass(frozen=True)
class InitReport:
    default_client_id: str
    management_client_id: str
    management_client_secret: str | None
    created: list[str]


def ensure_secret_key(data_dir: Path) -> str:
    """The deployment's secret (cookies, CSRF), generated once into the data dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


async def initialise(container: Container, *, migrate: bool = True) -> InitReport:
    settings = container.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        await upgrade_async(settings.resolved_database_url, secret_key=container.secret_key)
    created: list[str] = []
    bootstrap_path = settings.data_dir / BOOTSTRAP_FILE
    saved: dict[str, str] = {}
    if bootstrap_path.exists():
        saved = json.loads(bootstrap_path.read_text(encoding="utf-8"))

    async with UnitOfWork(container.sessions) as uow:
        db = uow.session
        tenant = await container.tenants.get(db)
        _, new_key = await container.keys.ensure(db, "RS256")
        if new_key:
            created.append("signing key (RS256)")

        default_client_id = tenant.extra.get("default_client_id")
        if (
            not isinstance(default_client_id, str)
            or await container.clients.find(db, default_client_id) is None
        ):
            made = await container.clients.create(
                db,
                name="Default App",
                app_type="regular_web",
                callbacks=[f"{settings.public_url}/u/account"],
                allowed_logout_urls=[f"{settings.public_url}/u/login"],
            )
            default_client_id = made.client.client_id
            await container.tenants.update(
                db, extra={**tenant.extra, "default_client_id": default_client_id}
            )
            created.append("application 'Default App'")

        mgmt_id = settings.bootstrap_client_id or saved.get("client_id") or None
        mgmt_secret = (
            settings.bootstrap_client_secret.get_secret_value()
            if settings.bootstrap_client_secret
            else saved.get("client_secret")
        )
        existing = await container.clients.find(db, mgmt_id) if mgmt_id else None
        if existing is None:
            made = await container.clients.create(
                db,
                name="Identa Management (bootstrap)",
                app_type="non_interactive",
                client_id=mgmt_id,
                client_secret=mgmt_secret,
                token_endpoint_auth_method="client_secret_post",
                extra={"management_api_scopes": "all"},
            )
            mgmt_id, mgmt_secret = made.client.client_id, made.client_secret
            created.append("machine-to-machine management application")
        elif mgmt_secret and not container.clients.secret_matches(existing, mgmt_secret):
            # The operator fixed a new secret through the environment: it wins.
            await container.clients.set_secret(db, existing, mgmt_secret)

        assert mgmt_id is not None
        api = await container.oidc.ensure_management_api(db)
        await container.oidc.grant_client(
            db, mgmt_id, api.identifier, [scope["value"] for scope in api.scopes]
        )

        try:
            connection = await container.connections.by_name(db, DEFAULT_DATABASE_CONNECTION)
        except ConnectionNotFound:
            connection = await container.connections.create(
                db,
                name=DEFAULT_DATABASE_CONNECTION,
                strategy=DATABASE_STRATEGY,
                options={
                    "passwordPolicy": "good",
                    "brute_force_protection": True,
                    "requires_username": False,
                    "disable_signup": False,
                },
                enabled_clients=[default_client_id],
            )
            created.append(f"connection '{DEFAULT_DATABASE_CONNECTION}'")
        await container.connections.enable_for(db, connection, default_client_id)
        if tenant.default_connection is None:
            await container.tenants.update(db, default_connection=DEFAULT_DATABASE_CONNECTION)
        await uow.commit()

    if mgmt_id and mgmt_secret:
        fd = os.open(bootstrap_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"client_id": mgmt_id, "client_secret": mgmt_secret}, handle)
    assert mgmt_id is not None
    return InitReport(
        default_client_id=default_client_id,
        management_client_id=mgmt_id,
        management_client_secret=mgmt_secret,
        created=created,
    )
