"""Fresh upstream tokens for the Management API (`read:user_idp_tokens`): an identity whose
stored access token has expired and that holds a refresh token gets new tokens from its
provider's token endpoint (RFC 6749 §6, through Authlib), sealed and stored again.

Three steps so that no database transaction waits on a provider: `due` reads what needs a
refresh, `fetch` calls the providers, `store` writes the results, each only if the identity
still holds the tokens it was refreshed from. A refresh that fails changes nothing: it is
logged as a warning and the stored tokens are returned as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.models import Connection
from identa.connections.social.presets import is_upstream
from identa.connections.social.upstream import UpstreamFailed
from identa.identity.models import Identity, User

if TYPE_CHECKING:
    from identa.flows.social import SocialLogins

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueRefresh:
    identity_id: int
    user_id: str
    connection: Connection
    sealed: str
    tokens: dict[str, Any]


class IdpTokenRefresh:
    def __init__(self, social: SocialLogins) -> None:
        self._box = social.tokens
        self._upstream = social.upstream
        self._clock = social.flows._clock

    async def due(self, db: AsyncSession, user: User) -> list[DueRefresh]:
        now = self._clock.now().timestamp()
        out: list[DueRefresh] = []
        for identity in user.identities:
            if not identity.idp_tokens:
                continue
            tokens = self._box.open_json(identity.idp_tokens)
            expires_at = tokens.get("expires_at")
            if (
                not isinstance(tokens.get("refresh_token"), str)
                or not isinstance(expires_at, int | float)
                or isinstance(expires_at, bool)
                or expires_at > now
            ):
                continue
            connection = await db.get(Connection, identity.connection_id)
            if connection is None or not is_upstream(connection.strategy):
                continue
            out.append(
                DueRefresh(
                    identity_id=identity.id,
                    user_id=user.user_id,
                    connection=connection,
                    sealed=identity.idp_tokens,
                    tokens=tokens,
                )
            )
        return out

    async def fetch(self, due: list[DueRefresh]) -> list[tuple[DueRefresh, dict[str, Any]]]:
        out: list[tuple[DueRefresh, dict[str, Any]]] = []
        for item in due:
            try:
                fresh = await self._upstream.refresh(
                    item.connection, str(item.tokens["refresh_token"])
                )
            except UpstreamFailed as exc:
                log.warning(
                    "refreshing the upstream tokens of %s at %s failed (%s): %s; "
                    "the stored tokens are returned unchanged",
                    item.user_id,
                    item.connection.name,
                    exc.reason,
                    exc.message,
                )
                continue
            # The old expiry must not outlive the old access token.
            kept = {k: v for k, v in item.tokens.items() if k != "expires_at"}
            out.append((item, {**kept, **fresh}))
        return out

    async def store(
        self, db: AsyncSession, refreshed: list[tuple[DueRefresh, dict[str, Any]]]
    ) -> int:
        stored = 0
        for item, tokens in refreshed:
            identity = await db.get(Identity, item.identity_id)
            if identity is None or identity.idp_tokens != item.sealed:
                continue  # changed meanwhile (a login stored newer tokens): keep those
            identity.idp_tokens = self._box.seal_json(tokens)
            stored += 1
        await db.flush()
        return stored
