"""How tokens, states and secrets are kept: their SHA-256 (hex), never the value itself.

The values are random and long (session ids, one-time tokens, client secrets), so a fast hash
is enough: a stolen table gives nothing to replay, and lookups stay an index probe."""

from __future__ import annotations

import hashlib


def token_digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
