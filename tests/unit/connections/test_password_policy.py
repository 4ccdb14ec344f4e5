"""Auth0's password policy levels."""

from __future__ import annotations

import pytest

from identa.connections.database.policy import PasswordPolicy


@pytest.mark.parametrize(
    ("level", "password", "ok"),
    [
        ("none", "a", True),
        ("none", "", False),
        ("low", "abcde", False),
        ("low", "abcdef", True),
        ("fair", "abcdefgh", False),
        ("fair", "Abcdefg1", True),
        ("good", "abcdefg1", False),
        ("good", "abcdefg1!", True),
        ("good", "Abcdefgh1", True),
        ("excellent", "Abcdefg1!", False),
        ("excellent", "Abcdefg1!x", True),
        ("excellent", "Abcccdefg1!", False),
    ],
)
def test_levels(level: str, password: str, ok: bool) -> None:
    assert PasswordPolicy(level=level).check(password).verified is ok


def test_min_length_option_overrides_the_level_default() -> None:
    policy = PasswordPolicy.from_connection_options(
        {"passwordPolicy": "low", "password_complexity_options": {"min_length": 12}}, "good"
    )
    assert not policy.check("abcdefghijk").verified
    assert policy.check("abcdefghijkl").verified


def test_report_has_auth0_description_shape() -> None:
    report = PasswordPolicy(level="good").check("abc")
    description = report.as_description()
    assert description["verified"] is False
    assert description["rules"][0] == {
        "message": "At least %d characters in length",
        "format": [8],
        "verified": False,
    }
    assert description["rules"][1]["format"] == [3, 4]
    assert [i["verified"] for i in description["rules"][1]["items"]] == [True, False, False, False]
    assert report.human_messages()[0] == "At least 8 characters in length"


def test_unknown_level_falls_back_to_tenant_default() -> None:
    assert (
        PasswordPolicy.from_connection_options({"passwordPolicy": "weird"}, "fair").level == "fair"
    )
