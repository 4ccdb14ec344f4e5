"""Records log events in the caller's transaction, and mirrors each into the outbox."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock, iso
from identa.core.context import RequestContext
from identa.core.ids import log_id
from identa.events.catalog import DESCRIPTIONS, LogType, strategy_type
from identa.events.models import LogEvent, OutboxMessage
from identa.events.store import EventStore

LOG_TOPIC = "log"


@dataclass(frozen=True)
class EventSubject:
    """The application, connection and user an event is about; any may be unknown."""

    client_id: str | None = None
    client_name: str | None = None
    connection: str | None = None
    connection_id: str | None = None
    strategy: str | None = None
    user_id: str | None = None
    user_name: str | None = None


def _clip(value: str | None, limit: int) -> str | None:
    # Log fields echo what a client sent; an over-long value must not make the insert fail.
    return value[:limit] if value is not None else None


def log_event_to_dict(event: LogEvent) -> dict[str, Any]:
    """Auth0's Log object."""
    out: dict[str, Any] = {
        "log_id": event.log_id,
        "_id": event.log_id,
        "date": iso(event.date),
        "type": event.type,
        "description": event.description,
        "client_id": event.client_id,
        "client_name": event.client_name,
        "connection": event.connection,
        "connection_id": event.connection_id,
        "strategy": event.strategy,
        "strategy_type": event.strategy_type,
        "user_id": event.user_id,
        "user_name": event.user_name,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "hostname": event.hostname,
        "details": copy.deepcopy(event.details or {}),
    }
    return {key: value for key, value in out.items() if value is not None}


class EventRecorder:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def record(
        self,
        session: AsyncSession,
        type_: LogType,
        *,
        subject: EventSubject,
        request: RequestContext,
        description: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> LogEvent:
        event = LogEvent(
            log_id=log_id(),
            date=self._clock.now(),
            type=type_.value,
            description=description or DESCRIPTIONS[type_],
            client_id=_clip(subject.client_id, 64),
            client_name=_clip(subject.client_name, 255),
            connection=_clip(subject.connection, 128),
            connection_id=_clip(subject.connection_id, 32),
            strategy=_clip(subject.strategy, 64),
            strategy_type=strategy_type(subject.strategy),
            user_id=_clip(subject.user_id, 255),
            user_name=_clip(subject.user_name, 254),
            ip=_clip(request.ip, 64),
            user_agent=request.user_agent,
            hostname=_clip(request.hostname, 255),
            details=details or {},
        )
        message = OutboxMessage(
            topic=LOG_TOPIC,
            event_type=type_.value,
            partition_key=subject.user_id,
            event_id=event.log_id,
            payload=log_event_to_dict(event),
            created_at=event.date,
        )
        EventStore(session).add(event, message)
        return event
