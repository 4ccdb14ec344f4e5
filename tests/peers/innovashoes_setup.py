"""Set-up and customers of tests/peers/test_innovashoes_journey.py, through real HTTP only: the
Management API with auth0-python where it covers the call (applications, connections, rules,
rules-configs) and httpx elsewhere (tenant settings, profiling, log streams), and each customer
visit through /authorize and the hosted pages, its code exchanged with auth0-python's GetToken."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from auth0.authentication import GetToken
from auth0.management import Auth0

from tests.peers.conftest import LiveServer, verified_claims
from tests.peers.innovashoes_world import (
    AGE_CLAIM,
    AGE_RULE,
    INTEREST_OPTIONS,
    Customer,
    Persona,
    PersonaFullContact,
    SocialProviders,
    Store,
    TweetSentiment,
    fullcontact_rule,
    sentiment_rule,
)
from tests.standins.fullcontact import API_KEY
from tests.streams.conftest import RABBITMQ_URL


@dataclass
class Standins:
    fullcontact: PersonaFullContact
    sentiment: TweetSentiment
    social: SocialProviders

    @classmethod
    def started(cls, people: list[Persona]) -> Standins:
        social = SocialProviders()
        social.start()
        return cls(PersonaFullContact(people).start(), TweetSentiment().start(), social)

    def stop(self) -> None:
        self.fullcontact.stop()
        self.sentiment.stop()
        self.social.stop()


def set_up(server: LiveServer, sdk: Auth0, api: httpx.Client, standins: Standins) -> Store:
    """The store's application and everything the campaign configures, as an admin would."""
    callback = "http://127.0.0.1:9/innovashoes/callback"
    store = sdk.clients.create(
        name="InnovaShoes Store", app_type="regular_web", callbacks=[callback],
        grant_types=["authorization_code", "refresh_token"],
    )  # fmt: skip
    assert store.client_id and store.client_secret
    database = next(
        c for c in sdk.connections.list() if c.name == "Username-Password-Authentication"
    )
    assert database.id
    sdk.connections.update(
        database.id, enabled_clients=[*(database.enabled_clients or []), store.client_id]
    )
    social = standins.social
    for strategy, options in (
        ("facebook", {"user_birthday": True, "user_likes": True, "user_gender": True}),
        ("twitter", {}),
    ):
        made = sdk.connections.create(
            name=strategy,
            strategy=strategy,
            enabled_clients=[store.client_id],
            options={
                "client_id": social.client_id,
                "client_secret": social.client_secret,
                "endpoints": social.endpoints(strategy),
                **options,
            },
        )
        assert made.strategy == strategy
    hosts = [standins.fullcontact.host, standins.sentiment.host]
    settings = api.patch(
        "/api/v2/tenants/settings",
        json={"rules_allowed_hosts": hosts, "account_linking": "off"},
    )
    assert settings.status_code == 200, settings.text
    sdk.rules_configs.set("FULLCONTACT_KEY", value=API_KEY)
    for order, (name, script) in enumerate(
        (
            ("fullcontact", fullcontact_rule(standins.fullcontact)),
            ("age", AGE_RULE),
            ("twitter-sentiment", sentiment_rule(standins.sentiment)),
        ),
        start=1,
    ):
        sdk.rules.create(name=name, script=script, order=order, enabled=True)
    policy = api.patch("/api/v2/profiling/policy", json={"start_at_login": 1, "max_questions": 1})
    assert policy.status_code == 200, policy.text
    question = api.post(
        "/api/v2/profiling/questions",
        json={"path": "interests", "label": "What are you into?", "type": "multi-choice",
              "options": INTEREST_OPTIONS, "client_ids": [store.client_id]},
    )  # fmt: skip
    assert question.status_code == 201, question.text
    return Store(store.client_id, store.client_secret, callback)


def rabbitmq_stream(api: httpx.Client, queue: str) -> None:
    """A log stream of the sign-ups and logins into the durable queue `queue`."""
    stream = api.post(
        "/api/v2/log-streams",
        json={"name": "InnovaShoes analytics", "type": "rabbitmq",
              "sink": {"rabbitmqUrl": RABBITMQ_URL, "rabbitmqRoutingKey": queue},
              "filters": [{"type": "category", "name": "auth.login.success"},
                          {"type": "category", "name": "auth.signup.success"}]},
    )  # fmt: skip
    assert stream.status_code == 201, stream.text


def live_customers(
    server: LiveServer, store: Store, social: SocialProviders, people: list[Persona]
) -> tuple[dict[str, str], dict[str, list[Any]]]:
    """Each persona's visits, in turn; ben connects an X account at his first. Returns the user
    ids and, per persona, the age claim of each login's ID token."""
    ids: dict[str, str] = {}
    claims: dict[str, list[Any]] = {}
    tokens = GetToken(server.host, store.client_id, store.client_secret, protocol="http")
    for who in people:
        social.be(who)
        claims[who.key] = []
        for visit in range(who.logins):
            with Customer(server, store, who) as customer:
                code = customer.visit(first=visit == 0)
                if who.key == "ben" and visit == 0:
                    twin = Persona("ben-x", "twitter", "male", who.birthdate, 1, handle="ben_runs")
                    social.be(twin)
                    customer.connect("twitter")
                    social.be(who)
            answer = tokens.authorization_code(code=code, redirect_uri=store.callback)
            id_claims = verified_claims(server, answer["id_token"], aud=store.client_id)
            ids[who.key] = id_claims["sub"]
            claims[who.key].append(id_claims.get(AGE_CLAIM))
    return ids, claims
