"""One saved segment at /console/segments/{id}: its live count and trend, members by page (linked
to their customer-360 page), export of every member as CSV or JSON (streamed, audited), and for
admins deletion and hand-off to a log stream for a campaign (both audited)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from identa.analytics import segments
from identa.analytics.models import Segment
from identa.console.models import ADMIN
from identa.db.uow import UnitOfWork
from identa.events.streams.service import StreamNotFound
from identa.http.console.auth import Staff, audit, console_uow, current_staff, require_role
from identa.http.console.common import PREFIX, Console
from identa.http.console.segment_charts import trend_chart
from identa.http.forms import BadForm

MEMBERS_PER_PAGE = 25
MAX_PAGE = 100_000
MAX_CAMPAIGN = 255
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _page(raw: str | None) -> int:
    if raw and raw.isdigit() and len(raw) <= 6:
        return min(MAX_PAGE, max(1, int(raw)))
    return 1


def router(console: Console) -> APIRouter:
    r = APIRouter()

    async def found(request: Request, db: AsyncSession, segment_id: str) -> Segment | Response:
        try:
            return await segments.get(db, segment_id)
        except segments.SegmentNotFound:
            return console.message_page(
                request,
                title="Segment not found",
                message="This segment does not exist (it may have been deleted).",
                status_code=404,
            )

    async def detail_page(
        request: Request,
        db: AsyncSession,
        segment: Segment,
        *,
        notice: str | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        page = _page(request.query_params.get("page"))
        context: dict[str, Any] = {"members": [], "total": 0, "pages": 1, "problem": None}
        try:
            points = await segments.trend(db, segment, console.c.clock.now())
            members = await segments.members(db, segment, page=page - 1, per_page=MEMBERS_PER_PAGE)
        except segments.InvalidSegment as exc:
            context["problem"] = exc.message
            points = []
        else:
            context.update(
                members=members.users,
                total=members.total,
                pages=max(1, math.ceil(members.total / MEMBERS_PER_PAGE)),
            )
        if request.query_params.get("created"):
            notice = notice or "Segment saved."
        return console.render(
            request,
            "console/segment.html",
            status_code=status_code,
            active="segments",
            segment=segment,
            count=points[-1]["count"] if points else None,
            trend=trend_chart(points) if points else None,
            page=page,
            streams=await console.c.streams.all(db),
            notice=notice,
            error=error,
            dashboard_link=f"{PREFIX}/?segment={quote(segment.id)}",
            **context,
        )

    @r.get(f"{PREFIX}/segments/{{segment_id}}")
    async def show(
        segment_id: str,
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        segment = await found(request, uow.session, segment_id)
        if isinstance(segment, Response):
            return segment
        return await detail_page(request, uow.session, segment)

    @r.get(f"{PREFIX}/segments/{{segment_id}}/export")
    async def export(
        segment_id: str,
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        db = uow.session
        fmt = request.query_params.get("format") or "csv"
        segment = await found(request, db, segment_id)
        if isinstance(segment, Response):
            return segment
        if fmt not in EXPORT_TYPES:
            return await detail_page(
                request, db, segment, error="Export as csv or json.", status_code=400
            )
        try:
            segments.condition_for(db, segment.query)
        except segments.InvalidSegment as exc:
            return await detail_page(request, db, segment, error=exc.message, status_code=400)
        # Handing customer data out is recorded before the first byte leaves.
        await audit(
            db,
            request,
            staff,
            "segment.export",
            target_type="segment",
            target_id=segment.id,
            details={"name": segment.name, "format": fmt},
        )
        await uow.commit()

        async def body() -> AsyncIterator[bytes]:
            # Its own unit of work, open while the response streams.
            async with console.c.unit_of_work() as streaming:
                async for chunk in segments.export(streaming.session, segment, fmt):
                    yield chunk

        return StreamingResponse(
            body(),
            media_type=EXPORT_TYPES[fmt],
            headers={
                "Content-Disposition": f'attachment; filename="segment-{segment.id}.{fmt}"',
                "Cache-Control": "no-store",
            },
        )

    @r.post(f"{PREFIX}/segments/{{segment_id}}/delete")
    async def delete(
        segment_id: str,
        request: Request,
        staff: Staff = Depends(require_role(ADMIN)),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        db = uow.session
        segment = await found(request, db, segment_id)
        if isinstance(segment, Response):
            return segment
        name, query = segment.name, segment.query
        await segments.remove(db, segment.id)
        await audit(
            db,
            request,
            staff,
            "segment.delete",
            target_type="segment",
            target_id=segment_id,
            details={"name": name, "query": query},
        )
        await uow.commit()
        return RedirectResponse(f"{PREFIX}/segments?deleted={quote(name)}", 303)

    @r.post(f"{PREFIX}/segments/{{segment_id}}/handoff")
    async def handoff(
        segment_id: str,
        request: Request,
        staff: Staff = Depends(require_role(ADMIN)),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        db = uow.session
        segment = await found(request, db, segment_id)
        if isinstance(segment, Response):
            return segment
        try:
            form = await console.form(request)
        except BadForm:
            form = {}
        stream_id = form.get("log_stream_id", "").strip()[:64]
        campaign = form.get("campaign", "").strip()
        if not stream_id:
            return await detail_page(
                request, db, segment, error="Choose a log stream.", status_code=400
            )
        if len(campaign) > MAX_CAMPAIGN:
            return await detail_page(
                request,
                db,
                segment,
                status_code=400,
                error=f"The campaign name is longer than {MAX_CAMPAIGN} characters.",
            )
        try:
            stream = await console.c.streams.get(db, stream_id)
            sent = await segments.handoff(
                db,
                segment,
                console.c.clock.now(),
                log_stream_id=stream.id,
                campaign=campaign or None,
            )
        except StreamNotFound:
            return await detail_page(
                request, db, segment, error="That log stream does not exist.", status_code=400
            )
        except segments.InvalidSegment as exc:
            await db.rollback()
            return await detail_page(request, db, segment, error=exc.message, status_code=400)
        await audit(
            db,
            request,
            staff,
            "segment.handoff",
            target_type="segment",
            target_id=segment.id,
            details={
                "name": segment.name,
                "log_stream_id": stream.id,
                "campaign": campaign or None,
                "members": sent,
            },
        )
        await uow.commit()
        return await detail_page(
            request,
            db,
            segment,
            notice=f"Handed {sent:,} member{'s' if sent != 1 else ''} to the log stream "
            f"“{stream.name}”" + (f" for the campaign “{campaign}”." if campaign else "."),
        )

    return r
