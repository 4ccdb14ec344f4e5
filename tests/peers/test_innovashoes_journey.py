"""The InnovaShoes campaign (shared/seeds/004) end to end, against a real `identa serve`.

Set-up through the Management API (auth0-python where it covers the call, httpx elsewhere):
the store's application, `facebook` and `twitter` connections on local stand-ins, the seed's
rules as JavaScript (FullContact enrichment, getAge, Twitter sentiment capturing mentions), a
progressive-profiling question and a RabbitMQ log stream. Nine customers (innovashoes_world.py)
then sign up and come back over HTTP through the hosted pages. The campaign's three goals are
checked from the API and the console: the segment "male, 20-40, into fitness", the customers who
never returned, and the Twitter customers who are unhappy; as well as the RabbitMQ deliveries,
the enriched profiles and the dashboard's figures. Chromium finishes in the console.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest
from auth0.management import Auth0
from playwright.sync_api import Page, expect

from tests.peers.conftest import LiveServer, _call_outside_loop, skip_or_fail
from tests.peers.console_browser import console_admin, console_log_in
from tests.peers.innovashoes_setup import Standins, live_customers, rabbitmq_stream, set_up
from tests.peers.innovashoes_world import Persona, TweetSentiment, personas, today_utc
from tests.peers.test_auth0_management_sdk import management_token
from tests.streams.brokers import delete_queue, drain_queue
from tests.streams.conftest import RABBITMQ_URL, _reachable

SEGMENT_QUERY = (
    "app_metadata.demographics.gender:male AND app_metadata.age:[20 TO 40] "
    "AND app_metadata.demographics.interests:fitness"
)
T = TypeVar("T")


@dataclass
class Journey:
    server: LiveServer
    sdk: Auth0
    api: httpx.Client
    people: list[Persona]
    ids: dict[str, str]  # persona key -> user_id
    claims: dict[str, list[Any]]  # persona key -> the age claim of each login's ID token
    queue: str
    sentiment: TweetSentiment
    segment: dict[str, Any]

    def user(self, key: str) -> dict[str, Any]:
        found = self.api.get(f"/api/v2/users/{quote(self.ids[key], safe='')}")
        assert found.status_code == 200, found.text
        return dict(found.json())

    def search(self, q: str) -> set[str]:
        found = self.sdk.users.list(q=q, search_engine="v3", per_page=100)
        return {u.user_id for u in found if u.user_id}

    def keys(self, user_ids: set[str]) -> set[str]:
        return {key for key, uid in self.ids.items() if uid in user_ids}


def poll(check: Callable[[], T | None], what: str, within: float = 20.0) -> T:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def journey(live_server: LiveServer) -> Iterator[Journey]:
    if problem := _reachable(RABBITMQ_URL, 5672):
        skip_or_fail(f"RabbitMQ is not reachable at {RABBITMQ_URL}: {problem}")
    server = live_server
    people = personas()
    standins = Standins.started(people)
    token = management_token(server, server.management_client_id, server.management_client_secret)
    http = httpx.Client(timeout=30.0)
    sdk = Auth0(base_url=f"{server.url}/api/v2", token=token, max_retries=0, httpx_client=http)
    api = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )
    queue = f"innovashoes-{uuid.uuid4().hex[:10]}"
    try:
        store = set_up(server, sdk, api, standins)
        rabbitmq_stream(api, queue)
        ids, claims = live_customers(server, store, standins.social, people)
        segment = api.post(
            "/api/v2/segments",
            json={"name": "Running launch: men 20-40 into fitness", "query": SEGMENT_QUERY},
        )
        assert segment.status_code == 201, segment.text
        yield Journey(server, sdk, api, people, ids, claims, queue, standins.sentiment,
                      segment.json())  # fmt: skip
    finally:
        api.close()
        http.close()
        standins.stop()
        _call_outside_loop(lambda: asyncio.run(delete_queue(RABBITMQ_URL, queue)))


# -- the campaign's goals ----------------------------------------------------------------------


def test_the_segment_holds_exactly_the_men_20_to_40_into_fitness(journey: Journey) -> None:
    today = today_utc()
    expected = {
        p.key
        for p in journey.people
        if p.gender == "male" and (age := p.age(today)) is not None and 20 <= age <= 40
        and "fitness" in p.interests
    }  # fmt: skip
    segment = journey.segment
    members = journey.api.get(f"/api/v2/segments/{segment['id']}/members", params={"per_page": 50})
    assert journey.keys({u["user_id"] for u in members.json()["users"]}) == expected
    assert segment["count"] == members.json()["total"] == len(expected)
    assert journey.keys(journey.search(SEGMENT_QUERY)) == expected
    export = journey.api.get(f"/api/v2/segments/{segment['id']}/export", params={"format": "csv"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert journey.keys({r["user_id"] for r in rows}) == expected
    assert {r["email"] for r in rows} == {p.email for p in journey.people if p.key in expected}


def test_registered_and_never_returned(journey: Journey) -> None:
    expected = {p.key for p in journey.people if p.logins == 1}
    assert journey.keys(journey.search("logins_count:1")) == expected
    for p in journey.people:
        assert journey.user(p.key)["logins_count"] == p.logins, p.key


def test_unhappy_twitter_customers_are_found(journey: Journey) -> None:
    twitter = {p.key: p for p in journey.people if p.via == "twitter"}
    scored = journey.sentiment.scored
    assert set(scored) >= {p.handle for p in twitter.values()}
    negative = {k for k, p in twitter.items() if scored[p.handle or ""] < 0}
    assert negative == {"eli", "gwen"}  # the stand-in frowns on handles starting with "angry"
    found = journey.search("app_metadata.sentiment.score:{* TO 0} AND identities.provider:twitter")
    assert journey.keys(found) == negative
    for key, p in twitter.items():
        user = journey.user(key)
        assert user["app_metadata"]["sentiment_api"]["score"] == scored[p.handle or ""]
        assert (user["app_metadata"]["sentiment"]["score"] < 0) == (key in negative)
        assert user["app_metadata"]["sentiment"]["mentions"] == 2
        assert user["screen_name"] == p.handle


# -- what the campaign relies on ---------------------------------------------------------------


def test_each_login_reached_the_rabbitmq_queue(journey: Journey) -> None:
    expected = {journey.ids[p.key]: Counter({"ss": 1, "s": p.logins}) for p in journey.people}
    total = sum(sum(c.values()) for c in expected.values())
    messages = _call_outside_loop(
        lambda: asyncio.run(drain_queue(RABBITMQ_URL, journey.queue, expected=total, within=30))
    )
    seen: dict[str, dict[str, Any]] = {}
    for message in messages:
        envelope = json.loads(message.body)
        seen.setdefault(envelope["log_id"], envelope["data"])  # at-least-once: drop duplicates
    per_user: dict[str, Counter[str]] = {}
    for data in seen.values():
        per_user.setdefault(data["user_id"], Counter())[data["type"]] += 1
    assert per_user == expected


def test_profiles_carry_fullcontact_and_social_data(journey: Journey) -> None:
    today = today_utc()
    for p in journey.people:
        user = journey.user(p.key)
        fullcontact = user.get("user_metadata", {}).get("fullcontact")
        if p.in_fullcontact:
            assert p.birthdate is not None
            assert fullcontact["demographics"].get("birthDate") == p.birthdate.isoformat()
            assert {s["type"] for s in fullcontact["socialProfiles"]} == {"twitter", "facebook"}
        else:
            assert fullcontact is None, p.key
        assert journey.claims[p.key] == [p.age(today)] * p.logins, p.key
        assert user["app_metadata"].get("age") == p.age(today), p.key
        demographics = user["app_metadata"]["demographics"]
        assert demographics.get("gender") == p.gender, p.key
        assert set(demographics.get("interests") or []) == p.interests, p.key
        if p.via == "facebook" and p.birthdate is not None:
            assert user["identities"][0]["provider"] == "facebook"
            assert user["gender"] == p.gender and set(user["interests"]) == set(p.likes)
            assert user["birthday"] == p.birthdate.strftime("%m/%d/%Y")
    ben = journey.user("ben")
    [facebook, twitter] = ben["identities"]
    assert (facebook["provider"], twitter["provider"]) == ("facebook", "twitter")
    assert twitter["profileData"]["screen_name"] == "ben_runs"
    mentions = journey.api.get(f"/api/v2/users/{quote(journey.ids['ben'], safe='')}/mentions")
    assert len(mentions.json()) == 2 and {m["source"] for m in mentions.json()} == {"twitter"}


def test_the_dashboard_agrees(journey: Journey) -> None:
    today = today_utc().isoformat()
    logins = sum(p.logins for p in journey.people)

    def counted() -> dict[str, Any] | None:
        board: dict[str, Any] = journey.api.get("/api/v2/analytics/dashboard").json()
        return board if sum(d["logins"] for d in board["daily"]) == logins else None

    board = poll(counted, "the dashboard to count every login")
    [day] = [d for d in board["daily"] if d["date"] == today]
    assert day["signups"] == len(journey.people)
    assert day["logins"] == logins
    assert day["active"] == len(journey.people)
    funnel = board["funnel"]
    assert funnel["signed_up"] == len(journey.people)
    assert funnel["never_returned"] == sum(1 for p in journey.people if p.logins == 1)
    assert board["customers"]["total"] == len(journey.people)


# -- the console -------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_console_shows_the_segment_and_a_customer(journey: Journey, page: Page) -> None:
    server = journey.server
    console_log_in(page, server, console_admin(server))
    page.goto(f"{server.url}/console/segments/{journey.segment['id']}")
    expect(page.get_by_role("heading", name=journey.segment["name"])).to_be_visible()
    expect(page.locator("#segment-count")).to_have_attribute(
        "data-count", str(journey.segment["count"])
    )
    page.goto(f"{server.url}/console/customers/{quote(journey.ids['ben'], safe='')}")
    identities = page.locator("section", has=page.get_by_role("heading", name="Identities"))
    expect(identities.get_by_role("cell", name="facebook", exact=True)).to_be_visible()
    facebook_id = journey.ids["ben"].split("|", 1)[1]
    expect(identities.get_by_role("cell", name=facebook_id, exact=True)).to_be_visible()
    expect(identities.get_by_role("cell", name="twitter", exact=True)).to_be_visible()
    sentiment = page.locator("section", has=page.get_by_role("heading", name="Sentiment"))
    expect(sentiment.locator("blockquote")).to_have_count(2)
    expect(sentiment.get_by_text("love my new running shoes", exact=False)).to_be_visible()
