"""A webhook receiver stand-in: POST /hooks/login records the JSON body; 401 without the token."""

from __future__ import annotations

from typing import Any

from tests.standins.server import Reply, Request, StandinServer

TOKEN = "hook-token"


class WebhookStandin(StandinServer):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []
        self.route("POST", "/hooks/login", self._hook)

    def _hook(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": "unauthorized"})
        self.received.append(request.json())
        return Reply(202, {"accepted": True})
