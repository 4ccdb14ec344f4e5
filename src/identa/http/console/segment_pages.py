"""The segment builder at /console/segments: saved segments with their live count and trend, a
query box that counts its customers as one types (htmx, debounced; a plain GET without
JavaScript), InnovaShoes example queries, and saving (admins; the role guard already refuses
analysts and support any change here).

The live count's fragment carries the counted query as a hidden field of the save form
(`form="segment-save"`), so what is saved is what was counted, with or without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from identa.analytics import segments
from identa.analytics.models import Segment
from identa.console.models import ADMIN
from identa.db.uow import UnitOfWork
from identa.http.console.auth import Staff, audit, console_uow, current_staff, require_role
from identa.http.console.common import PREFIX, Console
from identa.http.console.segment_charts import spark_chart
from identa.http.forms import BadForm

MAX_QUERY = 2000
MAX_NAME = 255
MAX_DESCRIPTION = 2000


@dataclass(frozen=True)
class Example:
    label: str
    query: str


@dataclass
class Listed:
    segment: Segment
    count: int | None
    spark: dict[str, Any] | None
    problem: str | None


@dataclass
class Counted:
    query: str
    count: int | None
    error: str | None


def examples(today: date) -> list[Example]:
    """The InnovaShoes campaigns (README, "Customer insight"); ages 20 to 40 as of today."""
    oldest = _years_before(today, 41) + timedelta(days=1)
    youngest = _years_before(today, 20)
    born = f"[{oldest.isoformat()} TO {youngest.isoformat()}]"
    return [
        Example(
            "Men 20–40 into fitness",
            "app_metadata.demographics.gender:male AND app_metadata.demographics.interests:fitness"
            f" AND app_metadata.demographics.birthdate:{born}",
        ),
        Example("Registered, never returned", "logins_count:[* TO 1]"),
        Example(
            "Unhappy on Twitter",
            "identities.connection:twitter AND app_metadata.sentiment.score:[* TO -0.05]",
        ),
        Example(
            "Women in Madrid",
            "app_metadata.demographics.gender:female AND app_metadata.location.city:Madrid",
        ),
    ]


def _years_before(day: date, years: int) -> date:
    try:
        moved = day.replace(year=day.year - years)
    except ValueError:  # 29 February
        moved = day.replace(year=day.year - years, day=28)
    return moved


async def count_query(db: AsyncSession, query: str) -> Counted:
    query = query.strip()
    if not query:
        return Counted(query, None, None)
    if len(query) > MAX_QUERY:
        return Counted(query[:MAX_QUERY], None, f"The query is longer than {MAX_QUERY} characters.")
    try:
        return Counted(query, await segments.count(db, query), None)
    except segments.InvalidSegment as exc:
        return Counted(query, None, exc.message)


async def listed(console: Console, db: AsyncSession) -> list[Listed]:
    now = console.c.clock.now()
    out = []
    for segment in await segments.all_segments(db):
        try:
            points = await segments.trend(db, segment, now)
        except segments.InvalidSegment as exc:
            out.append(Listed(segment, None, None, exc.message))
            continue
        out.append(Listed(segment, points[-1]["count"], spark_chart(points), None))
    return out


def router(console: Console) -> APIRouter:
    r = APIRouter()

    async def builder_page(
        request: Request,
        db: AsyncSession,
        *,
        query: str,
        name: str = "",
        description: str = "",
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        deleted = request.query_params.get("deleted")
        return console.render(
            request,
            "console/segments.html",
            status_code=status_code,
            active="segments",
            segments=await listed(console, db),
            counted=await count_query(db, query),
            examples=examples(console.c.clock.now().date()),
            name=name,
            description=description,
            error=error,
            notice=f"Segment “{deleted[:MAX_NAME]}” deleted." if deleted else None,
        )

    @r.get(f"{PREFIX}/segments")
    async def list_and_build(
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        return await builder_page(request, uow.session, query=request.query_params.get("q", ""))

    @r.get(f"{PREFIX}/segments/count")
    async def live_count(
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        counted = await count_query(uow.session, request.query_params.get("q", ""))
        return console.render(request, "console/_segment_count.html", counted=counted)

    @r.post(f"{PREFIX}/segments")
    async def save(
        request: Request,
        staff: Staff = Depends(require_role(ADMIN)),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        db = uow.session
        try:
            form = await console.form(request)
        except BadForm:
            form = {}
        name = form.get("name", "").strip()
        query = form.get("query", "").strip()
        description = form.get("description", "").strip()
        problem = None
        if len(name) > MAX_NAME:
            problem = f"The name is longer than {MAX_NAME} characters."
        elif len(query) > MAX_QUERY:
            problem = f"The query is longer than {MAX_QUERY} characters."
        elif len(description) > MAX_DESCRIPTION:
            problem = f"The description is longer than {MAX_DESCRIPTION} characters."
        elif not name:
            problem = "Give the segment a name."
        if problem is None:
            try:
                segment, count = await segments.create(
                    db,
                    console.c.clock.now(),
                    name=name,
                    query=query,
                    description=description or None,
                )
            except segments.InvalidSegment as exc:
                problem = exc.message
        if problem is not None:
            await db.rollback()
            return await builder_page(
                request,
                db,
                query=query,
                name=name,
                description=description,
                error=problem,
                status_code=400,
            )
        await audit(
            db,
            request,
            staff,
            "segment.create",
            target_type="segment",
            target_id=segment.id,
            details={"name": name, "query": query, "count": count},
        )
        await uow.commit()
        return RedirectResponse(f"{PREFIX}/segments/{segment.id}?created=1", 303)

    return r
