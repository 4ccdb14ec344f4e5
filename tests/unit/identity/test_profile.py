"""Auth0's metadata rules: first-level merge, null deletes, {} clears, no dots or dollars."""

from __future__ import annotations

import pytest

from identa.core.errors import InvalidInput
from identa.identity.profile import merge_metadata, validate_metadata


def test_merge_replaces_top_level_keys_and_keeps_the_rest() -> None:
    current = {"plan": "free", "prefs": {"color": "blue", "size": 9}}
    merged = merge_metadata(current, {"prefs": {"color": "red"}, "new": 1})
    assert merged == {"plan": "free", "prefs": {"color": "red"}, "new": 1}
    assert current["prefs"] == {"color": "blue", "size": 9}


def test_null_deletes_a_key() -> None:
    assert merge_metadata({"a": 1, "b": 2}, {"a": None}) == {"b": 2}


def test_empty_object_clears_everything() -> None:
    assert merge_metadata({"a": 1}, {}) == {}


@pytest.mark.parametrize("bad", [{"a.b": 1}, {"x": {"$set": 1}}, {"l": [{"k.k": 1}]}])
def test_dotted_or_dollar_keys_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        validate_metadata(bad, "user_metadata")


def test_reserved_app_metadata_keys_are_refused() -> None:
    with pytest.raises(InvalidInput, match="reserved"):
        validate_metadata({"email": "x"}, "app_metadata")
    assert validate_metadata({"email": "x"}, "user_metadata") == {"email": "x"}


def test_metadata_must_be_an_object() -> None:
    with pytest.raises(InvalidInput):
        validate_metadata(["a"], "user_metadata")
