"""Reading query text: limits, parse errors, escapes and wildcards inside terms."""

from __future__ import annotations

import pytest

from identa.search import InvalidQuery
from identa.search.query import Like
from identa.search.syntax import MAX_QUERY_LENGTH, Literal, decode_phrase, decode_word, parse


def test_a_plain_word_is_a_literal() -> None:
    assert decode_word("jane") == Literal("jane")


def test_backslash_escapes_any_character() -> None:
    assert decode_word(r"John\ Doe") == Literal("John Doe")
    assert decode_word(r"auth0\|12") == Literal("auth0|12")
    assert decode_word(r"a\*b") == Literal("a*b")
    assert decode_word(r"a\\b") == Literal("a\\b")


def test_unescaped_stars_split_a_pattern() -> None:
    assert decode_word("j*") == Like(("j", ""))
    assert decode_word("*ich*") == Like(("", "ich", ""))
    assert decode_word("a*b*c") == Like(("a", "b", "c"))
    assert decode_word(r"a\**") == Like(("a*", ""))
    assert decode_word("*") == Like(("", ""))


def test_question_mark_wildcard_is_refused() -> None:
    with pytest.raises(InvalidQuery, match=r"\? wildcard is not supported"):
        decode_word("j?n")


def test_escaped_question_mark_is_a_literal() -> None:
    assert decode_word(r"why\?") == Literal("why?")


def test_a_phrase_is_exact_and_keeps_stars() -> None:
    assert decode_phrase('"jane smith"') == Literal("jane smith")
    assert decode_phrase('"j*?"') == Literal("j*?")
    assert decode_phrase(r'"say \"hi\" \\ now"') == Literal('say "hi" \\ now')


def test_unparseable_queries_are_refused() -> None:
    for bad in ("name:(jane", "name:", "AND", "x:[1 TO", "a:b)", "a^.", '"a"~.'):
        with pytest.raises(InvalidQuery, match="could not be parsed"):
            parse(bad)


def test_a_query_over_the_length_limit_is_refused() -> None:
    parse("a" * MAX_QUERY_LENGTH)
    with pytest.raises(InvalidQuery, match="2001 characters long; the limit is 2000"):
        parse("a" * (MAX_QUERY_LENGTH + 1))


def test_deep_nesting_is_refused_without_recursion() -> None:
    parse("(" * 10 + "a" + ")" * 10)
    with pytest.raises(InvalidQuery, match="nested too deeply"):
        parse("(" * 40 + "a" + ")" * 40)
    with pytest.raises(InvalidQuery, match="nested too deeply"):
        parse("NOT " * 400 + "a")  # deeper than Python's recursion limit


def test_too_many_terms_are_refused() -> None:
    parse(" OR ".join(["a"] * 100))
    with pytest.raises(InvalidQuery, match="more than 100 terms"):
        parse(" OR ".join(["a"] * 101))


def test_control_characters_are_refused() -> None:
    parse("name:a\tAND\nb")
    with pytest.raises(InvalidQuery, match="U\\+0000"):
        parse("name:a\x00")
    with pytest.raises(InvalidQuery, match="U\\+D800"):
        parse("name:\ud800")
