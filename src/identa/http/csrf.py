"""CSRF protection for the hosted forms: a random cookie and a form field derived from it.

The field is an HMAC of the cookie under the deployment secret, so a page on another site can
neither read the cookie nor compute the field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CSRF_COOKIE = "identa_csrf"
CSRF_FIELD = "csrf_token"


class Csrf:
    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode("utf-8")

    def new_cookie_value(self) -> str:
        return secrets.token_urlsafe(24)

    def token_for(self, cookie_value: str) -> str:
        return hmac.new(self._key, b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie_value: str | None, submitted: str | None) -> bool:
        if not cookie_value or not submitted or len(submitted) > 128:
            return False
        return hmac.compare_digest(self.token_for(cookie_value), submitted)
