"""The rules on the refresh-token exchange (`context.protocol == "oauth2-refresh-token"`).

Auth0 runs the rules here too: their claims go into the refreshed tokens, an UnauthorizedError
refuses the exchange with `access_denied`, and a redirect, which no browser can follow, refuses
it with `interaction_required`. It is not a login: no `s` event and `logins_count` unchanged; the
token endpoint logs `sertft` / `fertft` with the rules' runs.
"""

from __future__ import annotations

from typing import Any

from identa.clients.models import Client
from identa.connections.service import is_database
from identa.container import Container
from identa.core.context import RequestContext
from identa.core.errors import DomainError
from identa.flows.post_login import Passed, RulesDenied, RulesFailed
from identa.identity.models import User
from identa.oidc.errors import OAuthError
from identa.oidc.models import RefreshToken
from identa.rules.pipeline import LoginFacts

HIDDEN = ("refresh_token", "client_secret", "client_assertion", "password")


async def rules_on_refresh(
    c: Container,
    db: Any,
    client: Client,
    user: User,
    token: RefreshToken,
    params: dict[str, Any],
    ctx: RequestContext,
) -> Passed | None:
    """The rules' outcome, or None when no rule is enabled (the family's claims then stay)."""
    if not await c.pipeline.enabled_rules(db):
        return None
    connection = None
    primary = user.identities[0] if user.identities else None
    if primary is not None:
        try:
            connection = await c.connections.by_name(db, primary.connection_name)
        except DomainError:
            connection = None
    facts = LoginFacts(
        client=client,
        connection=connection,
        protocol="oauth2-refresh-token",
        request=ctx,
        query={},
        body={k: v for k, v in params.items() if isinstance(v, str) and k not in HIDDEN},
        session_id=token.session_id,
        methods=("pwd" if connection is None or is_database(connection) else "federated",),
        interactive=False,
    )
    try:
        return await c.post_login.run(db, user, facts, failure_log=None)
    except RulesDenied as exc:
        raise _with_runs(OAuthError("access_denied", exc.message, 403), exc) from exc
    except RulesFailed as exc:
        if exc.code == "interaction_required":
            refused = OAuthError(
                "interaction_required",
                "A rule asked for a redirect, which a refresh-token exchange cannot follow.",
                400,
            )
        else:
            refused = OAuthError("server_error", f"Rule error: {exc.message}", 500)
        raise _with_runs(refused, exc) from exc


def _with_runs(error: OAuthError, exc: DomainError) -> OAuthError:
    error.details = dict(exc.details)
    return error
