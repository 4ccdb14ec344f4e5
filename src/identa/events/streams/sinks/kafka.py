"""`kafka` streams with aiokafka: an idempotent producer with acks=all, keyed by user, so one
user's events stay in one partition, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from identa.events.streams.sinks import Outgoing, SinkContext, SinkError, describe


class KafkaSink:
    def __init__(self, sink: dict[str, Any], context: SinkContext) -> None:
        self._servers = str(sink["kafkaBootstrapServers"])
        self._topic = str(sink["kafkaTopic"])
        self._timeout = context.timeout
        self._producer: AIOKafkaProducer | None = None

    async def _open(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        producer = AIOKafkaProducer(
            bootstrap_servers=self._servers,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(self._timeout * 1000),
            client_id="identa",
        )
        try:
            await asyncio.wait_for(producer.start(), self._timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        self._producer = producer
        return producer

    async def send(self, events: Sequence[Outgoing]) -> None:
        try:
            producer = await self._open()
        except Exception as exc:
            raise SinkError(describe(exc)) from exc
        futures = []
        for index, event in enumerate(events):
            try:
                futures.append(
                    await producer.send(
                        self._topic,
                        value=event.body(),
                        key=(event.partition_key or event.event_id).encode(),
                        headers=[("identa-event-type", event.event_type.encode())],
                    )
                )
            except Exception as exc:
                await self.close()
                raise SinkError(describe(exc), delivered=index) from exc
        results = await asyncio.gather(*futures, return_exceptions=True)
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                await self.close()
                raise SinkError(describe(result), delivered=index)

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
