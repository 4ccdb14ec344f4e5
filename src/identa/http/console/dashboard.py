"""The console's dashboard at /console/: customer cards and charts for a date range, optionally
restricted to a saved segment or a query.

The filter is a plain GET form, so the page works without JavaScript; with htmx the form swaps
only the dashboard's body (the request carries HX-Request) and pushes the new address. Bad
filters (a backwards or too wide range, an unknown segment, an invalid query) are explained on
the page with a 400, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from identa.analytics import figures, rollups, segments
from identa.analytics.models import Segment
from identa.analytics.periods import DateRange, InvalidRange, date_range
from identa.db.uow import UnitOfWork
from identa.http.console.auth import Staff, console_uow, current_staff
from identa.http.console.common import PREFIX, Console
from identa.http.console.dashboard_charts import dashboard_view

PRESETS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
DEFAULT_INACTIVE_DAYS = 30
MAX_QUERY = 2000


class BadFilter(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Filter:
    """What the form asked for, echoed back into the form as given."""

    start: str
    end: str
    preset: int | None
    segment_id: str
    query: str
    inactive_days: int

    def link_params(self, rng: DateRange | None) -> dict[str, str]:
        out = {"from": rng.start.isoformat(), "to": rng.end.isoformat()} if rng else {}
        if self.segment_id:
            out["segment"] = self.segment_id
        elif self.query:
            out["q"] = self.query
        return out


def _read_filter(request: Request) -> tuple[Filter, str | None]:
    """The filter from the query string, and a message for a part that cannot be used."""
    q = request.query_params
    problem = None
    preset = None
    raw_days = (q.get("days") or "").strip()
    if raw_days:
        if raw_days.isdigit() and int(raw_days) in PRESETS:
            preset = int(raw_days)
        else:
            problem = f"The preset must be one of {', '.join(map(str, PRESETS))} days."
    raw_inactive = (q.get("inactive") or "").strip()
    inactive = DEFAULT_INACTIVE_DAYS
    if raw_inactive:
        if raw_inactive.isdigit() and 1 <= int(raw_inactive) <= 3650:
            inactive = int(raw_inactive)
        else:
            problem = problem or "'Inactive for' must be a number of days from 1 to 3650."
    query = (q.get("q") or "").strip()
    if len(query) > MAX_QUERY:
        problem = problem or f"The query is longer than {MAX_QUERY} characters."
        query = query[:MAX_QUERY]
    found = Filter(
        start=(q.get("from") or "").strip()[:40],
        end=(q.get("to") or "").strip()[:40],
        preset=preset,
        segment_id=(q.get("segment") or "").strip()[:64],
        query=query,
        inactive_days=inactive,
    )
    return found, problem


def _range(console: Console, wanted: Filter) -> DateRange:
    today = console.c.clock.now().date()
    max_days = console.c.settings.analytics.max_range_days
    if wanted.preset is not None:
        return DateRange(today - timedelta(days=wanted.preset - 1), today)
    try:
        return date_range(
            wanted.start or None,
            wanted.end or None,
            today=today,
            max_days=max_days,
            default_days=DEFAULT_DAYS,
        )
    except InvalidRange as exc:
        message = exc.message[0].upper() + exc.message[1:]
        raise BadFilter(message.replace("'from'", "From").replace("'to'", "To")) from exc


async def _condition(
    db: AsyncSession, wanted: Filter, saved: list[Segment]
) -> tuple[ColumnElement[bool] | None, Segment | None]:
    if wanted.segment_id and wanted.query:
        raise BadFilter("Pick a saved segment or type a query, not both.")
    if wanted.segment_id:
        segment = next((s for s in saved if s.id == wanted.segment_id), None)
        if segment is None:
            raise BadFilter("That segment does not exist (any more); pick another one.")
        try:
            return segments.condition_for(db, segment.query), segment
        except segments.InvalidSegment as exc:
            raise BadFilter(exc.message) from exc
    if not wanted.query:
        return None, None
    try:
        return segments.condition_for(db, wanted.query), None
    except segments.InvalidSegment as exc:
        raise BadFilter(exc.message) from exc


def _is_partial(request: Request) -> bool:
    """An htmx swap of the body (not a history restore, which wants the whole page)."""
    h = request.headers
    return bool(h.get("hx-request")) and not h.get("hx-history-restore-request")


def router(console: Console) -> APIRouter:
    r = APIRouter()

    @r.get(PREFIX, include_in_schema=False)
    async def bare() -> Response:
        return RedirectResponse(f"{PREFIX}/", 303)

    @r.get(f"{PREFIX}/")
    async def dashboard(
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        db = uow.session
        now = console.c.clock.now()
        wanted, problem = _read_filter(request)
        saved = await segments.all_segments(db)
        context: dict[str, Any] = {
            "filter": wanted,
            "saved_segments": saved,
            "presets": PRESETS,
            "error": problem,
            "view": None,
        }
        rng: DateRange | None = None
        try:
            if problem:
                raise BadFilter(problem)
            rng = _range(console, wanted)
            condition, segment = await _condition(db, wanted, saved)
        except BadFilter as exc:
            context["error"] = exc.message
        else:
            # Count the logins committed since the last rollup, as the Management API does.
            await rollups.catch_up(db, now)
            await uow.commit()
            body = await figures.dashboard(
                db, rng, condition, now=now, inactive_days=wanted.inactive_days
            )
            context["view"] = dashboard_view(body)
            context["segment"] = segment
        context["rng"] = rng
        context["shown_from"] = rng.start.isoformat() if rng else wanted.start
        context["shown_to"] = rng.end.isoformat() if rng else wanted.end
        context["today"] = now.date().isoformat()
        context["links"] = wanted.link_params(rng)
        partial = _is_partial(request)
        # htmx swaps only 2xx answers: a partial carries its message with a 200.
        status = 400 if context["error"] and not partial else 200
        template = "console/_dashboard_body.html" if partial else "console/dashboard.html"
        response = console.render(
            request, template, status_code=status, active="dashboard", **context
        )
        response.headers["Vary"] = "HX-Request"
        return response

    return r
