"""Stream configuration, filters, backoff, the HTTP body and signature, and file rotation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from identa.events.streams.config import InvalidStreamConfig, check_sink, matcher
from identa.events.streams.dispatcher import backoff
from identa.events.streams.sinks import Outgoing, SinkContext
from identa.events.streams.sinks.file import FileSink
from identa.events.streams.sinks.http import encode, sign
from identa.settings import StreamSettings


def event(n: int) -> Outgoing:
    return Outgoing(n, "log", "s", f"log{n}", "auth0|1", {"type": "s", "n": n})


def test_filters_match_categories_and_types() -> None:
    wanted = matcher(
        [{"type": "category", "name": "auth.login.fail"}, {"type": "type", "name": "user.deleted"}]
    )
    assert wanted is not None
    assert {"f", "fp", "fu", "user.deleted"} <= wanted
    assert "s" not in wanted
    assert matcher([]) is None


def test_a_rabbitmq_sink_without_an_exchange_needs_a_queue() -> None:
    with pytest.raises(InvalidStreamConfig, match="rabbitmqRoutingKey"):
        check_sink("rabbitmq", {"rabbitmqUrl": "amqp://guest:guest@h:5672/"})
    sink = check_sink("rabbitmq", {"rabbitmqUrl": "amqps://h/", "rabbitmqExchange": "events"})
    assert sink["rabbitmqRoutingKey"] == ""


def test_backoff_doubles_up_to_its_cap() -> None:
    settings = StreamSettings(backoff_base_seconds=1, backoff_max_seconds=10)
    delays = [backoff(settings, n) for n in range(1, 7)]
    for delay, nominal in zip(delays, [1, 2, 4, 8, 10, 10], strict=True):
        assert nominal * 0.8 <= delay <= nominal


def test_http_bodies_in_auth0_formats() -> None:
    events = [event(1), event(2)]
    lines = encode(events, "JSONLINES").split(b"\n")
    assert [json.loads(line) for line in lines] == [e.envelope() for e in events]
    assert json.loads(encode(events, "JSONARRAY")) == [e.envelope() for e in events]
    assert json.loads(encode(events, "JSONOBJECT")) == {"logs": [e.envelope() for e in events]}
    assert events[0].envelope() == {"log_id": "log1", "data": {"type": "s", "n": 1}}


def test_the_signature_is_an_hmac_of_the_time_and_body() -> None:
    header = sign("s3cret", 1700000000, b"[]")
    expected = hmac.new(b"s3cret", b"1700000000.[]", hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_file_stream_rotates_by_size(tmp_path: Path) -> None:
    sink = FileSink(
        {"fileMaxBytes": 1024, "fileBackups": 2},
        SinkContext("lst_1", "secret", tmp_path, 1.0),
    )
    for n in range(0, 60, 6):
        asyncio.run(sink.send([event(i) for i in range(n, n + 6)]))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["lst_1.jsonl", "lst_1.jsonl.1", "lst_1.jsonl.2"]
    assert all(p.stat().st_size <= 1024 for p in tmp_path.iterdir())
    newest = [json.loads(x) for x in (tmp_path / "lst_1.jsonl").read_text().splitlines()]
    assert newest[-1]["data"]["n"] == 59
