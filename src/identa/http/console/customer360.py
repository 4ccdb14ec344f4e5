"""The customer-360 page (/console/customers/{user_id}) and its actions.

Actions (support and admin; the role guard refuses analysts with a 403) post a CSRF-protected
form, run in the page's unit of work with their audit entry and log event, then redirect back
with a message (`?done=`). An action on a customer deleted meanwhile changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from identa.analytics import segments as saved_segments
from identa.analytics.models import Segment
from identa.console.customer_360 import customer_360
from identa.console.customer_actions import ActionRefused, CustomerActions, CustomerGone, Done
from identa.console.models import ADMIN, SUPPORT
from identa.core.context import RequestContext
from identa.db.uow import UnitOfWork
from identa.http.console.auth import Staff, audit, console_uow, current_staff, require_role
from identa.http.console.common import PREFIX, Console
from identa.http.console.customers import customer_url
from identa.http.context import request_context
from identa.http.forms import BadForm
from identa.identity.models import User

FLASHES = {
    "blocked": "The customer was blocked: they can no longer log in.",
    "unblocked": "The customer was unblocked: they can log in again.",
    "unchanged": "Nothing to change: the customer was already in that state.",
    "reset": "A password-reset e-mail is on its way to the customer.",
    "verification": "A verification e-mail is on its way to the customer.",
    "unlinked": "The identity was unlinked: it is now a customer of its own.",
}
ROUTE = f"{PREFIX}/customers/{{user_id:path}}"
# An action given the request's context: (db, customer, posted form, request context) -> Done.
Run = Callable[[AsyncSession, User, dict[str, str], RequestContext], Awaitable[Done]]


async def segments_of(db: AsyncSession, user_id: str) -> list[Segment]:
    """The saved segments whose query this customer matches now."""
    found: list[Segment] = []
    for segment in await saved_segments.all_segments(db):
        try:
            condition = saved_segments.condition_for(db, segment.query)
        except saved_segments.InvalidSegment:
            continue  # a query the search no longer accepts matches nobody
        match = select(User.user_id).where(User.user_id == user_id, condition)
        if await db.scalar(match) is not None:
            found.append(segment)
    return found


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) <= 6 else 1


def router(console: Console) -> APIRouter:
    r = APIRouter()
    c = console.c
    actions = CustomerActions(
        users=c.users,
        linker=c.linker,
        connections=c.connections,
        flows=c.flows,
        account=c.account,
        events=c.events,
        jobs=c.jobs,
    )

    def gone(request: Request, message: str) -> Response:
        return console.render(
            request,
            "console/customer_gone.html",
            status_code=404,
            active="customers",
            message=message,
        )

    async def act(
        request: Request,
        staff: Staff,
        uow: UnitOfWork,
        name: str,
        run: Run,
    ) -> Response:
        user_id = request.path_params["user_id"]
        db = uow.session
        try:
            form = await console.form(request)
        except BadForm:
            form = {}
        try:
            user = await actions.load(db, user_id)
            done = await run(db, user, form, request_context(request))
        except CustomerGone as exc:
            await uow.rollback()
            await audit(
                db,
                request,
                staff,
                name,
                target_type="customer",
                target_id=user_id,
                details={"reason": "customer not found"},
                outcome="failure",
            )
            await uow.commit()
            return gone(request, exc.message)
        except ActionRefused as exc:
            await uow.rollback()
            await audit(
                db,
                request,
                staff,
                name,
                target_type="customer",
                target_id=user_id,
                details={"reason": exc.message},
                outcome="failure",
            )
            await uow.commit()
            return console.render(
                request,
                "console/customer_refused.html",
                status_code=409,
                active="customers",
                message=exc.message,
                back=customer_url(user_id),
            )
        await audit(
            db,
            request,
            staff,
            name,
            target_type="customer",
            target_id=user_id,
            details=done.details,
        )
        await uow.commit()
        if name == "customer.delete":
            return RedirectResponse(f"{PREFIX}/customers?done=deleted", 303)
        return RedirectResponse(f"{customer_url(user_id)}?done={done.key}", 303)

    def register(suffix: str, name: str, run: Run) -> None:
        async def endpoint(
            request: Request,
            staff: Staff = Depends(require_role(ADMIN, SUPPORT)),
            uow: UnitOfWork = Depends(console_uow),
        ) -> Response:
            return await act(request, staff, uow, name, run)

        r.add_api_route(f"{ROUTE}/{suffix}", endpoint, methods=["POST"], include_in_schema=False)

    register(
        "block",
        "customer.block",
        lambda db, user, form, ctx: actions.set_blocked(db, user, True, ctx),
    )
    register(
        "unblock",
        "customer.unblock",
        lambda db, user, form, ctx: actions.set_blocked(db, user, False, ctx),
    )
    register("delete", "customer.delete", lambda db, user, form, ctx: actions.delete(db, user, ctx))
    register(
        "password-reset",
        "customer.password_reset",
        lambda db, user, form, ctx: actions.send_password_reset(db, user, ctx),
    )
    register(
        "verification-email",
        "customer.verification_email",
        lambda db, user, form, ctx: actions.send_verification(db, user, ctx),
    )
    register(
        "unlink",
        "customer.unlink",
        lambda db, user, form, ctx: actions.unlink(
            db, user, form.get("provider", ""), form.get("identity_user_id", ""), ctx
        ),
    )

    @r.get(f"{ROUTE}/delete")
    async def confirm_delete(
        request: Request,
        staff: Staff = Depends(require_role(ADMIN, SUPPORT)),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        user_id = request.path_params["user_id"]
        try:
            user = await actions.load(uow.session, user_id)
        except CustomerGone as exc:
            return gone(request, exc.message)
        return console.render(
            request,
            "console/customer_delete.html",
            active="customers",
            user=user,
            customer_url=customer_url(user.user_id),
        )

    @r.get(ROUTE)
    async def customer_page(
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        user_id = request.path_params["user_id"]
        db = uow.session
        try:
            user = await actions.load(db, user_id)
        except CustomerGone as exc:
            return gone(request, exc.message)
        view = await customer_360(
            db,
            user,
            enrichment=c.enrichment,
            profiling=c.profiling,
            timeline_page=_page_number(request.query_params.get("log_page")),
        )
        return console.render(
            request,
            "console/customer360.html",
            active="customers",
            view=view,
            user=user,
            segments=await segments_of(db, user.user_id),
            today=c.clock.now().date(),
            url=customer_url(user.user_id),
            flash=FLASHES.get(request.query_params.get("done") or ""),
        )

    return r
