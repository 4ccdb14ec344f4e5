"""Import-record validation, in-file duplicates, and export rendering (pure functions)."""

from __future__ import annotations

import pytest

from identa.identity.validation import normalize_email
from identa.jobs.errors import InvalidExportRequest
from identa.jobs.exporter import check_fields, csv_cell, lookup
from identa.jobs.importer import check_records
from identa.jobs.records import EmailNormalizer, RecordValidator, ValidRecord


def validator(**kwargs: object) -> RecordValidator:
    options = {"requires_username": False, "username_min": 1, "username_max": 15, **kwargs}
    return RecordValidator(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "email",
    ["Ada@Example.COM", " bob.smith+tag@mail.example.org ", "o'neil@example.co.uk",
     "ünïcode@example.com", "a@bücher.example", "x@localhost", "a..b@example.com",
     "a@example.test", "@example.com", "a@", "a@-bad-.com"],
)  # fmt: skip
def test_fast_email_path_agrees_with_the_full_validator(email: str) -> None:
    fast = EmailNormalizer()
    try:
        expected: str | None = normalize_email(email)
    except Exception:
        expected = None
    try:
        got: str | None = fast(email)
    except Exception:
        got = None
    assert got == expected


def test_valid_record_keeps_upsertable_fields_it_sets() -> None:
    result = validator().validate(
        {"email": "A@example.com", "name": "A", "user_metadata": {"x": 1}, "blocked": True,
         "user_id": "auth0|abc", "email_verified": None}
    )  # fmt: skip
    assert isinstance(result, ValidRecord)
    assert result.user.email == "a@example.com" and result.user.local_id == "abc"
    assert result.changes == {"name": "A", "user_metadata": {"x": 1}}


def test_username_rules_follow_the_connection() -> None:
    needs = validator(requires_username=True)
    assert needs.validate({"email": "a@example.com"}) == [
        {"code": "OBJECT_REQUIRED", "message": "Missing required property: username",
         "path": "username"}
    ]  # fmt: skip
    errors = needs.validate({"email": "a@example.com", "username": "x" * 16})
    assert isinstance(errors, list) and errors[0]["code"] == "MAX_LENGTH"


def test_later_duplicates_in_a_file_are_refused() -> None:
    checked = check_records(
        [{"email": "a@example.com"}, {"email": "A@example.com"}, {"email": "b@example.com",
         "user_id": "1"}, {"email": "c@example.com", "user_id": "1"}],
        validator(),
    )  # fmt: skip
    assert isinstance(checked[0], ValidRecord) and isinstance(checked[2], ValidRecord)
    assert [e["code"] for e in checked[1]] == ["DUPLICATED_USER"]  # type: ignore[index]
    assert checked[3][0]["path"] == "user_id"  # type: ignore[index]


def test_csv_cells_are_owasp_escaped() -> None:
    assert csv_cell("=1+1") == '"\'=1+1"'
    assert csv_cell("@SUM(A1)") == '"\'@SUM(A1)"'
    assert csv_cell('say "hi"') == '"say ""hi"""'
    assert csv_cell(None) == '""' and csv_cell(True) == '"true"'
    assert csv_cell(["a", "b"]) == '"[""a"",""b""]"'


def test_field_paths() -> None:
    profile = {"user_metadata": {"a": {"b": 1}}, "identities": [{"connection": "db"}]}
    assert lookup(profile, "user_metadata.a.b") == 1
    assert lookup(profile, "identities[0].connection") == "db"
    assert lookup(profile, "identities[3].connection") is None
    assert check_fields([{"name": "user_metadata.a"}], "csv") == [
        {"name": "user_metadata.a", "export_as": "user_metadata.a"}
    ]
    with pytest.raises(InvalidExportRequest):
        check_fields([{"name": "bad name"}], "json")
