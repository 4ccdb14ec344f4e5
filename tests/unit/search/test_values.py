"""Query values: dates as periods, integers, booleans and the JSON numbers metadata compares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identa.search import InvalidQuery
from identa.search.values import (
    json_boolean,
    json_number,
    parse_boolean,
    parse_integer,
    parse_period,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2017", utc(2017, 1, 1), utc(2018, 1, 1)),
        ("2017-12", utc(2017, 12, 1), utc(2018, 1, 1)),
        ("2017-02", utc(2017, 2, 1), utc(2017, 3, 1)),
        ("2017-12-31", utc(2017, 12, 31), utc(2018, 1, 1)),
        ("2017-12-31T10:20", utc(2017, 12, 31, 10, 20), utc(2017, 12, 31, 10, 21)),
        ("2017-12-31T10:20:30Z", utc(2017, 12, 31, 10, 20, 30), utc(2017, 12, 31, 10, 20, 31)),
        (
            "2017-12-31T10:20:30.5",
            utc(2017, 12, 31, 10, 20, 30, 500000),
            utc(2017, 12, 31, 10, 20, 30, 600000),
        ),
        (
            "2017-12-31T10:20:30.123456Z",
            utc(2017, 12, 31, 10, 20, 30, 123456),
            utc(2017, 12, 31, 10, 20, 30, 123457),
        ),
    ],
)
def test_a_date_names_the_period_it_spells(text: str, start: datetime, end: datetime) -> None:
    period = parse_period(text, "created_at")
    assert (period.start, period.end) == (start, end)


def test_an_offset_is_converted_to_utc() -> None:
    period = parse_period("2018-01-01T01:00:00+01:00", "created_at")
    assert period.start == utc(2018, 1, 1)
    assert period.end - period.start == timedelta(seconds=1)
    assert parse_period("2018-01-01T00:00:00-0230", "x").start == utc(2018, 1, 1, 2, 30)


IMPOSSIBLE = ["yesterday", "2017-13", "2017-02-30", "17-12-01", "2017-12-01T25:00", "0000-01",
              "9999-12-31T23:59:59-01:00", "2017-12-01T10:00:00+24:00"]  # fmt: skip


@pytest.mark.parametrize("bad", IMPOSSIBLE)
def test_impossible_dates_are_refused(bad: str) -> None:
    with pytest.raises(InvalidQuery, match="last_login"):
        parse_period(bad, "last_login")


def test_integers() -> None:
    assert parse_integer("42", "logins_count") == 42
    assert parse_integer("-3", "logins_count") == -3
    for bad in ("4.2", "ten", "", str(2**63)):
        with pytest.raises(InvalidQuery, match="logins_count expects an integer"):
            parse_integer(bad, "logins_count")


def test_booleans() -> None:
    assert parse_boolean("true", "blocked") is True
    assert parse_boolean("FALSE", "blocked") is False
    with pytest.raises(InvalidQuery, match="blocked expects true or false"):
        parse_boolean("yes", "blocked")


def test_json_numbers() -> None:
    assert json_number("30") == 30 and isinstance(json_number("30"), int)
    assert json_number("-0.25") == -0.25
    assert json_number("1e3") == 1000.0
    assert json_number(str(2**70)) == float(2**70)
    for not_a_number in ("30a", "0x10", "NaN", "1e999", "", ".5"):
        assert json_number(not_a_number) is None


def test_json_booleans_are_lowercase_only() -> None:
    assert json_boolean("true") is True
    assert json_boolean("false") is False
    assert json_boolean("True") is None
