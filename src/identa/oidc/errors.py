"""OAuth 2.0 protocol errors: the RFC's `error` code, a description, and the HTTP status."""

from __future__ import annotations

from typing import Any


class OAuthError(Exception):
    """RFC 6749 §5.2 / OIDC Core §3.1.2.6 error. `status` is Auth0's status for the case."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        # Extra facts for the failure's log event (e.g. the rules' runs), never sent.
        self.details: dict[str, Any] = {}

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description, 400)


def invalid_client(description: str = "Client authentication failed.") -> OAuthError:
    return OAuthError("invalid_client", description, 401)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description, 403)


def unauthorized_client(description: str) -> OAuthError:
    return OAuthError("unauthorized_client", description, 403)
