"""Auth0's own Python SDK (auth0-python) against the live server's /dbconnections endpoints.

The SDK is the peer: it builds the requests and parses the answers as it does against Auth0.
In auth0-python 6 the error class lives in `auth0.authentication.exceptions`.
"""

from __future__ import annotations

import re

import httpx
import pytest
from auth0.authentication import Database
from auth0.authentication.exceptions import Auth0Error

from tests.peers.conftest import DATABASE_CONNECTION, LiveServer, unique_email

PASSWORD = "Correct-Horse-9"
RESET_SENT = "We've just sent you an email to reset your password."


def database(server: LiveServer) -> Database:
    return Database(server.host, server.default_client_id, protocol="http", timeout=10.0)


def test_signup_answers_in_auth0s_shape_and_sends_verification(server: LiveServer) -> None:
    email = unique_email("sdk")
    created = database(server).signup(
        email=email.upper(), password=PASSWORD, connection=DATABASE_CONNECTION, name="SDK Person"
    )

    assert re.fullmatch(r"[0-9a-zA-Z]{24}", created["_id"]), created
    assert created["email"] == email
    assert created["email_verified"] is False
    assert created["name"] == "SDK Person"
    link = server.wait_for_mail(email, "Verify your email")
    assert link.startswith(f"{server.url}/lo/verify_email?ticket=")


def test_signup_twice_is_user_exists(server: LiveServer) -> None:
    email = unique_email("twice")
    db = database(server)
    db.signup(email=email, password=PASSWORD, connection=DATABASE_CONNECTION)

    with pytest.raises(Auth0Error) as raised:
        db.signup(email=email, password=PASSWORD, connection=DATABASE_CONNECTION)
    assert raised.value.status_code == 400
    assert raised.value.error_code == "user_exists"


@pytest.mark.parametrize("weak", ["short", "alllowercaseletters"])
def test_weak_password_is_invalid_password(server: LiveServer, weak: str) -> None:
    with pytest.raises(Auth0Error) as raised:
        database(server).signup(
            email=unique_email("weak"), password=weak, connection=DATABASE_CONNECTION
        )
    assert raised.value.status_code == 400
    assert raised.value.error_code == "invalid_password"


def test_unknown_connection_and_client_are_refused(server: LiveServer) -> None:
    with pytest.raises(Auth0Error) as raised:
        database(server).signup(email=unique_email(), password=PASSWORD, connection="Nope")
    assert (raised.value.status_code, raised.value.error_code) == (400, "invalid_connection")

    stranger = Database(server.host, "no-such-client", protocol="http", timeout=10.0)
    with pytest.raises(Auth0Error) as raised:
        stranger.signup(email=unique_email(), password=PASSWORD, connection=DATABASE_CONNECTION)
    assert (raised.value.status_code, raised.value.error_code) == (401, "unauthorized")


def test_change_password_sends_a_working_reset_link(server: LiveServer) -> None:
    email = unique_email("forgetful")
    db = database(server)
    db.signup(email=email, password=PASSWORD, connection=DATABASE_CONNECTION)

    answer = db.change_password(email=email, connection=DATABASE_CONNECTION)

    assert answer == RESET_SENT
    link = server.wait_for_mail(email, "Reset your password")
    assert link.startswith(f"{server.url}/lo/reset?ticket=")
    page = httpx.get(link, timeout=10.0)
    assert page.status_code == 200
    assert "Choose a new password" in page.text
    assert email in page.text


def test_change_password_for_an_unknown_email_answers_the_same(server: LiveServer) -> None:
    answer = database(server).change_password(
        email=unique_email("nobody"), connection=DATABASE_CONNECTION
    )
    assert answer == RESET_SENT
