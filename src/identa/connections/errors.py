"""Errors about connections."""

from identa.core.errors import DomainError, NotFound


class ConnectionNotFound(NotFound):
    code = "connection_not_found"


class ConnectionDisabled(DomainError):
    code = "connection_disabled"
