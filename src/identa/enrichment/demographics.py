"""Demographics read from a customer's profile: age, gender, locale, interests, income band.

Age follows the order of the InnovaShoes `getAge` (root, then enrichment data, then the root
birth dates), extended with OIDC's `birthdate` and profiling answers in user_metadata:

1. root `age` (users.extra.age)
2. FullContact data in user_metadata, then app_metadata, under `fullContactInfo` (getAge's
   name) or `fullcontact` (what the enrichment rule writes): `age`, `demographics.age`,
   `demographics.birthDate`
3. root `dateOfBirth`, root `birthday` (Facebook: MM/DD/YYYY), root `birthdate` (OIDC)
4. user_metadata `birthdate`, `birthday`, `dateOfBirth`, `age` (profiling answers)

An age without a date becomes a birth date `age` years before today (the year is what counts).
Gender: root `gender`, user_metadata.gender, FullContact demographics.gender → male | female |
other. Locale: root `locale`, user_metadata.locale. Interests: root `interests` (or Facebook
`likes` names), user_metadata.interests, user_metadata.profiling.interests — lower-cased,
de-duplicated, at most 20. Income: user_metadata.income (a number, or a band as a string), else
user_metadata.zipcode_median_household_income (the income rule template), else app_metadata.income.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

MAX_INTERESTS = 20
AGE_BANDS = ((0, 17, "<18"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
             (45, 54, "45-54"), (55, 64, "55-64"), (65, 200, "65+"))  # fmt: skip
INCOME_BANDS = (
    (25_000, "<25k"),
    (50_000, "25k-50k"),
    (100_000, "50k-100k"),
    (200_000, "100k-200k"),
)
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%Y-%m", "%Y")


@dataclass(frozen=True)
class Demographics:
    birthdate: date | None
    gender: str | None
    locale: str | None
    interests: tuple[str, ...]
    income_band: str | None

    def age(self, today: date) -> int | None:
        return age_on(self.birthdate, today) if self.birthdate else None


def age_on(birthdate: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birthdate.month, birthdate.day)
    return today.year - birthdate.year - int(before_birthday)


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for low, high, name in AGE_BANDS:
        if low <= age <= high:
            return name
    return "unknown"


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()[:32]
    if "T" in text:
        text = text.split("T", 1)[0]
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None


def _birth_from_age(value: Any, today: date) -> date | None:
    age = _number(value)
    if age is None or not 0 <= age <= 130:
        return None
    return date(today.year - int(age), 1, 1)


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _fullcontact(user_metadata: dict[str, Any], app_metadata: dict[str, Any]) -> list[Any]:
    return [
        doc.get(key)
        for doc in (user_metadata, app_metadata)
        for key in ("fullContactInfo", "fullcontact")
        if isinstance(doc.get(key), dict)
    ]


def birthdate_of(
    extra: dict[str, Any], user_metadata: dict[str, Any], app_metadata: dict[str, Any], today: date
) -> date | None:
    found = _birth_from_age(extra.get("age"), today)
    if found:
        return found
    for info in _fullcontact(user_metadata, app_metadata):
        found = (
            _birth_from_age(info.get("age"), today)
            or _birth_from_age(_get(info, "demographics", "age"), today)
            or parse_date(_get(info, "demographics", "birthDate"))
        )
        if found:
            return found
    for key in ("dateOfBirth", "birthday", "birthdate"):
        found = parse_date(extra.get(key))
        if found:
            return found
    for key in ("birthdate", "birthday", "dateOfBirth"):
        found = parse_date(user_metadata.get(key))
        if found:
            return found
    return _birth_from_age(user_metadata.get("age"), today)


def _gender(
    extra: dict[str, Any], user_metadata: dict[str, Any], app_metadata: dict[str, Any]
) -> str | None:
    candidates = [extra.get("gender"), user_metadata.get("gender")]
    candidates += [_get(info, "demographics", "gender") for info in _fullcontact(
        user_metadata, app_metadata)]  # fmt: skip
    for value in candidates:
        if isinstance(value, str) and value.strip():
            lowered = value.strip().lower()
            if lowered in ("male", "m", "man"):
                return "male"
            if lowered in ("female", "f", "woman"):
                return "female"
            return "other"
    return None


def _interest_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                out.append(item["name"])
        return out
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return _interest_values(value["data"])  # Facebook's {data: [{name}]}
    return []


def interests_of(extra: dict[str, Any], user_metadata: dict[str, Any]) -> tuple[str, ...]:
    raw = (
        _interest_values(extra.get("interests"))
        + _interest_values(extra.get("likes"))
        + _interest_values(user_metadata.get("interests"))
        + _interest_values(_get(user_metadata, "profiling", "interests"))
    )
    seen: dict[str, None] = {}
    for item in raw:
        cleaned = item.strip().lower()[:64]
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)[:MAX_INTERESTS]


def income_band(value: Any) -> str | None:
    if isinstance(value, str) and _number(value) is None:
        return value.strip()[:32] or None
    amount = _number(value)
    if amount is None:
        return None
    for ceiling, name in INCOME_BANDS:
        if amount < ceiling:
            return name
    return "200k+"


def demographics_of(
    extra: dict[str, Any] | None,
    user_metadata: dict[str, Any] | None,
    app_metadata: dict[str, Any] | None,
    today: date,
) -> Demographics:
    extra, user_metadata, app_metadata = extra or {}, user_metadata or {}, app_metadata or {}
    locale = extra.get("locale") or user_metadata.get("locale")
    income = None
    for value in (
        user_metadata.get("income"),
        user_metadata.get("zipcode_median_household_income"),
        app_metadata.get("income"),
    ):
        income = income_band(value)
        if income:
            break
    return Demographics(
        birthdate=birthdate_of(extra, user_metadata, app_metadata, today),
        gender=_gender(extra, user_metadata, app_metadata),
        locale=locale[:32] if isinstance(locale, str) else None,
        interests=interests_of(extra, user_metadata),
        income_band=income,
    )
