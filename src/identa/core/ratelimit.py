"""Request budgets per caller: a fixed-window counter, in memory, for one process.

Each key (a Management API client_id) may make `limit` requests in each window of `window_seconds`;
windows are aligned to the Unix epoch, so every key's budget comes back at the same instants and the
reset time is exact. With several worker processes each keeps its own counts: the limit applies per
worker, not per deployment.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

from identa.core.clock import Clock

RATE_LIMIT_MESSAGE = (
    "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and "
    "X-RateLimit-Reset headers."
)


@dataclass(frozen=True)
class RateLimitStatus:
    """The outcome of one request against its key's budget."""

    allowed: bool
    limit: int
    remaining: int  # requests still allowed in this window, after this one
    reset_at: int  # epoch seconds at which the budget is full again
    retry_after: int  # seconds until reset_at (at least 1)

    def headers(self) -> dict[str, str]:
        """Auth0's rate-limit headers; Retry-After only on a refusal."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter(Protocol):
    async def hit(self, key: str) -> RateLimitStatus:
        """Counts one request for `key` and says whether it is within the budget."""
        ...


class FixedWindowLimiter:
    """`limit` requests per key per `window_seconds`, counted in this process.

    Safe under asyncio (no await inside the count) and across threads (a lock around it).
    A refused request does not use up budget. Memory holds one entry per key seen in the current
    window; older entries are dropped when a new window starts.
    """

    def __init__(self, clock: Clock, *, limit: int, window_seconds: int) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("a rate limit needs limit >= 1 and window_seconds >= 1")
        self._clock = clock
        self._limit = limit
        self._window = window_seconds
        self._lock = threading.Lock()
        self._window_index = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str) -> RateLimitStatus:
        return self.hit_now(key)

    def hit_now(self, key: str) -> RateLimitStatus:
        now = self._clock.now().timestamp()
        index = math.floor(now / self._window)
        reset_at = (index + 1) * self._window
        with self._lock:
            if index != self._window_index:
                # Fixed windows: every count from an earlier window is void.
                self._window_index = index
                self._counts = {}
            used = self._counts.get(key, 0)
            allowed = used < self._limit
            if allowed:
                used += 1
                self._counts[key] = used
        return RateLimitStatus(
            allowed=allowed,
            limit=self._limit,
            remaining=self._limit - used,
            reset_at=reset_at,
            retry_after=max(1, math.ceil(reset_at - now)),
        )
