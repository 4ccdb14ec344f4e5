"""The customer explorer at /console/customers: search, sort, columns and checkpoint paging,
all kept in the query string. htmx swaps only the results; without JavaScript the same form
reloads the page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from identa.console.customers import (
    COLUMNS,
    PAGE_SIZES,
    SORTS,
    ExplorerPage,
    ExplorerQuery,
    InvalidCheckpoint,
    explore,
    explorer_query,
)
from identa.db.uow import UnitOfWork
from identa.http.console.auth import Staff, console_uow, current_staff
from identa.http.console.common import PREFIX, Console
from identa.search import InvalidQuery

RESULTS_ID = "results"
FLASHES = {"deleted": "The customer was deleted."}


def explorer_url(query: ExplorerQuery, *, after: str | None = None, position: int = 0) -> str:
    """The explorer's address for `query`, at the page after checkpoint `after`."""
    params: list[tuple[str, str]] = []
    if query.q:
        params.append(("q", query.q))
    if query.text:
        params.append(("text", query.text))
    params.append(("sort", query.sort))
    params.append(("dir", "desc" if query.descending else "asc"))
    params.extend(("col", key) for key in query.columns)
    params.append(("take", str(query.take)))
    if after:
        params.append(("from", after))
        params.append(("at", str(position)))
    return f"{PREFIX}/customers?{urlencode(params)}"


def customer_url(user_id: str) -> str:
    return f"{PREFIX}/customers/{quote(user_id, safe='')}"


def _query_from(request: Request) -> ExplorerQuery:
    params = request.query_params
    return explorer_query(
        q=params.get("q"),
        text=params.get("text"),
        sort=params.get("sort"),
        direction=params.get("dir"),
        columns=params.getlist("col"),
        take=params.get("take"),
        after=params.get("from"),
        position=params.get("at"),
    )


def router(console: Console) -> APIRouter:
    r = APIRouter()

    @r.get(f"{PREFIX}/customers")
    async def customers(
        request: Request,
        staff: Staff = Depends(current_staff),
        uow: UnitOfWork = Depends(console_uow),
    ) -> Response:
        query = _query_from(request)
        found: ExplorerPage | None = None
        error: str | None = None
        try:
            found = await explore(uow.session, query, console.c.settings.user_search_count_limit)
        except InvalidQuery as exc:
            error = f"The search is not valid: {exc.message}"
        except InvalidCheckpoint as exc:
            error = exc.message
        context: dict[str, Any] = {
            "query": query,
            "found": found,
            "error": error,
            "columns": COLUMNS,
            "sorts": SORTS,
            "page_sizes": PAGE_SIZES,
            "today": console.c.clock.now().date(),
            "customer_url": customer_url,
            "first_url": explorer_url(query),
            "next_url": (
                explorer_url(query, after=found.next_checkpoint, position=found.last_position)
                if found and found.next_checkpoint
                else None
            ),
            "flash": FLASHES.get(request.query_params.get("done") or ""),
            "results_id": RESULTS_ID,
        }
        if request.headers.get("hx-request") and request.headers.get("hx-target") == RESULTS_ID:
            # htmx swaps only what is 2xx: a bad query is shown in the results, not refused.
            return console.render(request, "console/customers_results.html", **context)
        return console.render(
            request,
            "console/customers.html",
            status_code=400 if error else 200,
            active="customers",
            **context,
        )

    return r
