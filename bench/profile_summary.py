"""Where the server's time goes, from py-spy's raw (collapsed) stacks.

Reads the files that `--py-spy DIR` makes (bench_oidc.py, bench_password_auth.py), i.e.
`py-spy record --threads --format raw`: one line per distinct stack, `thread (tid): name;frame;
...;frame count`. For the thread chosen with --thread (by default the event loop, MainThread) it
prints:

- layers: each sample goes to the innermost frame of a package it knows (identa, SQLAlchemy,
  joserfc/cryptography, FastAPI/Starlette, uvicorn, the database driver); the standard library
  counts for whoever called it; samples with nothing but the event loop's own frames are
  "event loop" (uvloop's C code: sockets, callbacks);
- the top functions by inclusive share (the sample is somewhere inside them), identa's first;
- the top frames by self share (the innermost Python frame; C code shows as its caller).

py-spy also samples threads that wait on a lock (aiosqlite's workers), so the shares of the
other threads overstate their CPU: read that from /proc (the benchmarks' "srv thr").

    .venv/bin/python bench/profile_summary.py /tmp/prof/sqlite-client_credentials.txt
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

LAYERS = {
    "identa": "identa's own code",
    "sqlalchemy": "SQLAlchemy",
    "greenlet": "SQLAlchemy",
    "aiosqlite": "database driver",
    "asyncpg": "database driver",
    "joserfc": "JOSE + crypto (joserfc, cryptography)",
    "cryptography": "JOSE + crypto (joserfc, cryptography)",
    "fastapi": "FastAPI / Starlette / pydantic",
    "starlette": "FastAPI / Starlette / pydantic",
    "pydantic": "FastAPI / Starlette / pydantic",
    "pydantic_core": "FastAPI / Starlette / pydantic",
    "anyio": "FastAPI / Starlette / pydantic",
    "uvicorn": "uvicorn + httptools",
    "httptools": "uvicorn + httptools",
}
EVENT_LOOP = "event loop (uvloop: sockets, callbacks)"
LOOP_ROOT = "Runner.run (asyncio/runners.py"


@dataclass(frozen=True)
class Sample:
    thread: str
    frames: tuple[str, ...]  # outermost first
    count: int


def read_samples(paths: list[Path]) -> list[Sample]:
    samples = []
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            thread, *frames = stack.split(";")
            name = thread.split(": ", 1)[-1]
            samples.append(Sample(name, tuple(frames), int(count)))
    return samples


def package(frame: str) -> str | None:
    """The top-level package of a frame such as `Session.get (sqlalchemy/orm/session.py:12)`."""
    if not frame.endswith(")") or " (" not in frame:
        return None
    location = frame.rsplit(" (", 1)[1]
    head = location.split("/", 1)[0] if "/" in location else ""
    return head if head in LAYERS else None


def below_loop(frames: tuple[str, ...]) -> tuple[str, ...]:
    """The frames the event loop runs (callbacks, tasks); all of them if it is not there."""
    for index in range(len(frames) - 1, -1, -1):
        if frames[index].startswith(LOOP_ROOT):
            return frames[index + 1 :]
    return frames


def layer(frames: tuple[str, ...]) -> str:
    for frame in reversed(below_loop(frames)):
        found = package(frame)
        if found is not None:
            return LAYERS[found]
    return EVENT_LOOP


def _function(frame: str) -> str:
    """The frame without its line number: `f (pkg/mod.py:12)` -> `f (pkg/mod.py)`."""
    head, sep, line = frame.rpartition(":")
    return f"{head})" if sep and line.rstrip(")").isdigit() else frame


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:5.1f}%"


def summarise(samples: list[Sample], thread: str, top: int) -> None:
    per_thread: Counter[str] = Counter()
    for sample in samples:
        per_thread[sample.thread] += sample.count
    everything = sum(per_thread.values())
    print(f"{everything} samples; by thread (waiting threads included, see the note):")
    for name, count in per_thread.most_common(8):
        print(f"  {_share(count, everything)}  {name}")
    chosen = [s for s in samples if thread in s.thread]
    total = sum(s.count for s in chosen)
    if not total:
        print(f"no samples of a thread named like {thread!r}")
        return
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for sample in chosen:
        frames = below_loop(sample.frames)
        layers[layer(sample.frames)] += sample.count
        for frame in {_function(frame) for frame in frames}:
            inclusive[frame] += sample.count
        own[frames[-1] if frames else LOOP_ROOT + ")"] += sample.count
    print(f"\n{thread}: {total} samples, by layer (innermost known package):")
    for name, count in layers.most_common():
        print(f"  {_share(count, total)}  {name}")
    print(f"\n{thread}: identa's functions by inclusive share:")
    for frame, count in [(f, c) for f, c in inclusive.most_common() if package(f) == "identa"][
        :top
    ]:
        print(f"  {_share(count, total)}  {frame}")
    print(f"\n{thread}: other functions by inclusive share (routing and middleware left out):")
    others = [
        (f, c)
        for f, c in inclusive.most_common()
        if package(f) not in ("identa", "uvicorn", "fastapi", "starlette") and c < total * 0.97
    ]
    for frame, count in others[:top]:
        print(f"  {_share(count, total)}  {frame}")
    print(f"\n{thread}: by self share (innermost Python frame):")
    for frame, count in own.most_common(top):
        print(f"  {_share(count, total)}  {frame}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path, help="py-spy raw output files")
    parser.add_argument("--thread", default="MainThread", help="thread name (substring)")
    parser.add_argument("--top", type=int, default=25, help="rows per list")
    args = parser.parse_args(argv)
    samples = read_samples(args.files)
    if not samples:
        print("no samples", file=sys.stderr)
        return 1
    summarise(samples, args.thread, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
