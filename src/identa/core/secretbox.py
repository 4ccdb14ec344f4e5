"""Encryption at rest for secrets Identa keeps on someone's behalf (upstream tokens and
client secrets of identity providers): Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
with HKDF-SHA256 from the deployment's secret key, one derived key per purpose."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "enc:v1:"


class SecretBox:
    def __init__(self, secret_key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"identa-secretbox",
            info=purpose.encode(),
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The clear text, or None when the value was not sealed with this key."""
        if not sealed.startswith(PREFIX):
            return None
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            return None

    def seal_json(self, value: dict[str, Any]) -> str:
        return self.seal(json.dumps(value, separators=(",", ":")))

    def open_json(self, sealed: str | None) -> dict[str, Any]:
        clear = self.open(sealed) if sealed else None
        if clear is None:
            return {}
        value = json.loads(clear)
        return value if isinstance(value, dict) else {}

    @staticmethod
    def is_sealed(value: Any) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)
