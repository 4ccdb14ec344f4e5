"""Input rules for e-mails, usernames and passwords on database connections (Auth0's limits)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from identa.identity.errors import InvalidEmail, InvalidUsername, PasswordTooLong
from identa.identity.passwords import MAX_PASSWORD_BYTES

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART = 64
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9@`^$!\-#.+'~_]+$")
DEFAULT_USERNAME_MIN = 1
DEFAULT_USERNAME_MAX = 15
MAX_USERNAME = 128


def normalize_email(email: str) -> str:
    """Checks and lower-cases an e-mail, as Auth0 stores database-connection e-mails."""
    email = email.strip()
    if not email:
        raise InvalidEmail("Email is required.")
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"Email must be at most {MAX_EMAIL_LENGTH} characters.")
    local, _, _ = email.rpartition("@")
    if len(local) > MAX_LOCAL_PART:
        raise InvalidEmail(f"The part before @ must be at most {MAX_LOCAL_PART} characters.")
    try:
        result = validate_email(email, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Invalid email address: {exc}") from exc
    return result.normalized.lower()


def normalize_username(
    username: str, *, min_length: int = DEFAULT_USERNAME_MIN, max_length: int = DEFAULT_USERNAME_MAX
) -> str:
    username = username.strip()
    max_length = min(max_length, MAX_USERNAME)
    if not min_length <= len(username) <= max_length:
        raise InvalidUsername(f"Username must be between {min_length} and {max_length} characters.")
    if not USERNAME_PATTERN.match(username):
        raise InvalidUsername(
            "Username may contain letters, digits and @ ` ^ $ ! - # . + ' ~ _ only."
        )
    if "@" in username and re.match(r"^[^@]+@[^@]+\.[^@]+$", username):
        raise InvalidUsername("Username may not be an email address.")
    return username.lower()


def check_password_size(password: str) -> None:
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise PasswordTooLong(f"Password must be at most {MAX_PASSWORD_BYTES} bytes.")
