"""Auth0's `http` log stream: batches of {log_id, data} envelopes POSTed to an endpoint.

Every request carries `X-Identa-Signature: t=<unix time>,v1=<hex>`, the HMAC-SHA256 of
`<t>.<body>` keyed with the stream's signing secret, so the receiver can check where it came from
and refuse replays of old requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from identa.events.streams.sinks import Outgoing, SinkContext, SinkError, describe

SIGNATURE_HEADER = "X-Identa-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def encode(events: Sequence[Outgoing], content_format: str) -> bytes:
    envelopes = [event.envelope() for event in events]
    if content_format == "JSONARRAY":
        return json.dumps(envelopes, separators=(",", ":"), ensure_ascii=False).encode()
    if content_format == "JSONOBJECT":
        return json.dumps({"logs": envelopes}, separators=(",", ":"), ensure_ascii=False).encode()
    return b"\n".join(event.body() for event in events)


class HttpSink:
    def __init__(self, sink: dict[str, Any], context: SinkContext) -> None:
        self._sink = sink
        self._context = context
        self._secret = str(sink.get("httpSigningSecret") or context.signing_secret)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(context.timeout), follow_redirects=False
        )

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {
            item["header"]: item["value"] for item in self._sink.get("httpCustomHeaders") or []
        }
        headers["Content-Type"] = str(self._sink.get("httpContentType") or "application/json")
        if self._sink.get("httpAuthorization"):
            headers["Authorization"] = str(self._sink["httpAuthorization"])
        headers["User-Agent"] = "Identa-LogStreams"
        headers["X-Identa-Stream"] = self._context.stream_id
        headers[SIGNATURE_HEADER] = sign(self._secret, int(time.time()), body)
        return headers

    async def send(self, events: Sequence[Outgoing]) -> None:
        size = int(self._sink.get("httpBatchSize") or 100)
        content_format = str(self._sink.get("httpContentFormat") or "JSONLINES")
        done = 0
        while done < len(events):
            chunk = events[done : done + size]
            body = encode(chunk, content_format)
            try:
                response = await self._client.post(
                    str(self._sink["httpEndpoint"]), content=body, headers=self._headers(body)
                )
            except httpx.HTTPError as exc:
                raise SinkError(describe(exc), delivered=done) from exc
            if not 200 <= response.status_code < 300:
                raise SinkError(
                    f"HTTP {response.status_code} from {self._sink['httpEndpoint']}: "
                    f"{response.text[:200]}",
                    delivered=done,
                )
            done += len(chunk)

    async def close(self) -> None:
        await self._client.aclose()
