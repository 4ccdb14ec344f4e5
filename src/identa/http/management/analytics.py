"""/api/v2/analytics/*: Identa's customer analytics (an extension of the Management API).

Every figure takes `from` and `to` (YYYY-MM-DD or YYYYMMDD, inclusive; default the last 30
days; at most `analytics.max_range_days`) and `q`, a user search query restricting it to a
segment (or `segment_id`, a saved segment). Scope: read:analytics or read:stats.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.analytics import figures, rollups, segments
from identa.analytics.periods import DateRange, InvalidRange, date_range
from identa.container import Container
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import ApiError, bad_request, not_found

SCOPES = ("read:analytics", "read:stats")


async def authorize(c: Container, request: Request) -> None:
    """read:analytics, or Auth0's read:stats."""
    caller = await authenticate(c, request)
    if not caller.scopes & set(SCOPES):
        raise ApiError(
            403, f"Insufficient scope, expected any of: {', '.join(SCOPES)}", "insufficient_scope"
        )


def requested_range(c: Container, request: Request) -> DateRange:
    q = request.query_params
    try:
        return date_range(
            q.get("from"),
            q.get("to"),
            today=c.clock.now().date(),
            max_days=c.settings.analytics.max_range_days,
        )
    except InvalidRange as exc:
        raise bad_request(f"Query validation error: {exc.message}", "invalid_query_string") from exc


async def requested_segment(db: AsyncSession, request: Request) -> ColumnElement[bool] | None:
    q = request.query_params
    text = q.get("q")
    if q.get("segment_id"):
        if text:
            raise bad_request(
                "Query validation error: give either 'q' or 'segment_id', not both.",
                "invalid_query_string",
            )
        try:
            text = (await segments.get(db, q["segment_id"])).query
        except segments.SegmentNotFound as exc:
            raise not_found(exc.message, "inexistent_segment") from exc
    if not text:
        return None
    try:
        return segments.condition_for(db, text)
    except segments.InvalidSegment as exc:
        raise bad_request(exc.message, "invalid_query_string") from exc


def _days(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 3650:
        raise bad_request(
            f"Query validation error: '{name}' must be a number of days from 1 to 3650.",
            "invalid_query_string",
        )
    return int(raw)


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2/analytics", tags=["analytics"])

    async def figure(request: Request, compute: Any) -> Response:
        await authorize(c, request)
        rng = requested_range(c, request)
        async with c.unit_of_work() as uow:
            db = uow.session
            condition = await requested_segment(db, request)
            await rollups.catch_up(db, c.clock.now())
            await uow.commit()
        async with c.unit_of_work() as uow:
            body = await compute(uow.session, rng, condition)
        return JSONResponse(body)

    @api
    async def dashboard(request: Request) -> Response:
        days = _days(request, "inactive_days", 30)

        async def compute(db: AsyncSession, rng: DateRange, cond: Any) -> Any:
            return await figures.dashboard(db, rng, cond, now=c.clock.now(), inactive_days=days)

        return await figure(request, compute)

    @api
    async def daily(request: Request) -> Response:
        return await figure(request, figures.daily)

    @api
    async def active(request: Request) -> Response:
        return await figure(request, figures.active)

    @api
    async def retention(request: Request) -> Response:
        async def compute(db: AsyncSession, rng: DateRange, cond: Any) -> Any:
            return await figures.retention(db, rng, cond, c.clock.now().date())

        return await figure(request, compute)

    @api
    async def funnel(request: Request) -> Response:
        return await figure(request, figures.funnel)

    @api
    async def breakdown(request: Request) -> Response:
        dimension = request.path_params["dimension"]
        if dimension not in rollups.DIMENSIONS:
            raise not_found(
                f"Unknown breakdown '{dimension[:40]}': use one of "
                f"{', '.join(rollups.DIMENSIONS)}.",
                "inexistent_breakdown",
            )

        async def compute(db: AsyncSession, rng: DateRange, cond: Any) -> Any:
            return await figures.breakdown(db, rng, cond, dimension)

        return await figure(request, compute)

    @api
    async def customers(request: Request) -> Response:
        days = _days(request, "days", 30)

        async def compute(db: AsyncSession, _rng: DateRange, cond: Any) -> Any:
            return await figures.customers(db, cond, c.clock.now(), days)

        return await figure(request, compute)

    routes = (
        ("/dashboard", dashboard, "Every dashboard figure for a date range (and a segment)"),
        ("/daily", daily, "Sign-ups, logins and active customers per day"),
        ("/active-users", active, "Daily, weekly and monthly active customers"),
        ("/retention", retention, "Weekly retention cohorts (by sign-up week)"),
        ("/funnel", funnel, "Sign-up → 2nd login → 5th login funnel, and who never returned"),
        ("/breakdowns/{dimension}", breakdown, "Logins and sign-ups by one dimension"),
        ("/customers", customers, "Customers: total, active in 30 days, inactive for N days"),
    )
    for path, handler, summary in routes:
        r.add_api_route(path, handler, methods=["GET"], summary=summary)
    return r
