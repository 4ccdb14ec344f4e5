"""Errors about customers and their credentials; each has a stable code."""

from __future__ import annotations

from typing import Any

from identa.core.errors import Conflict, DomainError, InvalidInput, NotFound


class UserNotFound(NotFound):
    code = "inexistent_user"


class UserExists(Conflict):
    code = "user_exists"


class UsernameExists(Conflict):
    code = "username_exists"


class InvalidEmail(InvalidInput):
    code = "invalid_email"


class InvalidUsername(InvalidInput):
    code = "invalid_username"


class PasswordTooLong(InvalidInput):
    code = "password_too_long"


class PasswordPolicyError(DomainError):
    """The password does not meet the connection's policy; `description` is Auth0's rule list."""

    code = "invalid_password"

    def __init__(self, message: str, description: dict[str, Any], problems: list[str]) -> None:
        super().__init__(message)
        self.description = description
        self.problems = problems


class WrongCredentials(DomainError):
    """Unknown identifier or wrong password: deliberately the same error for both."""

    code = "invalid_grant"

    def __init__(self, *, unknown_user: bool, user_id: str | None = None) -> None:
        super().__init__("Wrong email or password.")
        self.unknown_user = unknown_user
        self.user_id = user_id


class TooManyAttempts(DomainError):
    code = "too_many_attempts"

    def __init__(self, *, user_id: str | None = None) -> None:
        super().__init__(
            "Your account has been blocked after multiple consecutive login attempts. "
            "We've sent you an email with instructions on how to unblock it."
        )
        self.user_id = user_id


class UserBlocked(DomainError):
    code = "unauthorized"

    def __init__(self, *, user_id: str | None = None) -> None:
        super().__init__("user is blocked")
        self.user_id = user_id


class WrongCurrentPassword(DomainError):
    code = "invalid_current_password"
