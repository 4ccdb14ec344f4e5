"""Applications: create, look up, authenticate by secret."""

from __future__ import annotations

import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.clients.errors import ClientNotFound
from identa.clients.models import APP_TYPES, AUTH_METHODS, Client
from identa.core import ids
from identa.core.clock import Clock
from identa.core.digests import token_digest
from identa.core.errors import InvalidInput

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")
DEFAULT_GRANTS = {
    "spa": ["authorization_code", "implicit", "refresh_token"],
    "regular_web": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
    "native": ["authorization_code", "implicit", "refresh_token"],
    "non_interactive": ["client_credentials"],
}


def hash_secret(secret: str) -> str:
    return token_digest(secret)


@dataclass(frozen=True)
class CreatedClient:
    client: Client
    client_secret: str | None


class ClientService:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def get(self, session: AsyncSession, client_id: str) -> Client:
        client = await session.get(Client, client_id)
        if client is None:
            raise ClientNotFound("The client does not exist.", client_id=client_id)
        return client

    async def find(self, session: AsyncSession, client_id: str) -> Client | None:
        return await session.get(Client, client_id)

    async def all(self, session: AsyncSession) -> Sequence[Client]:
        return (await session.scalars(select(Client).order_by(Client.created_at))).all()

    async def create(
        self,
        session: AsyncSession,
        *,
        name: str,
        app_type: str = "regular_web",
        client_id: str | None = None,
        client_secret: str | None = None,
        is_first_party: bool = True,
        callbacks: list[str] | None = None,
        allowed_logout_urls: list[str] | None = None,
        web_origins: list[str] | None = None,
        grant_types: list[str] | None = None,
        token_endpoint_auth_method: str | None = None,
        logo_uri: str | None = None,
        primary_color: str | None = None,
        description: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> CreatedClient:
        if app_type not in APP_TYPES:
            raise InvalidInput(f"app_type must be one of {', '.join(APP_TYPES)}")
        if not name.strip():
            raise InvalidInput("name is required")
        if primary_color is not None and not HEX_COLOR.match(primary_color):
            raise InvalidInput("primary colour must be a hex colour such as #1a2b3c")
        if logo_uri is not None and (
            len(logo_uri) > 2048 or not logo_uri.startswith(("https://", "http://"))
        ):
            raise InvalidInput("logo_uri must be an http(s) URL")
        method = token_endpoint_auth_method or (
            "none" if app_type == "spa" else "client_secret_post"
        )
        if method not in AUTH_METHODS:
            raise InvalidInput(
                f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}"
            )
        secret: str | None = None
        if method != "none":
            secret = client_secret or ids.client_secret()
        now = self._clock.now()
        client = Client(
            client_id=client_id or ids.client_id(),
            name=name.strip(),
            description=description,
            app_type=app_type,
            is_first_party=is_first_party,
            client_secret_hash=hash_secret(secret) if secret else None,
            callbacks=list(callbacks or []),
            allowed_logout_urls=list(allowed_logout_urls or []),
            web_origins=list(web_origins or []),
            allowed_origins=[],
            grant_types=list(grant_types or DEFAULT_GRANTS[app_type]),
            token_endpoint_auth_method=method,
            logo_uri=logo_uri,
            primary_color=primary_color,
            client_metadata={},
            extra=dict(extra or {}),
            is_global=False,
            created_at=now,
            updated_at=now,
        )
        session.add(client)
        await session.flush()
        return CreatedClient(client=client, client_secret=secret)

    def secret_matches(self, client: Client, secret: str) -> bool:
        if not client.client_secret_hash:
            return False
        return hmac.compare_digest(client.client_secret_hash, hash_secret(secret))

    async def set_secret(self, session: AsyncSession, client: Client, secret: str) -> None:
        client.client_secret_hash = hash_secret(secret)
        client.updated_at = self._clock.now()
        await session.flush()

    async def rotate_secret(self, session: AsyncSession, client: Client) -> str:
        secret = ids.client_secret()
        await self.set_secret(session, client, secret)
        return secret
