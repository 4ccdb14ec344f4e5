"""The "Connected accounts" section of the self-service account page: connect another upstream
account (a GET link carrying the page's CSRF token, since a form post could not follow the
redirect to the provider under the page's form-action policy), the callback's end of that round
trip, and disconnecting a secondary identity (a CSRF-checked form post)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from identa.connections.social.upstream import UpstreamFailed, UpstreamResult
from identa.core.errors import DomainError
from identa.flows.social import Pending
from identa.flows.social_connect import ConnectRefused
from identa.http.context import request_context
from identa.http.csrf import CSRF_COOKIE, CSRF_FIELD
from identa.http.forms import BadForm
from identa.http.hosted.common import CsrfFailed, Hosted, first_client, see_other
from identa.http.hosted.upstream_hop import upstream_redirect
from identa.identity.models import User
from identa.sessions.models import SsoSession

NOTICES = {
    "account_connected": "Your account is connected. You can now log in with it too.",
    "account_disconnected": "The account was disconnected. It is an account of its own again.",
}
TITLE = "We could not connect your account"


async def connected_accounts(
    h: Hosted, db: AsyncSession, user: User, sso: SsoSession
) -> dict[str, Any]:
    """What the account page shows in its "Connected accounts" section."""
    client = await h.c.social.connect.application(db, first_client(sso))
    identities, available = await h.c.social.connect.overview(db, user, client)
    return {
        "identities": identities,
        "connect_buttons": [(b.connection, b.label) for b in available],
    }


async def finish_connect(
    h: Hosted, request: Request, pending: Pending, result: UpstreamResult, brand: Any
) -> Response:
    """The callback of a "Connect" round trip: the identity joins the signed-in profile."""
    c = h.c
    ctx = request_context(request)
    async with c.unit_of_work() as uow:
        db = uow.session
        sso = await h.current_session(db, request)
        user_id = sso.user_id if sso is not None else None  # read before a rollback expires it
        try:
            await c.social.connect.complete(db, pending, result, sso=sso, request=ctx)
        except DomainError as exc:
            await uow.rollback()
            user = await c.users.find(db, user_id) if user_id is not None else None
            c.social.record_failure(
                db,
                client=pending.client,
                connection=pending.connection,
                reason=exc.reason if isinstance(exc, ConnectRefused) else exc.code,
                message=exc.message,
                request=ctx,
                user=user,
            )
            await uow.commit()
            return h.error_page(
                request, brand, exc.message, status_code=409, title=TITLE, start_over="/u/account"
            )
        await uow.commit()
    return see_other("/u/account?notice=account_connected")


def router(h: Hosted) -> APIRouter:
    r = APIRouter()
    c = h.c

    @r.get("/u/account/connect")
    async def connect(request: Request) -> Response:
        q = request.query_params
        async with c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            brand = await h.default_brand(db, first_client(sso))
            if not h.csrf.valid(request.cookies.get(CSRF_COOKIE), q.get(CSRF_FIELD)):
                return h.error_page(
                    request,
                    brand,
                    "Your session on this page expired. Please try again.",
                    status_code=403,
                    title=TITLE,
                    start_over="/u/account",
                )
            client = await c.social.connect.application(db, first_client(sso))
            try:
                begun = await c.social.connect.start(
                    db, sso=sso, client=client, connection_name=q.get("connection") or ""
                )
            except UpstreamFailed as exc:
                return h.error_page(
                    request, brand, exc.message, status_code=502, title=TITLE,
                    start_over="/u/account",
                )  # fmt: skip
            except DomainError as exc:
                return h.error_page(
                    request, brand, exc.message, title=TITLE, start_over="/u/account"
                )
            await uow.commit()
        return upstream_redirect(h, begun)

    @r.post("/u/account/disconnect")
    async def disconnect(request: Request) -> Response:
        async with c.unit_of_work() as uow:
            db = uow.session
            sso = await h.current_session(db, request)
            if sso is None:
                return see_other("/u/login")
            brand = await h.default_brand(db, first_client(sso))
            try:
                form = await h.form(request)
            except (BadForm, CsrfFailed):
                return h.error_page(
                    request,
                    brand,
                    "Your session on this page expired. Please try again.",
                    status_code=403,
                    start_over="/u/account",
                )
            client = await c.social.connect.application(db, first_client(sso))
            try:
                await c.social.connect.disconnect(
                    db,
                    sso=sso,
                    client=client,
                    provider=form.get("provider", ""),
                    provider_user_id=form.get("user_id", ""),
                    request=request_context(request),
                )
            except DomainError as exc:
                await uow.rollback()
                return h.error_page(
                    request,
                    brand,
                    exc.message,
                    title="We could not disconnect the account",
                    start_over="/u/account",
                )
            await uow.commit()
        return see_other("/u/account?notice=account_disconnected")

    return r
