"""Days, ISO weeks (by their Monday) and months (by their first day), in UTC; date ranges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

DEFAULT_DAYS = 30


class InvalidRange(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def each_week(self) -> list[date]:
        out, week = [], week_of(self.start)
        while week <= self.end:
            out.append(week)
            week += timedelta(days=7)
        return out

    def each_month(self) -> list[date]:
        out, month = [], month_of(self.start)
        while month <= self.end:
            out.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return out


def _parse(value: str, name: str) -> date:
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidRange(f"'{name}' must be a date as YYYY-MM-DD or YYYYMMDD, not '{value[:40]}'.")


def date_range(
    start: str | None,
    end: str | None,
    *,
    today: date,
    max_days: int,
    default_days: int = DEFAULT_DAYS,
) -> DateRange:
    """The inclusive range from the query's `from` and `to`; refuses a backwards or too-wide one."""
    last = _parse(end, "to") if end else today
    first = _parse(start, "from") if start else last - timedelta(days=default_days - 1)
    if last < first:
        raise InvalidRange(
            f"'to' ({last.isoformat()}) is before 'from' ({first.isoformat()}): "
            "give the earlier date as 'from'."
        )
    if (last - first).days + 1 > max_days:
        raise InvalidRange(
            f"the range {first.isoformat()} to {last.isoformat()} spans "
            f"{(last - first).days + 1} days; at most {max_days} are allowed."
        )
    return DateRange(first, last)
