"""From query text to the typed query: fields, tests, operators, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identa.search import InvalidQuery, parse_user_query
from identa.search.fields import BARE_TERM
from identa.search.query import (
    AllOf,
    AnyOf,
    Bound,
    Condition,
    EmailDomain,
    Equals,
    Exists,
    JsonEquals,
    Kind,
    Like,
    MatchAll,
    MetadataField,
    Not,
    Range,
    RootField,
)

NAME = RootField("name", Kind.TEXT_CI)
USER_ID = RootField("user_id", Kind.TEXT)
LOGINS = RootField("logins_count", Kind.INTEGER)
BLOCKED = RootField("blocked", Kind.BOOLEAN)
LAST_LOGIN = RootField("last_login", Kind.DATE)
AGE = MetadataField("user_metadata", ("age",))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_field_value_is_an_exact_match() -> None:
    assert parse_user_query("name:jane") == Condition(NAME, Equals("jane"))
    assert parse_user_query('name:"jane smith"') == Condition(NAME, Equals("jane smith"))
    assert parse_user_query(r"name:jane\ smith") == Condition(NAME, Equals("jane smith"))


def test_values_take_the_field_type() -> None:
    assert parse_user_query("logins_count:0") == Condition(LOGINS, Equals(0))
    assert parse_user_query("blocked:true") == Condition(BLOCKED, Equals(True))
    assert parse_user_query("email_verified:false") == Condition(
        RootField("email_verified", Kind.BOOLEAN), Equals(False)
    )


def test_a_date_value_is_its_whole_period() -> None:
    assert parse_user_query("last_login:2017-12-31") == Condition(
        LAST_LOGIN, Range(Bound(utc(2017, 12, 31), True), Bound(utc(2018, 1, 1), False))
    )


def test_a_term_without_field_searches_the_text_fields() -> None:
    assert parse_user_query("jane") == Condition(BARE_TERM, Equals("jane"))
    assert BARE_TERM.columns == (
        "email", "name", "given_name", "family_name", "nickname", "username", "user_id"
    )  # fmt: skip


def test_wildcards() -> None:
    assert parse_user_query("name:j*") == Condition(NAME, Like(("j", "")))
    assert parse_user_query("name:*usa") == Condition(NAME, Like(("", "usa")))
    assert parse_user_query("name:*ich*") == Condition(NAME, Like(("", "ich", "")))
    assert parse_user_query("jo*") == Condition(BARE_TERM, Like(("jo", "")))


def test_star_alone_means_has_a_value_or_everything() -> None:
    assert parse_user_query("name:*") == Condition(NAME, Exists())
    assert parse_user_query("*") == MatchAll()
    assert parse_user_query("") == MatchAll()
    assert parse_user_query("   ") == MatchAll()


@pytest.mark.parametrize("short", ["name:*sa", "name:*s*", "*ab", "user_metadata.city:*ar"])
def test_a_leading_wildcard_needs_three_characters(short: str) -> None:
    with pytest.raises(InvalidQuery, match="needs at least 3 other characters"):
        parse_user_query(short)


@pytest.mark.parametrize("field", ["logins_count", "blocked", "created_at", "identities.isSocial"])
def test_wildcards_only_apply_to_text(field: str) -> None:
    with pytest.raises(InvalidQuery, match=f"wildcards are not supported on {field}"):
        parse_user_query(f"{field}:1*")


def test_ranges_inclusive_exclusive_mixed_and_open() -> None:
    assert parse_user_query("logins_count:[1 TO 5]") == Condition(
        LOGINS, Range(Bound(1, True), Bound(5, True))
    )
    assert parse_user_query("logins_count:{1 TO 5}") == Condition(
        LOGINS, Range(Bound(1, False), Bound(5, False))
    )
    assert parse_user_query("logins_count:[100 TO 200}") == Condition(
        LOGINS, Range(Bound(100, True), Bound(200, False))
    )
    assert parse_user_query("logins_count:{100 TO *]") == Condition(
        LOGINS, Range(Bound(100, False), None)
    )
    assert parse_user_query("logins_count:[-5 TO 5]") == Condition(
        LOGINS, Range(Bound(-5, True), Bound(5, True))
    )
    assert parse_user_query("logins_count:[* TO *]") == Condition(LOGINS, Exists())


def test_comparison_shorthands_are_half_open_ranges() -> None:
    assert parse_user_query("logins_count:>=2") == Condition(LOGINS, Range(Bound(2, True), None))
    assert parse_user_query("logins_count:<2") == Condition(LOGINS, Range(None, Bound(2, False)))


def test_date_bounds_are_periods() -> None:
    december, january = utc(2017, 12, 1), utc(2018, 1, 1)
    cases = {
        "last_login:[* TO 2017-12]": Range(None, Bound(january, False)),
        "last_login:[* TO 2017-12}": Range(None, Bound(december, False)),
        "last_login:[2017-12 TO *]": Range(Bound(december, True), None),
        "last_login:{2017-12 TO *]": Range(Bound(january, True), None),
    }
    for query, expected in cases.items():
        assert parse_user_query(query) == Condition(LAST_LOGIN, expected), query


def test_metadata_values_match_as_string_number_or_boolean() -> None:
    assert parse_user_query("user_metadata.age:30") == Condition(AGE, JsonEquals("30", 30, None))
    assert parse_user_query('user_metadata.age:"30"') == Condition(AGE, JsonEquals("30", 30, None))
    assert parse_user_query("app_metadata.beta:true") == Condition(
        MetadataField("app_metadata", ("beta",)), JsonEquals("true", None, True)
    )
    assert parse_user_query("user_metadata.addresses.city:Paris") == Condition(
        MetadataField("user_metadata", ("addresses", "city")), JsonEquals("Paris", None, None)
    )


def test_metadata_ranges_are_numeric_only_when_every_bound_is_a_number() -> None:
    assert parse_user_query("user_metadata.age:[20 TO 40.5]") == Condition(
        AGE, Range(Bound(20, True), Bound(40.5, True))
    )
    assert parse_user_query("user_metadata.age:[20 TO *]") == Condition(
        AGE, Range(Bound(20, True), None)
    )
    assert parse_user_query("user_metadata.age:[1990-01 TO 2000]") == Condition(
        AGE, Range(Bound("1990-01", True), Bound("2000", True))
    )


def test_operators_and_grouping() -> None:
    a, b, c = (Condition(NAME, Equals(v)) for v in "abc")
    assert parse_user_query("name:a AND name:b") == AllOf((a, b))
    assert parse_user_query("name:a OR name:b") == AnyOf((a, b))
    assert parse_user_query("NOT name:a") == Not(a)
    assert parse_user_query("-name:a +name:b") == AllOf((Not(a), b))
    assert parse_user_query("name:a AND name:b OR name:c") == AnyOf((AllOf((a, b)), c))
    assert parse_user_query("name:a AND (name:b OR name:c)") == AllOf((a, AnyOf((b, c))))
    assert parse_user_query("name:(a OR b)") == AnyOf((a, b))
    assert parse_user_query("name:(a NOT b)") == AllOf((a, Not(b)))
    assert parse_user_query("name:a^2") == a


def test_nested_operators_of_one_kind_and_double_negations_are_flattened() -> None:
    a, b, c = (Condition(NAME, Equals(v)) for v in "abc")
    assert parse_user_query("(name:a AND name:b) AND name:c") == AllOf((a, b, c))
    assert parse_user_query("name:a OR (name:b OR (name:c))") == AnyOf((a, b, c))
    assert parse_user_query("NOT (NOT name:a)") == a
    assert parse_user_query("NOT NOT NOT name:a") == Not(a)


def test_an_implicit_operator_is_and_and_binds_loosest() -> None:
    a, b, c = (Condition(NAME, Equals(v)) for v in "abc")
    assert parse_user_query("name:a name:b") == AllOf((a, b))
    assert parse_user_query("name:a name:b OR name:c") == AllOf((a, AnyOf((b, c))))


def test_exists() -> None:
    assert parse_user_query("_exists_:email") == Condition(
        RootField("email", Kind.TEXT_CI), Exists()
    )
    assert parse_user_query("_exists_:user_metadata.display.lang") == Condition(
        MetadataField("user_metadata", ("display", "lang")), Exists()
    )
    assert parse_user_query("NOT _exists_:logins_count OR logins_count:0") == AnyOf(
        (Not(Condition(LOGINS, Exists())), Condition(LOGINS, Equals(0)))
    )


def test_special_fields() -> None:
    assert parse_user_query('email.domain:"example.com"') == Condition(
        EmailDomain(), Equals("example.com")
    )
    identity = parse_user_query('identities.connection:"google-oauth2"')
    assert isinstance(identity, Condition)
    assert identity.test == Equals("google-oauth2")
    assert parse_user_query("user_id:auth0*") == Condition(USER_ID, Like(("auth0", "")))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("nope:1", "unknown field 'nope'"),
        ("Email:a", "unknown field 'Email'"),
        ("picture:x", "'picture' is not searchable"),
        ("identities.foo:x", "unknown field 'identities.foo'"),
        ("user_metadata:x", "'user_metadata' needs a path"),
        ("user_metadata.a.raw:x", r"\.raw suffix is not supported"),
        ("user_metadata.a$b:x", "invalid path"),
        ("user_metadata.a..b:x", "invalid path"),
        ("_exists_:nope", "unknown field 'nope'"),
        ("_exists_:name*", "_exists_ takes a field name"),
        ("_exists_:[a TO b]", "_exists_ takes a field name"),
        ("name:(given_name:x)", "cannot be used inside another field"),
        ("logins_count:many", "logins_count expects an integer"),
        ("logins_count:[1 TO x]", "logins_count expects an integer"),
        ("blocked:yes", "blocked expects true or false"),
        ("blocked:[false TO true]", "ranges are not supported on blocked"),
        ("created_at:[2017-13 TO *]", "created_at: '2017-13' is not a valid date"),
        ("created_at:yesterday", "created_at expects a date"),
        ("[1 TO 5]", "a range needs a field"),
        ("email.domain:[a TO b]", "ranges are not supported on email.domain"),
        ("logins_count:[1* TO 5]", "wildcards are not allowed in range bounds"),
        ("name:jane~", "fuzzy and proximity searches"),
        ('name:"jane smith"~2', "fuzzy and proximity searches"),
        ("name:/ja.e/", "regular expressions are not supported"),
        ("name:j?ne", r"the \? wildcard is not supported"),
        ("name:*an", "needs at least 3 other characters"),
        ("name:(jane", "could not be parsed"),
    ],
)
def test_refusals_name_the_problem(query: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message) as caught:
        parse_user_query(query)
    assert caught.value.code == "invalid_query_string"


def test_invalid_query_is_an_invalid_input() -> None:
    from identa.core.errors import InvalidInput

    assert issubclass(InvalidQuery, InvalidInput)
