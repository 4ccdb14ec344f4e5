"""The signed, one-time `state` of a redirect rule (Auth0 §5.4): the browser leaves with it and
comes back to `/continue?state=…`. HMAC-SHA256 under a key derived from the secret key; the flow
keeps the nonce, which is consumed on the first use, so a replayed state is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from identa.core import ids
from identa.core.errors import InvalidInput

REDIRECT_LIFETIME_S = 3 * 24 * 3600


class BadState(InvalidInput):
    code = "invalid_request"


@dataclass(frozen=True)
class RedirectState:
    flow_id: str
    nonce: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RedirectStates:
    def __init__(self, secret_key: str, lifetime_s: int = REDIRECT_LIFETIME_S) -> None:
        self._key = hashlib.sha256(b"identa-rules-redirect\0" + secret_key.encode()).digest()
        self._lifetime = lifetime_s

    def issue(self, flow_id: str) -> tuple[str, RedirectState]:
        state = RedirectState(flow_id, ids.opaque_token(12), int(time.time()) + self._lifetime)
        body = _b64(json.dumps([state.flow_id, state.nonce, state.expires]).encode())
        signature = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        return f"{body}.{signature}", state

    def read(self, token: str | None) -> RedirectState:
        if not token or len(token) > 512 or token.count(".") != 1:
            raise BadState("Missing or invalid state parameter.")
        body, signature = token.split(".")
        expected = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            raise BadState("Missing or invalid state parameter.")
        try:
            flow_id, nonce, expires = json.loads(_unb64(body))
        except (ValueError, TypeError) as exc:
            raise BadState("Missing or invalid state parameter.") from exc
        if not isinstance(expires, int) or expires < time.time():
            raise BadState("The state has expired.")
        return RedirectState(str(flow_id), str(nonce), expires)
