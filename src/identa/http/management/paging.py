"""Auth0's offset paging (page, per_page, include_totals) and field selection (fields,
include_fields), shared by the Management API collections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from identa.http.management.errors import bad_request

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50


def flag(request: Request, name: str, default: bool) -> bool:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise bad_request(
        f"Query validation error: '{name}' must be true or false.", "invalid_query_string"
    )


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    include_totals: bool

    @property
    def offset(self) -> int:
        return self.page * self.per_page

    def body(self, key: str, items: list[dict[str, Any]], total: int) -> Any:
        if not self.include_totals:
            return items
        return {
            "start": self.offset,
            "limit": self.per_page,
            "length": len(items),
            "total": total,
            key: items,
        }


def paging(request: Request) -> Paging:
    def number(name: str, default: int, maximum: int | None) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit():
            raise bad_request(
                f"Query validation error: '{name}' must be a non-negative integer.",
                "invalid_query_string",
            )
        value = int(raw)
        if maximum is not None and value > maximum:
            raise bad_request(
                f"Query validation error: '{name}' must be at most {maximum}.",
                "invalid_query_string",
            )
        return value

    return Paging(
        page=number("page", 0, 1_000_000),
        per_page=number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
        include_totals=flag(request, "include_totals", False),
    )


def checkpoint_take(request: Request) -> int:
    """`take` of checkpoint paging (from/take): 1 to MAX_PER_PAGE, DEFAULT_PER_PAGE when absent."""
    raw = request.query_params.get("take") or str(DEFAULT_PER_PAGE)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_PAGE:
        raise bad_request(
            f"Query validation error: 'take' must be 1 to {MAX_PER_PAGE}.", "invalid_query_string"
        )
    return int(raw)


def select_fields(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    fields = request.query_params.get("fields")
    if not fields:
        return item
    names = {name.strip() for name in fields.split(",") if name.strip()}
    if flag(request, "include_fields", True):
        return {k: v for k, v in item.items() if k in names}
    return {k: v for k, v in item.items() if k not in names}
