"""/api/v2/logs (search with offset paging, or checkpoint paging), /api/v2/logs/{id}, and
/api/v2/stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from identa.container import Container
from identa.core.clock import iso
from identa.events.catalog import LogType
from identa.events.models import LogEvent
from identa.events.service import log_event_to_dict
from identa.http.management.auth import authenticate
from identa.http.management.common import api
from identa.http.management.errors import bad_request, not_found
from identa.http.management.paging import checkpoint_take, paging, select_fields
from identa.identity.models import User
from identa.search import InvalidQuery
from identa.search.logs import compile_log_query

SUCCESSFUL_LOGINS = (LogType.SUCCESS_LOGIN.value,)
SIGNUPS = (LogType.SUCCESS_SIGNUP.value,)


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise bad_request(
            f"Query validation error: '{name}' must be a date as YYYYMMDD.", "invalid_query_string"
        ) from exc


def _search_text(request: Request) -> str | None:
    """The log search query: `q` (Auth0's docs) or `search` (the OpenAPI name auth0-python v6
    sends). Both mean the same language; giving two different queries is an error."""
    docs_name, oas_name = request.query_params.get("q"), request.query_params.get("search")
    if docs_name and oas_name and docs_name != oas_name:
        raise bad_request(
            "Query validation error: give the search query as either 'q' or 'search', not both.",
            "invalid_query_string",
        )
    return docs_name or oas_name or None


def router(c: Container) -> APIRouter:
    r = APIRouter(prefix="/api/v2")

    @api
    async def list_logs(request: Request) -> Response:
        await authenticate(c, request, "read:logs")
        q = request.query_params
        async with c.unit_of_work() as uow:
            db = uow.session
            if q.get("from") is not None or q.get("take") is not None:
                # Checkpoint paging: ordered by log_id, everything after `from`, unbounded.
                take = checkpoint_take(request)
                query = select(LogEvent).order_by(LogEvent.log_id).limit(take)
                if q.get("from"):
                    query = query.where(LogEvent.log_id > q["from"][:64])
                rows = (await db.scalars(query)).all()
                items = [select_fields(request, log_event_to_dict(row)) for row in rows]
                headers = {}
                if rows:
                    base = f"{c.settings.public_url}/api/v2/logs"
                    nxt = f"{base}?from={rows[-1].log_id}&take={take}"
                    headers["Link"] = f'<{nxt}>; rel="next"'
                return JSONResponse(items, headers=headers)
            page = paging(request)
            sort = q.get("sort") or "date:-1"
            if sort not in ("date:1", "date:-1"):
                raise bad_request(
                    "Query validation error: sort must be date:1 or date:-1.",
                    "invalid_query_string",
                )
            order = LogEvent.log_id.asc() if sort == "date:1" else LogEvent.log_id.desc()
            text = _search_text(request)
            try:
                condition = compile_log_query(text, db.get_bind().dialect.name) if text else None
            except InvalidQuery as exc:
                raise bad_request(exc.message, "invalid_query_string") from exc
            query = select(LogEvent)
            count = select(func.count()).select_from(LogEvent)
            if condition is not None:
                query, count = query.where(condition), count.where(condition)
            total = int(await db.scalar(count) or 0)
            rows = (
                await db.scalars(query.order_by(order).offset(page.offset).limit(page.per_page))
            ).all()
            items = [select_fields(request, log_event_to_dict(row)) for row in rows]
        return JSONResponse(page.body("logs", items, total))

    @api
    async def get_log(request: Request) -> Response:
        await authenticate(c, request, "read:logs")
        async with c.unit_of_work() as uow:
            row = await uow.session.get(LogEvent, request.path_params["id"][:64])
            if row is None:
                raise not_found("Log not found.", "inexistent_log")
            return JSONResponse(log_event_to_dict(row))

    @api
    async def stats_daily(request: Request) -> Response:
        await authenticate(c, request, "read:stats")
        today = c.clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        start = (
            _day(request.query_params["from"], "from")
            if request.query_params.get("from")
            else today - timedelta(days=29)
        )
        end = _day(request.query_params["to"], "to") if request.query_params.get("to") else today
        if end < start or (end - start).days > 3660:
            raise bad_request(
                "Query validation error: 'to' must follow 'from' (at most 10 years).",
                "invalid_query_string",
            )
        async with c.unit_of_work() as uow:
            rows = (
                await uow.session.execute(
                    select(LogEvent.type, LogEvent.date).where(
                        LogEvent.type.in_(SUCCESSFUL_LOGINS + SIGNUPS),
                        LogEvent.date >= start,
                        LogEvent.date < end + timedelta(days=1),
                    )
                )
            ).all()
        days: dict[str, dict[str, int]] = {}
        for type_, date in rows:
            bucket = days.setdefault(date.strftime("%Y-%m-%d"), {"logins": 0, "signups": 0})
            bucket["logins" if type_ in SUCCESSFUL_LOGINS else "signups"] += 1
        out = []
        day = start
        while day <= end:
            key = day.strftime("%Y-%m-%d")
            counts = days.get(key, {"logins": 0, "signups": 0})
            out.append(
                {
                    "date": iso(day),
                    "logins": counts["logins"],
                    "signups": counts["signups"],
                    "leaked_passwords": 0,
                    "updated_at": iso(c.clock.now()),
                    "created_at": iso(day),
                }
            )
            day += timedelta(days=1)
        return JSONResponse(out)

    @api
    async def stats_active_users(request: Request) -> Response:
        await authenticate(c, request, "read:stats")
        since = c.clock.now() - timedelta(days=30)
        async with c.unit_of_work() as uow:
            count = await uow.session.scalar(
                select(func.count()).select_from(User).where(User.last_login >= since)
            )
        return JSONResponse(int(count or 0))

    r.add_api_route("/logs", list_logs, methods=["GET"])
    r.add_api_route("/logs/{id}", get_log, methods=["GET"])
    r.add_api_route("/stats/daily", stats_daily, methods=["GET"])
    r.add_api_route("/stats/active-users", stats_active_users, methods=["GET"])
    return r
