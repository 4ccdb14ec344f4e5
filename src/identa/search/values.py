"""Typed readings of query values: integers, booleans, JSON numbers, and dates as time periods."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from identa.search.errors import InvalidQuery

_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Largest magnitude SQLite binds as an integer; beyond it a number is compared as a double.
_INT64 = 2**63

_DATE = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?P<month>[0-9]{2})"
    r"(?:-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:?[0-9]{2})?"
    r")?)?)?"
)


def parse_integer(text: str, field: str) -> int:
    if not _INTEGER.fullmatch(text) or abs(int(text)) >= _INT64:
        raise InvalidQuery(f"{field} expects an integer, not '{text}'")
    return int(text)


def parse_boolean(text: str, field: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise InvalidQuery(f"{field} expects true or false, not '{text}'")
    return lowered == "true"


def json_number(text: str) -> int | float | None:
    """The JSON number a metadata value spells, or None when it is not a number."""
    if not _NUMBER.fullmatch(text):
        return None
    if _INTEGER.fullmatch(text) and abs(int(text)) < _INT64:
        return int(text)
    value = float(text)
    return value if math.isfinite(value) else None


def json_boolean(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text)


@dataclass(frozen=True)
class Period:
    """A date as written stands for a span of time: `2017-12` is all of December 2017."""

    start: datetime
    end: datetime  # exclusive


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    return moment.replace(year=moment.year + index // 12, month=index % 12 + 1)


def _zone(text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_period(text: str, field: str) -> Period:
    """`YYYY`, `YYYY-MM`, `YYYY-MM-DD` or an ISO 8601 date-time (UTC unless it has an offset)."""
    match = _DATE.fullmatch(text)
    if match is None:
        raise InvalidQuery(
            f"{field} expects a date such as 2017-12, 2017-12-31 or 2017-12-31T10:00:00Z, "
            f"not '{text}'"
        )
    part = match.groupdict()
    fraction = part["fraction"] or ""
    try:
        start = datetime(
            int(part["year"]),
            int(part["month"] or 1),
            int(part["day"] or 1),
            int(part["hour"] or 0),
            int(part["minute"] or 0),
            int(part["second"] or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
            tzinfo=_zone(part["zone"]),
        )
        if part["month"] is None:
            end = start.replace(year=start.year + 1)
        elif part["day"] is None:
            end = _add_months(start, 1)
        elif part["hour"] is None:
            end = start + timedelta(days=1)
        elif part["second"] is None:
            end = start + timedelta(minutes=1)
        elif not fraction:
            end = start + timedelta(seconds=1)
        else:
            end = start + timedelta(microseconds=10 ** (6 - len(fraction)))
        return Period(start.astimezone(UTC), end.astimezone(UTC))
    except (ValueError, OverflowError) as exc:
        raise InvalidQuery(f"{field}: '{text}' is not a valid date") from exc
