"""Mapping provider profiles to the normalized profile, and sealing upstream secrets."""

from __future__ import annotations

import pytest

from identa.connections.social.options import prepare_options, public_options, requested_scopes
from identa.connections.social.presets import PRESETS, spec_for
from identa.connections.social.profiles import build_profile, lookup
from identa.core.errors import InvalidInput
from identa.core.secretbox import SecretBox

RAW = {
    "id": 7,
    "name": "Ada",
    "likes": {"data": [{"name": "Running"}, {"name": "Maths"}]},
    "location": {"name": "London"},
}


def test_paths_walk_objects_and_lists() -> None:
    assert lookup(RAW, "location.name") == "London"
    assert lookup(RAW, "likes.data[].name") == ["Running", "Maths"]
    assert lookup(RAW, "missing.path") is None


def test_facebook_profile_keeps_the_attributes_the_seeds_want() -> None:
    spec = PRESETS["facebook"]
    profile = build_profile(
        {**RAW, "email": "Ada@Example.com", "birthday": "12/10/1990"},
        spec.mapping,
        extra_mapping=spec.extra_mapping,
    )
    assert profile.user_id == "7" and profile.email == "ada@example.com"
    assert profile.email_verified is False  # Facebook's address is never taken as verified
    assert profile.extra == {
        "birthday": "12/10/1990",
        "location": "London",
        "interests": ["Running", "Maths"],
    }
    assert profile.root["nickname"] == "ada"


def test_an_identity_provider_cannot_set_protected_root_attributes() -> None:
    profile = build_profile(
        {"sub": "1", "x": "y"},
        {"user_id": "sub"},
        extra_mapping={"app_metadata": "x", "user_id": "x", "blocked": "x", "ok": "x"},
    )
    assert profile.extra == {"ok": "y"}


def test_secrets_are_sealed_kept_on_patch_and_hidden() -> None:
    box = SecretBox("k" * 32, "connection-secrets")
    stored = prepare_options("github", {"client_id": "a", "client_secret": "s3cret"}, box)
    assert stored["client_secret"].startswith("enc:v1:")
    assert box.open(stored["client_secret"]) == "s3cret"
    assert SecretBox("other" * 8, "connection-secrets").open(stored["client_secret"]) is None
    kept = prepare_options("github", {"client_id": "a", "scope": "read:user"}, box, stored)
    assert kept["client_secret"] == stored["client_secret"]
    assert "client_secret" not in public_options("github", kept)
    with pytest.raises(InvalidInput):
        prepare_options("github", {"client_id": "b"}, box, stored)  # new app, no secret


def test_scopes_accept_a_string_a_list_and_auth0_boolean_options() -> None:
    assert requested_scopes(spec_for("oidc"), {"scope": "email profile"}) == [
        "openid",
        "email",
        "profile",
    ]
    assert requested_scopes(spec_for("oidc"), {"scopes": ["email"]}) == ["openid", "email"]
    facebook = requested_scopes(spec_for("facebook"), {"user_birthday": True})
    assert facebook == ["public_profile", "email", "user_birthday"]
