"""Errors of the hosted flows."""

from identa.core.errors import DomainError


class FlowNotFound(DomainError):
    code = "invalid_request"


class TicketInvalid(DomainError):
    """Unknown, used or expired link. One message for all three: a link either works or not."""

    code = "invalid_ticket"


class SignupDisabled(DomainError):
    code = "signup_disabled"
