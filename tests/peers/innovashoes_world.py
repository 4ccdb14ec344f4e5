"""The InnovaShoes world for tests/peers/test_innovashoes_journey.py: who the customers are, the
stand-ins they meet (FullContact, the tweet-sentiment API, Facebook and X), the campaign's rules,
and a headless customer walking the store's /authorize through the hosted pages.

Every fact the test later expects (gender, age, interests, Twitter tone, how often a customer
comes back) is stated once here, on the `Persona`; the stand-ins answer from the same personas.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from tests.peers.conftest import LiveServer, html_forms, page_text
from tests.standins.fullcontact import FullContactStandin, person
from tests.standins.sentiment import SentimentStandin
from tests.standins.server import Reply, Request
from tests.standins.social_providers import Account, StandIn
from tests.unit.rules.test_innovashoes import FULLCONTACT_RULE, GET_AGE

PASSWORD = "Correct-Horse-9-Shoes"
AGE_CLAIM = "https://innovashoes.example/age"
INTEREST_OPTIONS = ["fitness", "outdoors", "music", "fashion"]


@dataclass(frozen=True)
class Persona:
    key: str
    via: str  # "facebook", "twitter" or "password"
    gender: str | None
    birthdate: date | None
    logins: int  # 1: signed up (which logs in once) and never came back
    likes: tuple[str, ...] = ()  # Facebook likes
    answers: tuple[str, ...] = ()  # the progressive-profiling interests question
    in_fullcontact: bool = False
    handle: str | None = None  # the X username
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    @property
    def email(self) -> str:
        return f"{self.key}.{self.tag}@innovashoes-customers.example"

    @property
    def sub(self) -> str:
        return f"{abs(hash((self.key, self.tag))) % 10**15:015d}"

    def age(self, today: date) -> int | None:
        if self.birthdate is None:
            return None
        born = self.birthdate
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    @property
    def interests(self) -> set[str]:
        return {i.lower() for i in (*self.likes, *self.answers)}

    def account(self) -> Account:
        """What Facebook or X know about this customer."""
        given, family = self.key.capitalize(), "Runner"
        return Account(
            sub=self.sub,
            email=self.email,
            email_verified=True,
            name=f"{given} {family}",
            given_name=given,
            family_name=family,
            login=self.handle or self.key,
            birthday=self.birthdate.strftime("%m/%d/%Y") if self.birthdate else "",
            location="Portland, Oregon",
            likes=list(self.likes),
        )


def personas() -> list[Persona]:
    return [
        Persona("ben", "facebook", "male", date(1994, 3, 2), 3, likes=("Running", "Fitness"),
                in_fullcontact=True),
        Persona("carla", "facebook", "female", date(1992, 5, 17), 1, likes=("Fitness", "Yoga")),
        Persona("dan", "facebook", "male", date(1970, 8, 9), 2, likes=("Fitness", "Golf")),
        Persona("eli", "twitter", "male", date(1999, 1, 15), 2, answers=("fitness",),
                in_fullcontact=True, handle="angry_eli"),
        Persona("finn", "twitter", "male", date(1988, 6, 30), 1, answers=("music",),
                in_fullcontact=True, handle="happy_finn"),
        Persona("gwen", "twitter", "female", date(2001, 2, 2), 1, in_fullcontact=True,
                handle="angry_gwen"),
        Persona("hugo", "password", "male", date(1996, 11, 30), 1,
                answers=("fitness", "outdoors"), in_fullcontact=True),
        Persona("ivy", "password", None, None, 2, answers=("fitness",)),
        Persona("jack", "password", "male", date(1986, 10, 1), 2, answers=("fitness",),
                in_fullcontact=True),
    ]  # fmt: skip


def today_utc() -> date:
    return datetime.now(UTC).date()


# -- stand-ins ---------------------------------------------------------------------------------


class PersonaFullContact(FullContactStandin):
    """FullContact knowing the personas with `in_fullcontact`, each with their own demographics."""

    def __init__(self, people: list[Persona]) -> None:
        known = {p.email: p for p in people if p.in_fullcontact}
        super().__init__(known=set(known))
        self.people = known
        self.route("GET", "/v2/person.json", self._persona)

    def _persona(self, request: Request) -> Reply:
        answer = self._person(request)
        who = self.people.get(request.query.get("email", ""))
        if answer.status != 200 or who is None:
            return answer
        body = person(who.email)
        body["demographics"] = {"locationGeneral": "Portland, Oregon, United States"}
        if who.gender:
            body["demographics"]["gender"] = who.gender.capitalize()
        if who.birthdate:
            body["demographics"]["birthDate"] = who.birthdate.isoformat()
        return Reply(200, body)


TWEETS = {
    "negative": [
        "@InnovaShoes my trainers fell apart after two weeks. Terrible quality, awful support.",
        "@InnovaShoes still no refund. Worst shopping experience ever, I hate this.",
    ],
    "positive": [
        "@InnovaShoes love my new running shoes, so comfortable! Great job.",
        "@InnovaShoes fantastic support team, thank you!",
    ],
}


class TweetSentiment(SentimentStandin):
    """The sentiment API, also returning the tweets mentioning @InnovaShoes that it scored."""

    def __init__(self) -> None:
        super().__init__()
        self.scored: dict[str, float] = {}
        self.route("POST", "/analyze", self._with_tweets)

    def _with_tweets(self, request: Request) -> Reply:
        answer = self._analyze(request)
        if answer.status == 200:
            body = dict(answer.body)
            self.scored[body["twitterHandle"]] = body["score"]
            body["tweets"] = [
                {"text": text, "url": f"https://x.example/{body['twitterHandle']}/status/{i}"}
                for i, text in enumerate(TWEETS[body["sentiment"]])
            ]
            answer = Reply(200, body)
        return answer


class SocialProviders(StandIn):
    """Facebook and X from one stand-in, with the Graph API's `gender` that the base lacks."""

    def __init__(self) -> None:
        super().__init__(client_id="innovashoes-social", client_secret=uuid.uuid4().hex)
        self.gender: str | None = None

    def be(self, who: Persona) -> None:
        self.account = who.account()
        self.gender = who.gender

    def profile(self, path: str) -> dict[str, Any] | list[Any]:
        out = super().profile(path)
        if path == "/me" and isinstance(out, dict) and self.gender:
            out["gender"] = self.gender
        return out


# -- the campaign's rules (shared/seeds/004) ---------------------------------------------------


def fullcontact_rule(standin: FullContactStandin) -> str:
    return FULLCONTACT_RULE % {"FULLCONTACT_URL": standin.url + "/v2/person.json"}


# getAge unchanged; the enrichment rule stores FullContact's answer as `fullcontact` while getAge
# reads `fullContactInfo`, so the rule hands getAge a view with both names.
AGE_RULE = (
    """function (user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  user.app_metadata = user.app_metadata || {};
  var view = Object.assign({}, user, {user_metadata: Object.assign({}, user.user_metadata,
    {fullContactInfo: user.user_metadata.fullContactInfo || user.user_metadata.fullcontact})});
  var age = getAge(view);
  context.idToken['AGE_CLAIM'] = age;
  if (age === null || age === user.app_metadata.age) return callback(null, user, context);
  user.app_metadata.age = age;
  auth0.users.updateAppMetadata(user.user_id, {age: age})
    .then(function () { callback(null, user, context); });
}
var moment = require('moment');
""".replace("AGE_CLAIM", AGE_CLAIM)
    + GET_AGE
)

# The seed's sentiment rule; the handle is the X username when the customer came through X
# (root `screen_name`), else FullContact's, and the scored tweets become Identa mentions.
SENTIMENT_RULE = """function (user, context, callback) {
  user.app_metadata = user.app_metadata || {};
  if (user.app_metadata.sentiment_initialized) {
    return callback(null, user, context);
  }
  var twitterHandle = getTwitterHandle(user);
  if (!twitterHandle) {
    return callback(null, user, context);
  }
  request.post({
    url: '%s',
    json: { twitterHandle: twitterHandle, secretToken: ";ojhsajk;h;Kh:Jh" },
    timeout: 15000
  }, function (err, response, body) {
    if (err) return callback(new Error(err));
    user.app_metadata.sentiment_initialized = true;
    user.app_metadata.sentiment_api = { handle: twitterHandle, label: body.sentiment,
                                        score: body.score };
    var chain = Promise.resolve();
    (body.tweets || []).forEach(function (tweet) {
      chain = chain.then(function () {
        return identa.mentions.add(user.user_id, { text: tweet.text, source: 'twitter',
                                                   url: tweet.url });
      });
    });
    chain.then(function () {
      return auth0.users.updateAppMetadata(user.user_id, {
        sentiment_initialized: true, sentiment_api: user.app_metadata.sentiment_api });
    }).then(function () {
      callback(null, user, context);
    }).catch(function (e) {
      callback(e);
    });
  });
}

function getTwitterHandle(user) {
    if (user.screen_name) return user.screen_name;
    var fullContactInfo = user.user_metadata.fullContactInfo || user.user_metadata.fullcontact ||
                          user.app_metadata.fullContactInfo;
    if (fullContactInfo && fullContactInfo.socialProfiles) {
      for (var key in fullContactInfo.socialProfiles) {
        if (fullContactInfo.socialProfiles[key].type === 'twitter'){
          return fullContactInfo.socialProfiles[key].username;
        }
      }
    }
    return null;
}"""


def sentiment_rule(standin: SentimentStandin) -> str:
    return SENTIMENT_RULE % (standin.url + "/analyze")


# -- a customer's browser, headless ------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    client_id: str
    client_secret: str
    callback: str


class Customer:
    """One visit of one persona to the store: /authorize, the provider or the password pages,
    the profiling question, until the store's callback; returns the authorization code."""

    MAX_STEPS = 16

    def __init__(self, server: LiveServer, store: Store, who: Persona) -> None:
        self.server, self.store, self.who = server, store, who
        self.browser = httpx.Client(timeout=20.0)

    def __enter__(self) -> Customer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.browser.close()

    def visit(self, *, first: bool) -> str:
        params = {
            "response_type": "code",
            "client_id": self.store.client_id,
            "redirect_uri": self.store.callback,
            "scope": "openid profile email",
            "state": uuid.uuid4().hex,
            "prompt": "login",
        }
        if self.who.via != "password":
            params["connection"] = self.who.via
        elif first:
            params["screen_hint"] = "signup"
        return self.walk(self.browser.get(f"{self.server.url}/authorize", params=params))

    def walk(self, response: httpx.Response) -> str:
        for _ in range(self.MAX_STEPS):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if target.startswith(self.store.callback):
                    query = parse_qs(urlsplit(target).query)
                    assert "code" in query, f"{self.who.key}: {query}"
                    return query["code"][0]
                response = self.browser.get(target)
                continue
            assert response.status_code == 200, (
                f"{self.who.key}: {response.status_code} at {response.url}: "
                f"{page_text(response.text)}"
            )
            response = self.fill(response)
        raise AssertionError(f"{self.who.key}: more than {self.MAX_STEPS} steps")

    def fill(self, page: httpx.Response) -> httpx.Response:
        forms = [f for f in html_forms(page.text) if f.method == "post"]
        assert forms, f"{self.who.key}: no form at {page.url}: {page_text(page.text)}"
        form = forms[0]
        data = dict(form.fields)
        if "/u/profile" in form.action:
            chosen = {k: v for k, v in data.items() if k.startswith("q_") and v in self.who.answers}
            data = {k: v for k, v in data.items() if not k.startswith("q_")} | chosen
            data["action"] = "save" if chosen else "skip"
        elif "email" in data and "password" in data:
            data.update(email=self.who.email, password=PASSWORD, name=f"{self.who.key} Runner")
        elif "username" in data and "password" in data:
            data.update(username=self.who.email, password=PASSWORD)
        else:
            raise AssertionError(f"{self.who.key}: unexpected page {page_text(page.text)}")
        return self.browser.post(urljoin(str(page.url), form.action), data=data)

    def connect(self, connection: str) -> None:
        """From the account page (signed in), connects the provider's account to this profile."""
        page = self.browser.get(f"{self.server.url}/u/account")
        hrefs = [
            part.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            for part in page.text.split(f'data-connect="{connection}"')[1:2]
        ]
        assert hrefs, page_text(page.text)
        hop = self.browser.get(urljoin(self.server.url, hrefs[0]))
        assert hop.is_redirect, page_text(hop.text)
        upstream = self.browser.get(hop.headers["location"])
        done = self.browser.get(upstream.headers["location"])
        assert done.headers.get("location") == "/u/account?notice=account_connected", (
            done.status_code,
            page_text(done.text),
        )
