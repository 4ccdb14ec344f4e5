"""The fixed-window request budget: counting, refusal, reset, separate keys, concurrency."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest

from identa.core.clock import FrozenClock
from identa.core.ratelimit import FixedWindowLimiter

# 20 s into the 60 s window [1_800_000_000, 1_800_000_060) (windows are aligned to the epoch).
NOW = 1_800_000_020
START = datetime.fromtimestamp(NOW, UTC)
WINDOW_END = 1_800_000_060


def limiter(limit: int = 3, window: int = 60) -> tuple[FrozenClock, FixedWindowLimiter]:
    clock = FrozenClock(START)
    return clock, FixedWindowLimiter(clock, limit=limit, window_seconds=window)


async def test_counts_down_then_refuses_until_the_window_ends() -> None:
    _, budget = limiter()
    seen = [await budget.hit("a") for _ in range(4)]
    assert [s.allowed for s in seen] == [True, True, True, False]
    assert [s.remaining for s in seen] == [2, 1, 0, 0]
    assert {s.reset_at for s in seen} == {WINDOW_END}
    refused = seen[-1]
    assert refused.retry_after == WINDOW_END - NOW
    assert refused.headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(WINDOW_END),
        "Retry-After": str(refused.retry_after),
    }
    assert "Retry-After" not in seen[0].headers()


async def test_the_budget_comes_back_when_the_window_ends() -> None:
    clock, budget = limiter(limit=1)
    assert (await budget.hit("a")).allowed
    clock.advance(WINDOW_END - NOW - 0.5)
    refused = await budget.hit("a")
    assert not refused.allowed and refused.retry_after == 1
    clock.advance(0.5)
    again = await budget.hit("a")
    assert again.allowed and again.reset_at == WINDOW_END + 60


async def test_each_key_has_its_own_budget() -> None:
    _, budget = limiter(limit=1)
    assert (await budget.hit("a")).allowed
    assert not (await budget.hit("a")).allowed
    assert (await budget.hit("b")).allowed


async def test_a_refused_request_does_not_use_budget_of_the_next_window() -> None:
    clock, budget = limiter(limit=2)
    for _ in range(10):
        await budget.hit("a")
    clock.advance(60)
    assert [(await budget.hit("a")).remaining for _ in range(2)] == [1, 0]


async def test_concurrent_tasks_and_threads_never_exceed_the_limit() -> None:
    _, budget = limiter(limit=50)
    results = await asyncio.gather(*(budget.hit("a") for _ in range(80)))
    assert sum(r.allowed for r in results) == 50
    _, budget = limiter(limit=500)
    allowed: list[bool] = []

    def worker() -> None:
        for _ in range(200):
            allowed.append(budget.hit_now("b").allowed)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 500


def test_a_limiter_needs_a_positive_budget() -> None:
    with pytest.raises(ValueError):
        FixedWindowLimiter(FrozenClock(START), limit=0, window_seconds=60)
