"""APIs (resource servers) that access tokens are issued for, and the client grants that let
machine-to-machine applications call them. The Management API is one of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core import ids
from identa.core.clock import Clock
from identa.core.errors import Conflict, InvalidInput
from identa.oidc.keys import SUPPORTED_ALGORITHMS
from identa.oidc.models import ClientGrant, ResourceServer

DEFAULT_ACCESS_TTL = 86400
SCOPE_VALUE = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]{1,280}$")  # RFC 6749 §3.3 scope-token
MANAGEMENT_API_NAME = "Identa Management API"
MANAGEMENT_SCOPES = (
    "read:users", "create:users", "update:users", "delete:users", "read:users_app_metadata",
    "update:users_app_metadata", "read:user_idp_tokens", "read:logs", "read:logs_users",
    "read:clients", "create:clients", "update:clients", "delete:clients", "read:client_keys",
    "update:client_keys",
    "read:connections", "create:connections", "update:connections", "delete:connections",
    "read:resource_servers", "create:resource_servers", "update:resource_servers",
    "delete:resource_servers", "read:client_grants", "create:client_grants",
    "update:client_grants", "delete:client_grants", "read:rules", "create:rules",
    "update:rules", "delete:rules", "read:rules_configs", "update:rules_configs",
    "create:user_tickets", "read:stats", "read:analytics", "read:segments",
    "create:segments", "delete:segments", "read:tenant_settings", "update:tenant_settings",
    "read:log_streams", "create:log_streams", "update:log_streams", "delete:log_streams",
    "read:attack_protection", "update:attack_protection",
    "read:current_user", "update:current_user_metadata", "create:current_user_metadata",
    "update:current_user_identities", "delete:current_user",
)  # fmt: skip
# What a token issued to a person (not to a machine) may hold for the Management API.
CURRENT_USER_SCOPES = (
    "read:current_user", "update:current_user_metadata", "create:current_user_metadata",
    "update:current_user_identities", "delete:current_user",
)  # fmt: skip


class ApiRegistry:
    """Finds, creates and changes APIs and client grants."""

    _clock: Clock
    public_url: str
    management_audience: str

    def canonical_audience(self, audience: str | None) -> str | None:
        """Auth0's SDKs ask for https://{host}/api/v2/ even over http: both mean our API."""
        if audience is None:
            return None
        host = self.public_url.split("://", 1)[1]
        if audience.rstrip("/") in (f"https://{host}/api/v2", f"http://{host}/api/v2"):
            return self.management_audience
        return audience

    async def resource_server(self, db: AsyncSession, audience: str) -> ResourceServer | None:
        identifier = self.canonical_audience(audience)
        return await db.scalar(
            select(ResourceServer).where(ResourceServer.identifier == identifier)
        )

    async def ensure_management_api(self, db: AsyncSession) -> ResourceServer:
        existing = await db.scalar(select(ResourceServer).where(ResourceServer.is_system.is_(True)))
        now = self._clock.now()
        if existing is not None:
            existing.identifier = self.management_audience
            existing.scopes = [{"value": s, "description": s} for s in MANAGEMENT_SCOPES]
            return existing
        api = ResourceServer(
            id=ids.random_alnum(24),
            identifier=self.management_audience,
            name=MANAGEMENT_API_NAME,
            scopes=[{"value": s, "description": s} for s in MANAGEMENT_SCOPES],
            signing_alg="RS256",
            token_lifetime=DEFAULT_ACCESS_TTL,
            allow_offline_access=False,
            skip_consent_for_verifiable_first_party_clients=True,
            is_system=True,
            created_at=now,
            updated_at=now,
        )
        db.add(api)
        await db.flush()
        return api

    async def grant_client(
        self, db: AsyncSession, client_id: str, audience: str, scope: list[str]
    ) -> ClientGrant:
        existing = await db.scalar(
            select(ClientGrant).where(
                ClientGrant.client_id == client_id, ClientGrant.audience == audience
            )
        )
        if existing is not None:
            existing.scope = list(scope)
            return existing
        grant = ClientGrant(
            id="cgr_" + ids.random_alnum(16),
            client_id=client_id,
            audience=audience,
            scope=list(scope),
            created_at=self._clock.now(),
        )
        db.add(grant)
        await db.flush()
        return grant

    async def all_apis(self, db: AsyncSession) -> Sequence[ResourceServer]:
        return (await db.scalars(select(ResourceServer).order_by(ResourceServer.created_at))).all()

    async def create_api(
        self,
        db: AsyncSession,
        *,
        identifier: str,
        name: str | None = None,
        scopes: list[dict[str, str]] | None = None,
        signing_alg: str = "RS256",
        token_lifetime: int = DEFAULT_ACCESS_TTL,
        allow_offline_access: bool = False,
    ) -> ResourceServer:
        if not identifier or len(identifier) > 600:
            raise InvalidInput("identifier must be 1 to 600 characters")
        if self.canonical_audience(identifier) == self.management_audience:
            raise Conflict("The Management API already exists")
        if await self.resource_server(db, identifier) is not None:
            raise Conflict("An API with this identifier already exists")
        now = self._clock.now()
        api = ResourceServer(
            id=ids.random_alnum(24),
            identifier=identifier,
            name=name or identifier,
            scopes=[],
            signing_alg="RS256",
            token_lifetime=DEFAULT_ACCESS_TTL,
            allow_offline_access=allow_offline_access,
            skip_consent_for_verifiable_first_party_clients=True,
            is_system=False,
            created_at=now,
            updated_at=now,
        )
        self.configure_api(
            api, scopes=scopes, signing_alg=signing_alg, token_lifetime=token_lifetime
        )
        db.add(api)
        await db.flush()
        return api

    def configure_api(
        self,
        api: ResourceServer,
        *,
        scopes: list[dict[str, str]] | None = None,
        signing_alg: str | None = None,
        token_lifetime: int | None = None,
        **_: Any,
    ) -> None:
        if api.is_system:
            raise InvalidInput("The Management API cannot be changed")
        if scopes is not None:
            for scope in scopes:
                if not isinstance(scope, dict) or not SCOPE_VALUE.match(
                    str(scope.get("value", ""))
                ):
                    raise InvalidInput("each scope needs a value made of visible characters")
            api.scopes = [
                {"value": s["value"], "description": str(s.get("description", ""))} for s in scopes
            ]
        if signing_alg is not None:
            if signing_alg not in SUPPORTED_ALGORITHMS:
                raise InvalidInput(f"signing_alg must be one of {', '.join(SUPPORTED_ALGORITHMS)}")
            api.signing_alg = signing_alg
        if token_lifetime is not None:
            if not 60 <= token_lifetime <= 2592000:
                raise InvalidInput("token_lifetime must be 60 to 2592000 seconds")
            api.token_lifetime = token_lifetime
        api.updated_at = self._clock.now()

    async def grants(self, db: AsyncSession, client_id: str | None = None) -> Sequence[ClientGrant]:
        query = select(ClientGrant).order_by(ClientGrant.created_at)
        if client_id:
            query = query.where(ClientGrant.client_id == client_id)
        return (await db.scalars(query)).all()
