"""Demographics from profile data: getAge's order, gender, interests, income bands."""

from __future__ import annotations

from datetime import date

from identa.enrichment.demographics import age_band, demographics_of, income_band

TODAY = date(2026, 11, 22)


def test_root_age_comes_first() -> None:
    found = demographics_of(
        {"age": 30, "birthday": "01/01/1950"},
        {"fullContactInfo": {"age": 44}},
        {},
        TODAY,
    )
    assert found.age(TODAY) == 30  # born on 1 January, 30 years before


def test_fullcontact_comes_before_root_birth_dates() -> None:
    found = demographics_of(
        {"birthday": "01/01/1950"},
        {},
        {"fullcontact": {"demographics": {"birthDate": "1990-06-01"}}},
        TODAY,
    )
    assert found.birthdate == date(1990, 6, 1)


def test_facebook_birthday_and_profiling_answers() -> None:
    assert demographics_of({"birthday": "07/15/1996"}, {}, {}, TODAY).birthdate == date(1996, 7, 15)
    found = demographics_of({}, {"birthdate": "2000-02-29"}, {}, TODAY)
    assert found.age(TODAY) == 26


def test_gender_interests_locale_income() -> None:
    found = demographics_of(
        {"gender": "Male", "locale": "en-GB", "likes": {"data": [{"name": "Running"}]}},
        {"interests": ["Fitness", "running"], "income": 72000},
        {},
        TODAY,
    )
    assert found.gender == "male"
    assert found.interests == ("running", "fitness")
    assert found.locale == "en-GB"
    assert found.income_band == "50k-100k"


def test_bands() -> None:
    assert [age_band(a) for a in (None, 17, 18, 34, 35, 70)] == [
        "unknown", "<18", "18-24", "25-34", "35-44", "65+"]  # fmt: skip
    assert income_band("upper-middle") == "upper-middle"
    assert income_band(250_000) == "200k+"
