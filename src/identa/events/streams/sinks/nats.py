"""`nats` streams with nats-py and JetStream: each event published to `natsSubject` and
acknowledged by the stream that stores it. `Nats-Msg-Id` is the event's id, so JetStream drops
the duplicates a retry could make (within its de-duplication window).

With `natsStream`, a stream of that name capturing the subject is created when missing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from identa.events.streams.sinks import Outgoing, SinkContext, SinkError, describe


async def _quiet(_error: Exception) -> None:
    # Connection errors surface through the publish that failed; nothing to log twice.
    return None


class NatsSink:
    def __init__(self, sink: dict[str, Any], context: SinkContext) -> None:
        self._url = str(sink["natsUrl"])
        self._subject = str(sink["natsSubject"])
        self._stream = sink.get("natsStream")
        self._timeout = context.timeout
        self._client: Client | None = None
        self._js: JetStreamContext | None = None

    async def _open(self) -> JetStreamContext:
        if self._js is not None and self._client is not None and self._client.is_connected:
            return self._js
        await self.close()
        self._client = await nats.connect(
            self._url,
            name="identa",
            connect_timeout=self._timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=_quiet,
        )
        self._js = self._client.jetstream(timeout=self._timeout)
        if self._stream:
            try:
                await self._js.stream_info(str(self._stream))
            except NotFoundError:
                await self._js.add_stream(name=str(self._stream), subjects=[self._subject])
        return self._js

    async def send(self, events: Sequence[Outgoing]) -> None:
        try:
            js = await self._open()
        except Exception as exc:
            await self.close()
            raise SinkError(describe(exc)) from exc
        for index, event in enumerate(events):
            try:
                await js.publish(
                    self._subject,
                    event.body(),
                    timeout=self._timeout,
                    headers={
                        "Nats-Msg-Id": event.event_id,
                        "Identa-Event-Type": event.event_type,
                        "Identa-Topic": event.topic,
                    },
                )
            except Exception as exc:
                await self.close()
                raise SinkError(describe(exc), delivered=index) from exc

    async def close(self) -> None:
        client, self._client, self._js = self._client, None, None
        if client is not None and not client.is_closed:
            with contextlib.suppress(Exception):
                await client.close()
