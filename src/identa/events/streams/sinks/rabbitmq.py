"""`rabbitmq` streams with aio-pika: persistent messages, publisher confirms.

With an exchange, each event is published to it with the configured routing key (or
`identa.<topic>.<type>`, for topic exchanges); without one, to a durable queue named by the
routing key, through the default exchange. One message per event, its body the {log_id, data}
envelope and its message_id the event's id, so consumers can drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from identa.events.streams.sinks import Outgoing, SinkContext, SinkError, describe


class RabbitMQSink:
    def __init__(self, sink: dict[str, Any], context: SinkContext) -> None:
        self._url = str(sink["rabbitmqUrl"])
        self._exchange_name = str(sink.get("rabbitmqExchange") or "")
        self._routing_key = str(sink.get("rabbitmqRoutingKey") or "")
        self._timeout = context.timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def _open(self) -> AbstractExchange:
        if self._exchange is not None and self._channel is not None and not self._channel.is_closed:
            return self._exchange
        await self.close()
        self._connection = await aio_pika.connect(
            self._url, timeout=self._timeout, client_properties={"connection_name": "identa"}
        )
        self._channel = await self._connection.channel(publisher_confirms=True)
        if self._exchange_name:
            self._exchange = await self._channel.get_exchange(self._exchange_name, ensure=True)
        else:
            await self._channel.declare_queue(self._routing_key, durable=True)
            self._exchange = self._channel.default_exchange
        return self._exchange

    def _key(self, event: Outgoing) -> str:
        if self._routing_key:
            return self._routing_key
        return f"identa.{event.topic}.{event.event_type}"

    async def send(self, events: Sequence[Outgoing]) -> None:
        try:
            exchange = await asyncio.wait_for(self._open(), self._timeout)
        except Exception as exc:
            await self.close()
            raise SinkError(describe(exc)) from exc
        messages = [
            aio_pika.Message(
                event.body(),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type="application/json",
                message_id=event.event_id,
                type=event.event_type,
                headers={"identa-topic": event.topic},
            )
            for event in events
        ]
        # Published in order on one channel (its lock is FIFO), the confirms awaited together.
        # Nothing is cancelled before its frames are written (no per-message timeout), so a
        # message can only be lost with every later one: a retry never lets a later event
        # overtake an earlier one.
        tasks = [
            asyncio.ensure_future(exchange.publish(message, self._key(event), mandatory=False))
            for message, event in zip(messages, events, strict=True)
        ]
        _, pending = await asyncio.wait(tasks, timeout=self._timeout * 3)
        if pending:
            await self.close()  # fails whatever is still waiting
            await asyncio.wait(pending, timeout=self._timeout)
        problems = [
            task.exception() if task.done() and not task.cancelled() else None for task in tasks
        ]  # every outcome read, so that none is reported as never retrieved
        for index, task in enumerate(tasks):
            if not task.done():
                task.cancel()
                raise SinkError("TimeoutError: no publisher confirm in time", delivered=index)
            problem = problems[index]
            if problem is not None:
                await self.close()
                raise SinkError(describe(problem), delivered=index)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self._timeout)
