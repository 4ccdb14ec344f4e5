"""Where a stream's events go. Each sink delivers a batch in order, or says how far it got.

The broker clients (aio-pika, nats-py, aiokafka) are optional extras, imported only when a
stream of their type is used, so that the server starts without them.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# The optional package each type needs, and the extra that installs it.
EXTRAS: dict[str, tuple[str, str]] = {
    "rabbitmq": ("aio_pika", "rabbitmq"),
    "nats": ("nats", "nats"),
    "kafka": ("aiokafka", "kafka"),
}


@dataclass(frozen=True)
class Outgoing:
    """One outbox message on its way to a sink."""

    outbox_id: int
    topic: str
    event_type: str
    event_id: str
    partition_key: str | None
    payload: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        """Auth0's log stream envelope: {log_id, data}."""
        return {"log_id": self.event_id, "data": self.payload}

    def body(self) -> bytes:
        return json.dumps(self.envelope(), separators=(",", ":"), ensure_ascii=False).encode()


class SinkError(Exception):
    """A failed delivery; `delivered` events at the head of the batch did go through."""

    def __init__(self, message: str, delivered: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.delivered = delivered


@dataclass(frozen=True)
class SinkContext:
    stream_id: str
    signing_secret: str
    streams_dir: Path
    timeout: float


class Sink(Protocol):
    async def send(self, events: Sequence[Outgoing]) -> None:
        """Delivers every event, in order, or raises SinkError."""

    async def close(self) -> None: ...


def missing_extra(type_: str) -> str | None:
    """Why a stream of this type cannot run here, or None."""
    needed = EXTRAS.get(type_)
    if needed is None or importlib.util.find_spec(needed[0]) is not None:
        return None
    return (
        f"the {type_} client library ({needed[0]}) is not installed: "
        f"pip install 'identa[{needed[1]}]'"
    )


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def build_sink(type_: str, sink: dict[str, Any], context: SinkContext) -> Sink:
    problem = missing_extra(type_)
    if problem is not None:
        raise SinkError(problem)
    if type_ == "http":
        from identa.events.streams.sinks.http import HttpSink

        return HttpSink(sink, context)
    if type_ == "rabbitmq":
        from identa.events.streams.sinks.rabbitmq import RabbitMQSink

        return RabbitMQSink(sink, context)
    if type_ == "nats":
        from identa.events.streams.sinks.nats import NatsSink

        return NatsSink(sink, context)
    if type_ == "kafka":
        from identa.events.streams.sinks.kafka import KafkaSink

        return KafkaSink(sink, context)
    if type_ == "file":
        from identa.events.streams.sinks.file import FileSink

        return FileSink(sink, context)
    raise SinkError(f"unknown stream type {type_!r}")
