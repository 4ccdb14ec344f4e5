"""Errors about applications."""

from identa.core.errors import NotFound


class ClientNotFound(NotFound):
    code = "client_not_found"
