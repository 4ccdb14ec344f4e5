"""User lifecycle events (user.created, user.updated, …): outbox-only, not Auth0 log events.

They are appended to the outbox in the caller's transaction, like log events, so a stream sees
a change exactly when it is committed. Their payload is the user as the Management API shows it.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock, iso
from identa.events.models import OutboxMessage

USER_TOPIC = "user"


class UserEventType(StrEnum):
    CREATED = "user.created"
    UPDATED = "user.updated"
    DELETED = "user.deleted"
    LINKED = "user.linked"
    UNLINKED = "user.unlinked"
    BLOCKED = "user.blocked"
    UNBLOCKED = "user.unblocked"


def event_id() -> str:
    """`evt_` and 24 random hex digits, as Auth0's Event Streams name theirs."""
    return "evt_" + secrets.token_hex(12)


class UserEvents:
    """Appends a user lifecycle event to the outbox; never flushes nor commits."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def record(
        self,
        session: AsyncSession,
        type_: UserEventType,
        user_id: str,
        user: dict[str, Any],
        **details: Any,
    ) -> OutboxMessage:
        now = self._clock.now()
        ident = event_id()
        payload: dict[str, Any] = {
            "id": ident,
            "type": type_.value,
            "date": iso(now),
            "user_id": user_id,
            "data": {"object": user, **details},
        }
        message = OutboxMessage(
            topic=USER_TOPIC,
            event_type=type_.value,
            partition_key=user_id,
            event_id=ident,
            payload=payload,
            created_at=now,
        )
        session.add(message)
        return message
