"""Who is asking: the facts about a request that every recorded event carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str | None = None
    hostname: str | None = None
    request_id: str | None = None


SYSTEM = RequestContext(ip=None, user_agent="identa-cli", hostname=None)
