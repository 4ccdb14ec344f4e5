"""What the commands run: the same services the server uses, with one unit of work each."""

from __future__ import annotations

from typing import Any

from identa.app import create_container
from identa.core.context import SYSTEM
from identa.core.errors import DomainError
from identa.identity.profile import user_to_dict
from identa.identity.service import NewDatabaseUser
from identa.provisioning import InitReport, initialise
from identa.settings import Settings


class CommandError(Exception):
    pass


async def run_init(settings: Settings) -> InitReport:
    container, _ = create_container(settings)
    try:
        return await initialise(container)
    finally:
        await container.close()


async def run_create_user(
    settings: Settings,
    *,
    email: str,
    password: str,
    connection: str,
    username: str | None,
    name: str | None,
    verified: bool,
) -> dict[str, Any]:
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            db = uow.session
            conn = await container.connections.by_name(db, connection)
            client = await container.flows.default_client(db)
            user = await container.flows.register(
                db,
                client=client,
                connection=conn,
                request=SYSTEM,
                new=NewDatabaseUser(
                    email=email,
                    password=password,
                    username=username,
                    name=name,
                    email_verified=verified,
                ),
            )
            out = user_to_dict(user)
            await uow.commit()
            return out
    except DomainError as exc:
        raise SystemExit(f"error: {exc.message}") from exc
    finally:
        await container.close()


async def run_unblock(settings: Settings, identifier: str) -> int:
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            db = uow.session
            user = await container.users.find(db, identifier)
            if user is None:
                matches = await container.users.by_email(db, identifier)
                user = matches[0] if matches else None
            if user is not None:
                released = await container.users.release_brute_force(db, user)
            else:
                released = await container.users.release_brute_force_identifier(db, identifier)
            await uow.commit()
            return released
    finally:
        await container.close()


async def run_rotate_key(settings: Settings, alg: str) -> str:
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            # Old keys must outlive the longest token they signed: access tokens, 24 h.
            key = await container.keys.rotate(uow.session, alg, keep_published_seconds=86400)
            kid = key.kid
            await uow.commit()
        return kid
    finally:
        await container.close()
