"""`file` streams: JSON lines ({log_id, data} per line) in <data dir>/streams, rotated by size.

The embedded default: no service to run. When the file would pass `fileMaxBytes` it becomes
`<name>.1` (`.1` becomes `.2`, …, keeping `fileBackups` of them). Each batch is fsynced.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from identa.events.streams.sinks import Outgoing, SinkContext, SinkError, describe


def stream_file(sink: dict[str, Any], context: SinkContext) -> Path:
    return context.streams_dir / str(sink.get("filePath") or f"{context.stream_id}.jsonl")


class FileSink:
    def __init__(self, sink: dict[str, Any], context: SinkContext) -> None:
        self._path = stream_file(sink, context)
        self._max_bytes = int(sink.get("fileMaxBytes") or 10 * 1024 * 1024)
        backups = sink.get("fileBackups")
        self._backups = int(backups) if backups is not None else 5

    def _rotate(self) -> None:
        if self._backups == 0:
            self._path.unlink(missing_ok=True)
            return
        for index in range(self._backups - 1, 0, -1):
            older = self._path.with_name(f"{self._path.name}.{index}")
            if older.exists():
                os.replace(older, self._path.with_name(f"{self._path.name}.{index + 1}"))
        os.replace(self._path, self._path.with_name(f"{self._path.name}.1"))

    def _write(self, lines: list[bytes]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        pending = list(lines)
        while pending:
            size = self._path.stat().st_size if self._path.exists() else 0
            chunk: list[bytes] = []
            while pending and (
                (not chunk and size == 0) or size + len(pending[0]) <= self._max_bytes
            ):
                size += len(pending[0])
                chunk.append(pending.pop(0))
            if not chunk:
                self._rotate()
                continue
            with open(self._path, "ab") as handle:
                handle.write(b"".join(chunk))
                handle.flush()
                os.fsync(handle.fileno())

    async def send(self, events: Sequence[Outgoing]) -> None:
        lines = [event.body() + b"\n" for event in events]
        try:
            await asyncio.to_thread(self._write, lines)
        except OSError as exc:
            raise SinkError(describe(exc)) from exc

    async def close(self) -> None:
        return None
