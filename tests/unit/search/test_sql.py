"""The SQL each construct becomes on SQLite and PostgreSQL (behaviour on real data is checked by
tests/contract/test_user_search.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from identa.identity.models import User
from identa.search import compile_user_query

DIALECTS: dict[str, Dialect] = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def where(query: str, dialect: str) -> str:
    """The WHERE clause with its parameters written in."""
    statement = select(User.user_id).where(compile_user_query(query, dialect))
    text = str(statement.compile(dialect=DIALECTS[dialect], compile_kwargs={"literal_binds": True}))
    return " ".join(text.split("WHERE", 1)[1].split())


def params(query: str, dialect: str) -> list[Any]:
    statement = select(User.user_id).where(compile_user_query(query, dialect))
    return list(statement.compile(dialect=DIALECTS[dialect]).params.values())


def test_case_insensitive_fields_compare_lowercased() -> None:
    assert where("email:Jane@Example.com", "sqlite") == (
        "lower(users.email) = lower('Jane@Example.com')"
    )
    # In the C collation of the expression indexes (migration 0006).
    assert where("email:Jane@Example.com", "postgresql") == (
        "(lower(users.email) COLLATE \"C\") = lower('Jane@Example.com')"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_case_sensitive_fields_compare_as_is(dialect: str) -> None:
    assert where("username:Jane", dialect) == "users.username = 'Jane'"


def test_case_sensitive_wildcards_use_glob_on_sqlite_and_like_on_postgresql() -> None:
    assert where(r"username:a_b%c\[\**", "sqlite") == (
        "(users.username GLOB 'a_b%c[[][*]*') "
        "AND users.username >= 'a_b%c[*' AND users.username < 'a_b%c[+'"
    )
    assert params(r"username:a_b%c\\d*", "postgresql") == ["a\\_b\\%c\\\\d%"]
    assert '(users.username COLLATE "C") LIKE' in where("username:a*", "postgresql")
    assert "ESCAPE" in where("username:a*", "postgresql")


def test_prefixes_add_an_index_range_on_sqlite() -> None:
    assert where("name:Jo*", "sqlite") == (
        "lower(users.name) LIKE lower('Jo%') ESCAPE '\\' "
        "AND lower(users.name) >= 'jo' AND lower(users.name) < 'jp'"
    )
    # lower() may fold more than ASCII (ICU builds): no bounds rather than wrong ones.
    assert ">=" not in where("name:Zoë*", "sqlite")
    assert ">=" not in where("name:*son", "sqlite")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_case_insensitive_wildcards_escape_like_specials(dialect: str) -> None:
    assert params("name:*100%_x*", dialect) == ["%100\\%\\_x%"]
    subject = {"sqlite": "lower(users.name)", "postgresql": '(lower(users.name) COLLATE "C")'}
    assert where("name:jo*", dialect).startswith(f"{subject[dialect]} LIKE lower(")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_term_without_field_ors_seven_columns(dialect: str) -> None:
    sql = where("jane", dialect)
    assert sql.count(" OR ") == 6
    assert "user_metadata" not in sql and "lower(users.user_id)" in sql


def test_not_treats_unknown_as_false() -> None:
    assert where("NOT name:x", "sqlite").endswith("IS NOT 1")
    assert where("NOT name:x", "postgresql").endswith("IS NOT true")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_identities_are_an_uncorrelated_in(dialect: str) -> None:
    assert where("identities.connection:github", dialect) == (
        "users.user_id IN (SELECT identities.user_id FROM identities "
        "WHERE identities.connection_name = 'github')"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_email_domain_is_a_suffix_after_the_at(dialect: str) -> None:
    assert params("email.domain:my_site.com", dialect) == ["%@my\\_site.com"]


def test_dates_compare_with_utc_bounds() -> None:
    assert where("created_at:[2017-12-31 TO *]", "sqlite") == (
        "users.created_at >= '2017-12-31 00:00:00.000000'"
    )
    assert where("last_login:2017", "postgresql") == (
        "users.last_login >= '2017-01-01 00:00:00+00:00' "
        "AND users.last_login < '2018-01-01 00:00:00+00:00'"
    )


def test_text_ranges_use_code_point_order_on_postgresql() -> None:
    assert where("user_id:[a TO b}", "postgresql") == (
        "(users.user_id COLLATE \"C\") >= 'a' AND (users.user_id COLLATE \"C\") < 'b'"
    )


@pytest.mark.parametrize(
    ("query", "jsonpath"),
    [
        ("user_metadata.city:Paris", '$."city" ? (@ == "Paris")'),
        ("user_metadata.age:30", '$."age" ? (@ == "30" || @ == 30)'),
        ("user_metadata.age:1e-7", '$."age" ? (@ == "1e-7" || @ == 0.0000001)'),
        ("app_metadata.beta:false", '$."beta" ? (@ == "false" || @ == false)'),
        (
            'user_metadata.note:"say \\"hi\\" \\\\ ü"',
            '$."note" ? (@ == "say \\"hi\\" \\\\ ü")',
        ),
        ("user_metadata.a.b-c.d_e:x", '$."a"."b-c"."d_e" ? (@ == "x")'),
        ("user_metadata.age:[20 TO 40}", '$."age" ? (@ >= 20 && @ < 40)'),
        ("user_metadata.d:{2000-01 TO *]", '$."d" ? (@ > "2000-01")'),
        ("user_metadata.city:Pa.r*", '$."city" ? (@ like_regex "^Pa\\\\.r.*$" flag "s")'),
        (
            "_exists_:user_metadata.a",
            '$."a" ? (@.type() != "null" && @.type() != "array" '
            '&& (@.type() != "object" || exists(@.*)))',
        ),
    ],
)
def test_postgresql_metadata_is_one_jsonpath_parameter(query: str, jsonpath: str) -> None:
    assert params(query, "postgresql") == [jsonpath]
    assert where(query, "postgresql").startswith(
        f"users.{query.split('.')[0].split(':')[-1]} @? CAST("
    )


def test_sqlite_metadata_reads_the_terms_index() -> None:
    assert where("user_metadata.addresses.city:Paris", "sqlite") == (
        "users.user_id IN (SELECT user_search_terms.user_id FROM user_search_terms "
        "WHERE user_search_terms.field = 'user_metadata.addresses.city' "
        "AND user_search_terms.value = 'Paris')"
    )


def test_sqlite_metadata_values_are_type_checked() -> None:
    # 'true' also matches booleans, which the index stores as 'true'/'false'.
    assert "(user_search_terms.value = '30' OR user_search_terms.value = 30)" in where(
        "user_metadata.age:30", "sqlite"
    )
    assert "user_search_terms.value = 'true'" in where("app_metadata.beta:true", "sqlite")
    assert (
        "user_search_terms.type = 'text' AND (user_search_terms.value GLOB 'Par[*]*') "
        "AND user_search_terms.value >= 'Par*' AND user_search_terms.value < 'Par+'"
    ) in where(r"user_metadata.city:Par\**", "sqlite")
    assert (
        "user_search_terms.type IN ('integer', 'real') AND user_search_terms.value >= 20 "
        "AND user_search_terms.value < ''"
    ) in where("user_metadata.age:[20 TO *]", "sqlite")
    assert where("_exists_:user_metadata.prefs", "sqlite").endswith(
        "WHERE user_search_terms.field = 'user_metadata.prefs')"
    )


def test_match_all() -> None:
    assert where("*", "postgresql") == "true"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        compile_user_query("name:x", "mysql")
