"""The rules on /authorize when the browser already has a session (SSO, and silent
authentication with `prompt=none`): Auth0 runs them on every authentication, not only when
credentials were typed.

Neither case counts as a new login (`logins_count` is unchanged, Auth0's rule). A silent
authentication is logged `ssa` / `fsa` by /authorize; an interactive reuse of the session is
logged `s` with `details.sso = true`. A redirect rule sends the browser on (then `/continue`) in
the interactive case, and fails a silent one with `interaction_required`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from identa.clients.models import Client
from identa.connections.models import Connection
from identa.connections.service import is_database
from identa.core.errors import DomainError
from identa.events.catalog import LogType
from identa.flows.models import subject_for
from identa.flows.post_login import (
    Passed,
    RulesDenied,
    RulesFailed,
    RulesRedirect,
    authorize_protocol,
)
from identa.http.authn.responses import authorization_response
from identa.http.context import request_context
from identa.http.hosted.common import Hosted
from identa.http.hosted.render import Brand
from identa.http.hosted.rules_pages import rules_response
from identa.oidc.requests import AuthorizationRequest
from identa.rules.pipeline import LoginFacts
from identa.sessions.models import SsoSession


@dataclass
class Refused:
    """The rules refused: the response to send (the caller commits the recorded events)."""

    response: Response
    error: str


def _error(h: Hosted, req: AuthorizationRequest, error: str, description: str) -> Response:
    return authorization_response(
        req.redirect_uri,
        req.response_mode,
        {
            "error": error,
            "error_description": description,
            "state": req.state or "",
            "iss": h.c.settings.issuer,
        },
    )


async def _connection(h: Hosted, db: Any, name: str | None) -> Connection | None:
    if not name:
        return None
    try:
        return await h.c.connections.by_name(db, name)
    except DomainError:
        return None


async def rules_on_session(
    h: Hosted,
    db: Any,
    request: Request,
    client: Client,
    req: AuthorizationRequest,
    sso: SsoSession,
    *,
    silent: bool,
) -> Passed | Refused:
    """Runs the enabled rules for a login that reuses `sso`; the user's claims on success."""
    c = h.c
    user = await c.users.get(db, sso.user_id)
    if user.blocked or not await c.pipeline.enabled_rules(db):
        return Passed(user=user)
    connection = await _connection(h, db, sso.connection)
    method = "pwd" if connection is None or is_database(connection) else "federated"
    facts = LoginFacts(
        client=client,
        connection=connection,
        protocol=authorize_protocol(req.response_type),
        request=request_context(request),
        query={k: v for k, v in req.as_dict().items() if isinstance(v, str | int) and v},
        session_id=sso.id,
        methods=(method,),
        interactive=not silent,
    )
    # A redirect rule needs a flow to resume at /continue; silent authentication cannot redirect.
    flow = None
    if not silent:
        flow = await c.flows.start(
            db,
            client_id=client.client_id,
            request={"kind": "authorize", "authorize": req.as_dict(), "sso": True},
        )
        flow.return_to = f"/authorize/resume?state={flow.id}"
    try:
        passed = await c.post_login.run(
            db,
            user,
            facts,
            flow=flow,
            failure_log=LogType.FAILED_SILENT_AUTH if silent else LogType.FAILED_LOGIN,
        )
    except (RulesDenied, RulesFailed, RulesRedirect) as exc:
        brand = h.brand(await c.tenants.get(db), client)
        return _refused(h, request, req, flow, brand, exc)
    if flow is not None:
        await db.delete(flow)
    if passed.user.user_id != sso.user_id:
        # A rule linked this account into another one (context.primaryUser).
        sso.user_id = passed.user.user_id
    return passed


def _refused(
    h: Hosted,
    request: Request,
    req: AuthorizationRequest,
    flow: Any,
    brand: Brand,
    exc: RulesDenied | RulesFailed | RulesRedirect,
) -> Refused:
    if isinstance(exc, RulesDenied):
        return Refused(_error(h, req, "access_denied", exc.message), "access_denied")
    if isinstance(exc, RulesFailed) and exc.code == "interaction_required":
        return Refused(
            _error(h, req, "interaction_required", "Interaction required"),
            "interaction_required",
        )
    if flow is None:
        # Silent authentication: the application hears of the failure at its callback.
        return Refused(_error(h, req, "server_error", f"Rule error: {exc.message}"), "server_error")
    return Refused(rules_response(h, request, flow, brand, exc), "rules")


def record_sso_login(
    h: Hosted, db: Any, request: Request, client: Client, sso: SsoSession, passed: Passed
) -> None:
    """An interactive login through the existing session: `s` with `details.sso`, the rules'
    runs, and the unchanged login count."""
    user = passed.user
    if user.blocked:
        return  # /authorize refuses the blocked user and logs that
    h.c.events.record(
        db,
        LogType.SUCCESS_LOGIN,
        subject=subject_for(client, None, user),
        request=request_context(request),
        details={
            "sso": True,
            "session_id": sso.id,
            "stats": {"loginsCount": user.logins_count},
            "prompts": [],
            **passed.details,
        },
    )
