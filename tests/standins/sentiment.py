"""Tweet-sentiment API stand-in: POST /analyze {twitterHandle, secretToken} -> sentiment summary.

The InnovaShoes rule posts `{twitterHandle, secretToken}` as JSON and only checks for a transport
error; this stand-in answers with a per-handle summary and 401 for a wrong token.
"""

from __future__ import annotations

from tests.standins.server import Reply, Request, StandinServer

SECRET_TOKEN = ";ojhsajk;h;Kh:Jh"


class SentimentStandin(StandinServer):
    def __init__(self) -> None:
        super().__init__()
        self.route("POST", "/analyze", self._analyze)

    def _analyze(self, request: Request) -> Reply:
        payload = request.json() or {}
        if payload.get("secretToken") != SECRET_TOKEN:
            return Reply(401, {"error": "invalid secretToken"})
        handle = str(payload.get("twitterHandle", ""))
        return Reply(
            200,
            {
                "twitterHandle": handle,
                "mentions": 3,
                "sentiment": "negative" if handle.startswith("angry") else "positive",
                "score": -0.6 if handle.startswith("angry") else 0.7,
            },
        )
