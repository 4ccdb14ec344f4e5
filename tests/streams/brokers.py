"""Helpers shared by the broker tests: RabbitMQ queues, rabbitmqctl, and checking deliveries."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import defaultdict
from typing import Any

import pytest


async def drain_queue(url: str, queue_name: str, expected: int, within: float = 60.0) -> list[Any]:
    """Every message in a durable queue (acknowledged), waiting until `expected` have come."""
    import aio_pika

    received: list[Any] = []
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                if len(received) >= expected:
                    break
                await asyncio.sleep(0.1)
                continue
            received.append(message)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
    return received


async def delete_queue(url: str, queue_name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        await channel.queue_delete(queue_name)
    finally:
        await connection.close()


async def rabbitmqctl(*args: str) -> None:
    command = shutil.which("rabbitmqctl")
    if command is None:
        pytest.skip("rabbitmqctl is not on PATH: cannot stop and start RabbitMQ")
    process = await asyncio.create_subprocess_exec(
        command, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"rabbitmqctl {' '.join(args)} failed: {output.decode()[-2000:]}")


async def wait_for_rabbitmq(url: str, within: float = 60.0) -> None:
    import aio_pika

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            connection = await aio_pika.connect(url, timeout=3)
            await connection.close()
            return
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)


def check_deliveries(
    bodies: list[bytes], logged: dict[str, dict[str, Any]], order: dict[str, int]
) -> None:
    """Every logged event arrived exactly as logged; a duplicate is the same event again; each
    user's events arrived in the order they were written (`order`: log_id → outbox id)."""
    first: dict[str, dict[str, Any]] = {}
    sequence: dict[str, list[int]] = defaultdict(list)
    for raw in bodies:
        envelope = json.loads(raw)
        log_id = envelope["log_id"]
        if log_id in first:
            assert envelope == first[log_id], f"a duplicate of {log_id} differs from the first"
            continue
        first[log_id] = envelope
        if log_id in order:
            sequence[envelope["data"].get("user_id", "")].append(order[log_id])
    missing = set(logged) - set(first)
    assert not missing, f"{len(missing)} of {len(logged)} logged events never arrived"
    for log_id, event in logged.items():
        assert first[log_id] == {"log_id": log_id, "data": event}, f"{log_id} arrived changed"
    for user_id, ids in sequence.items():
        assert ids == sorted(ids), f"events of {user_id} arrived out of order"
