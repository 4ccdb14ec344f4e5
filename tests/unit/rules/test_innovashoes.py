"""The InnovaShoes rules from the seed (shared/seeds/004) run unchanged as JavaScript.

The seed's text lost some characters when it was extracted (`user.email`, the closing braces,
the API URLs, the `request.get`/`request.post` and `.then(` calls); they are restored below
exactly as in Auth0's published rule. The only substitution is the URL, which points at the local
stand-ins (tests/standins) instead of the real FullContact and sentiment APIs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from identa.rules.runtime import RuleRunner
from tests.standins.fullcontact import API_KEY, FullContactStandin
from tests.standins.sentiment import SentimentStandin
from tests.unit.rules.conftest import USER, run

FULLCONTACT_RULE = """function (user, context, callback) {

  // skip if no email
  if(!user.email) return callback(null, user, context);
  // skip if fullcontact metadata is already there
  if(user.user_metadata && user.user_metadata.fullcontact) return callback(null, user, context);
  request.get({
    url: '%(FULLCONTACT_URL)s',
    qs: {
      email:  user.email,
      apiKey: configuration.FULLCONTACT_KEY
    }
  }, function (error, response, body) {
    if (error || (response && response.statusCode !== 200)) {

      // swallow fullcontact api errors and just continue login
      return callback(null, user, context);
    }

    // if we reach here, it means fullcontact returned info and we'll add it to the metadata
    user.user_metadata = user.user_metadata || {};
    user.user_metadata.fullcontact = JSON.parse(body);

    auth0.users.updateUserMetadata(user.user_id, user.user_metadata);
    return callback(null, user, context);
  });
}"""

GET_AGE = """function getAge(user) {
    if (user.age) {
        return user.age;
    }

    var fullContactInfo = user.user_metadata.fullContactInfo || user.app_metadata.fullContactInfo;

    if (fullContactInfo && fullContactInfo.age) {
        return fullContactInfo.age;
    }
    if (fullContactInfo && fullContactInfo.demographics && fullContactInfo.demographics.age) {
        return fullContactInfo.demographics.age;
    }
    if (fullContactInfo && fullContactInfo.demographics && fullContactInfo.demographics.birthDate) {
        return moment().diff(fullContactInfo.demographics.birthDate, 'years');
    }

    if (user.dateOfBirth) {
        return moment().diff(user.dateOfBirth, 'years');
    }

    if (user.birthday) {
        return moment().diff(user.birthday, 'years');
    }

    return null;
}"""

# getAge is a helper, not a rule: this rule uses it unchanged, with `moment` required beside it.
AGE_RULE = (
    """function (user, context, callback) {
  context.idToken['https://innovashoes.example/age'] = getAge(user);
  callback(null, user, context);
}
var moment = require('moment');
"""
    + GET_AGE
)

SENTIMENT_RULE = """function (user, context, callback) {
  user.app_metadata = user.app_metadata || {};
  if (user.app_metadata.sentiment_initialized) {
    return callback(null, user, context);
  }

  var twitterHandle = getTwitterHandle(user);

  if (!twitterHandle) {
    return callback(null, user, context);
  }

  // You should make your requests over SSL to protect your app secrets.
  request.post({
    url: '%(SENTIMENT_URL)s',
    json: {
      twitterHandle: twitterHandle,
      secretToken: ";ojhsajk;h;Kh:Jh",
    },
    timeout: 15000
  }, function(err, response, body){
    if (err) return callback(new Error(err));
    user.app_metadata.sentiment_initialized = true;
    auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
      .then(function(){
        callback(null, user, context);
      })
      .catch(function(err){
        callback(err);
      });
  });
}

function getTwitterHandle(user) {
    var fullContactInfo = user.user_metadata.fullContactInfo || user.app_metadata.fullContactInfo;
    if (fullContactInfo && fullContactInfo.socialProfiles) {
      for (var key in fullContactInfo.socialProfiles) {
        if (fullContactInfo.socialProfiles[key].type === 'twitter'){
          return fullContactInfo.socialProfiles[key].username;
        }
      }
    }
    return null;
}"""


@pytest.fixture(scope="module")
def fullcontact() -> Iterator[FullContactStandin]:
    server = FullContactStandin().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sentiment() -> Iterator[SentimentStandin]:
    server = SentimentStandin().start()
    yield server
    server.stop()


def _fullcontact_rule(server: FullContactStandin) -> str:
    return FULLCONTACT_RULE % {"FULLCONTACT_URL": server.url + "/v2/person.json"}


async def test_fullcontact_enrichment(runner: RuleRunner, fullcontact: FullContactStandin) -> None:
    outcome = await run(
        runner, _fullcontact_rule(fullcontact), configuration={"FULLCONTACT_KEY": API_KEY},
        allowed_hosts=[fullcontact.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    profile = outcome.user["user_metadata"]["fullcontact"]
    assert profile["demographics"]["gender"] == "Male"
    assert profile["socialProfiles"][0] == {
        "type": "twitter", "typeId": "twitter", "typeName": "Twitter",
        "url": "https://twitter.com/john.doe", "username": "john.doe", "id": "123456",
        "followers": 312, "following": 180,
    }  # fmt: skip
    [update] = outcome.metadata_updates
    assert update.kind == "user_metadata" and update.value["fullcontact"] == profile
    [served] = fullcontact.requests[-1:]
    assert served.query == {"email": "john.doe@innovashoes.example", "apiKey": API_KEY}


@pytest.mark.parametrize(
    ("user_changes", "configuration"),
    [
        ({"email": "nobody@innovashoes.example"}, {"FULLCONTACT_KEY": API_KEY}),  # 404
        ({}, {"FULLCONTACT_KEY": "wrong"}),  # 403
        ({"user_metadata": {"fullcontact": {"cached": True}}}, {"FULLCONTACT_KEY": API_KEY}),
    ],
    ids=["unknown-person", "bad-key", "already-enriched"],
)
async def test_fullcontact_errors_are_swallowed(
    runner: RuleRunner,
    fullcontact: FullContactStandin,
    user_changes: dict[str, object],
    configuration: dict[str, str],
) -> None:
    outcome = await run(
        runner, _fullcontact_rule(fullcontact), user=dict(USER, **user_changes),
        configuration=configuration, allowed_hosts=[fullcontact.host],
    )  # fmt: skip
    assert outcome.status == "continue"
    assert outcome.metadata_updates == []


async def test_fullcontact_refused_host_is_swallowed_too(
    runner: RuleRunner, fullcontact: FullContactStandin
) -> None:
    outcome = await run(
        runner, _fullcontact_rule(fullcontact), configuration={"FULLCONTACT_KEY": API_KEY}
    )
    assert outcome.status == "continue" and outcome.metadata_updates == []


def _years_since(born: date) -> int:
    today = date.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@pytest.mark.parametrize(
    ("user_changes", "expected"),
    [
        ({"age": 33}, 33),
        ({"user_metadata": {"fullContactInfo": {"demographics": {"age": 41}}}}, 41),
        (
            {"user_metadata": {"fullContactInfo": {"demographics": {"birthDate": "1990-04-12"}}}},
            _years_since(date(1990, 4, 12)),
        ),
        ({"birthday": "2000-01-01"}, _years_since(date(2000, 1, 1))),
        ({}, None),
    ],
)
async def test_get_age(runner: RuleRunner, user_changes: dict[str, object], expected: int) -> None:
    outcome = await run(runner, AGE_RULE, user=dict(USER, **user_changes))
    assert outcome.status == "continue", outcome.error
    assert outcome.id_token_claims["https://innovashoes.example/age"] == expected


async def test_twitter_sentiment(
    runner: RuleRunner, fullcontact: FullContactStandin, sentiment: SentimentStandin
) -> None:
    from tests.standins.fullcontact import person

    rule = SENTIMENT_RULE % {"SENTIMENT_URL": sentiment.url + "/analyze"}
    user = dict(USER, app_metadata={"fullContactInfo": person("angry.runner@example.com")})
    outcome = await run(runner, rule, user=user, allowed_hosts=[sentiment.host])
    assert outcome.status == "continue", outcome.error
    assert outcome.user["app_metadata"]["sentiment_initialized"] is True
    [update] = outcome.metadata_updates
    assert update.kind == "app_metadata" and update.value["sentiment_initialized"] is True
    assert sentiment.requests[-1].json() == {
        "twitterHandle": "angry.runner", "secretToken": ";ojhsajk;h;Kh:Jh",
    }  # fmt: skip

    again = await run(runner, rule, user=outcome.user, allowed_hosts=[sentiment.host])
    assert again.metadata_updates == [] and len(sentiment.requests) == 1


async def test_sentiment_api_unreachable_fails_the_login(runner: RuleRunner) -> None:
    from tests.standins.fullcontact import person

    rule = SENTIMENT_RULE % {"SENTIMENT_URL": "http://10.0.0.1/analyze"}
    user = dict(USER, app_metadata={"fullContactInfo": person("a@example.com")})
    outcome = await run(runner, rule, user=user)
    assert outcome.error is not None
    assert "non-public address 10.0.0.1" in outcome.error.message


async def test_the_three_rules_in_one_pipeline(
    runner: RuleRunner, fullcontact: FullContactStandin, sentiment: SentimentStandin
) -> None:
    rules = [
        _fullcontact_rule(fullcontact),
        AGE_RULE,
        SENTIMENT_RULE % {"SENTIMENT_URL": sentiment.url + "/analyze"},
    ]
    outcome = await run(
        runner, *rules, configuration={"FULLCONTACT_KEY": API_KEY},
        allowed_hosts=[fullcontact.host, sentiment.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    assert [r.outcome for r in outcome.records] == ["continue"] * 3
    assert "fullcontact" in outcome.user["user_metadata"]
    assert outcome.id_token_claims == {"https://innovashoes.example/age": None}
