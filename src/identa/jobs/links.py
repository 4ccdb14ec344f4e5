"""Signed, expiring download links for finished exports.

A link carries the job id, an expiry (epoch seconds) and an HMAC-SHA256 over both, keyed by a key
derived from the deployment's secret. It needs no bearer token, cannot be guessed or extended,
and stops working when it expires; GET /api/v2/jobs/{id} hands out a fresh one each time.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote


class ExportLinks:
    def __init__(self, secret_key: str, public_url: str, ttl_seconds: int) -> None:
        self._key = hmac.new(
            secret_key.encode(), b"identa/jobs/export-download/v1", hashlib.sha256
        ).digest()
        self._base = public_url.rstrip("/")
        self.ttl_seconds = ttl_seconds

    def signature(self, job_id: str, expires: int) -> str:
        message = f"{job_id}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, job_id: str, filename: str, now: datetime, ttl_seconds: int | None = None) -> str:
        expires = int(now.timestamp()) + (self.ttl_seconds if ttl_seconds is None else ttl_seconds)
        return (
            f"{self._base}/jobs/exports/{quote(job_id)}/{quote(filename)}"
            f"?expires={expires}&signature={self.signature(job_id, expires)}"
        )

    def check(self, job_id: str, expires: str | None, signature: str | None, now: datetime) -> bool:
        if not expires or not signature or not expires.isdigit() or len(expires) > 12:
            return False
        expected = self.signature(job_id, int(expires))
        return hmac.compare_digest(expected, signature) and int(expires) >= int(now.timestamp())
