"""The one error of the user-search language: a query that cannot be run, with a message saying
which part of it is wrong (rendered by the Management API as a 400)."""

from __future__ import annotations

from identa.core.errors import InvalidInput


class InvalidQuery(InvalidInput):
    """Unparseable, unsupported or out-of-limits search query or sort parameter."""

    # Auth0's errorCode for a rejected `q` or `sort` on GET /api/v2/users.
    code = "invalid_query_string"
