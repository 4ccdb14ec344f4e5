"""What rules can do, in both runtimes: enrich, add claims, deny, redirect, update metadata."""

from __future__ import annotations

import pytest

from identa.rules.runtime import RuleRunner
from tests.standins.server import StandinServer
from tests.unit.rules.conftest import CONTEXT, run

ENRICH = {
    "python": """
def rule(user, context, configuration, api):
    response = api.http.get(configuration["API"] + "/enrich", params={"email": user["email"]})
    user["user_metadata"]["enrichment"] = response.json()
    user["user_metadata"]["status"] = response.status
    api.users.update_user_metadata(user["user_id"], user["user_metadata"])
""",
    "javascript": """function (user, context, callback) {
  request.get({ url: configuration.API + '/enrich', qs: { email: user.email }, json: true },
    function (err, response, body) {
      if (err) return callback(err);
      user.user_metadata.enrichment = body;
      user.user_metadata.status = response.statusCode;
      auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
        .then(function () { callback(null, user, context); });
    });
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_enrichment_through_the_host_http_client(
    runner: RuleRunner, api_server: StandinServer, runtime: str
) -> None:
    outcome = await run(
        runner, ENRICH[runtime], configuration={"API": api_server.url},
        allowed_hosts=[api_server.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    enrichment = {"email": "john.doe@innovashoes.example", "company": "InnovaShoes", "score": 7}
    assert outcome.user["user_metadata"] == {"enrichment": enrichment, "status": 200}
    [update] = outcome.metadata_updates
    assert (update.user_id, update.kind) == ("auth0|u1", "user_metadata")
    assert update.value["enrichment"] == enrichment


CLAIMS = {
    "python": """
def rule(user, context, configuration, api):
    context["idToken"]["https://innovashoes.example/roles"] = ["buyer"]
    context["accessToken"]["https://innovashoes.example/tier"] = "gold"
""",
    "javascript": """function (user, context, callback) {
  context.idToken['https://innovashoes.example/roles'] = ['buyer'];
  context.accessToken['https://innovashoes.example/tier'] = 'gold';
  callback(null, user, context);
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_claims_added_to_both_tokens(runner: RuleRunner, runtime: str) -> None:
    outcome = await run(runner, CLAIMS[runtime])
    assert outcome.status == "continue"
    assert outcome.id_token_claims == {"https://innovashoes.example/roles": ["buyer"]}
    assert outcome.access_token_claims == {"https://innovashoes.example/tier": "gold"}


DENY = {
    "python": """
def rule(user, context, configuration, api):
    if context["request"]["ip"].startswith("203.0.113."):
        raise api.UnauthorizedError("logins from this network are blocked")
""",
    "javascript": """function (user, context, callback) {
  if (context.request.ip.indexOf('203.0.113.') === 0) {
    return callback(new UnauthorizedError('logins from this network are blocked'));
  }
  callback(null, user, context);
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_deny_stops_the_pipeline(runner: RuleRunner, runtime: str) -> None:
    after = CLAIMS[runtime]
    outcome = await run(runner, DENY[runtime], after)
    assert outcome.status == "deny"
    assert outcome.denied == "logins from this network are blocked"
    assert outcome.denied_by == "rul_0"
    assert [r.outcome for r in outcome.records] == ["deny"]
    assert outcome.id_token_claims == {}


REDIRECT = {
    "python": """
def rule(user, context, configuration, api):
    if context["protocol"] == "redirect-callback":
        context["idToken"]["https://ns/after"] = True
        return
    if context["stats"]["loginsCount"] > 2:
        context["redirect"] = {"url": "https://forms.example/profile"}
""",
    "javascript": """function (user, context, callback) {
  if (context.protocol === 'redirect-callback') {
    context.idToken['https://ns/after'] = true;
    return callback(null, user, context);
  }
  if (context.stats.loginsCount > 2) context.redirect = { url: 'https://forms.example/profile' };
  callback(null, user, context);
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_redirect_stops_and_is_ignored_on_resume(runner: RuleRunner, runtime: str) -> None:
    outcome = await run(runner, REDIRECT[runtime], CLAIMS[runtime])
    assert outcome.status == "redirect"
    assert outcome.redirect_url == "https://forms.example/profile"
    assert len(outcome.records) == 1

    resumed = dict(CONTEXT, protocol="redirect-callback", redirect={"url": "https://x.example"})
    outcome = await run(runner, REDIRECT[runtime], CLAIMS[runtime], context=resumed)
    assert outcome.status == "continue"
    assert outcome.id_token_claims["https://ns/after"] is True
    assert "https://innovashoes.example/roles" in outcome.id_token_claims


APP_METADATA = {
    "python": """
async def rule(user, context, configuration, api):
    user["app_metadata"]["plan"] = "gold"
    await api.users.update_app_metadata(user["user_id"], user["app_metadata"])
    user["app_metadata"]["plan"] = "changed after saving"
""",
    "javascript": """function (user, context, callback) {
  user.app_metadata.plan = 'gold';
  auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
    .then(function () {
      user.app_metadata.plan = 'changed after saving';
      callback(null, user, context);
    })
    .catch(function (err) { callback(err); });
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_metadata_update_keeps_what_was_passed(runner: RuleRunner, runtime: str) -> None:
    outcome = await run(runner, APP_METADATA[runtime])
    assert outcome.status == "continue"
    assert [(u.kind, u.value) for u in outcome.metadata_updates] == [
        ("app_metadata", {"plan": "gold"})
    ]
    assert outcome.merged_metadata() == {"auth0|u1": {"app_metadata": {"plan": "gold"}}}
    assert outcome.user["app_metadata"]["plan"] == "changed after saving"


async def test_rules_see_each_others_changes_across_runtimes(runner: RuleRunner) -> None:
    first = """
def rule(user, context, configuration, api):
    user["nickname"] = "johnny"
    print("python saw", user["email"])
"""
    second = """function (user, context, callback) {
  console.log('js saw', user.nickname, {n: 1});
  context.idToken['https://ns/nick'] = user.nickname.toUpperCase();
  callback(null, user, context);
}"""
    outcome = await run(runner, first, second)
    assert outcome.status == "continue"
    assert outcome.id_token_claims == {"https://ns/nick": "JOHNNY"}
    assert [r.runtime for r in outcome.records] == ["python", "javascript"]
    assert outcome.records[0].console == "python saw john.doe@innovashoes.example\n"
    assert outcome.records[1].console == 'js saw johnny {"n":1}\n'
    assert all(r.duration_ms >= 0 for r in outcome.records)


async def test_console_output_is_truncated(runner: RuleRunner) -> None:
    script = """
def rule(user, context, configuration, api):
    for i in range(2000):
        print("line", i)
"""
    outcome = await run(runner, script)
    record = outcome.records[0]
    assert record.truncated and len(record.console) == 4096


async def test_fetch_and_require_request(runner: RuleRunner, api_server: StandinServer) -> None:
    script = """function (user, context, callback) {
  var req = require('request@2.81.0');
  fetch(configuration.API + '/echo', { method: 'POST', body: JSON.stringify({ a: 1 }),
                                       headers: { 'content-type': 'application/json' } })
    .then(function (res) { return res.json().then(function (b) { return [res.status, b]; }); })
    .then(function (pair) {
      context.idToken['https://ns/fetch'] = pair[0] + ':' + pair[1].received.a;
      req({ url: configuration.API + '/echo', method: 'POST', json: { b: 2 },
            auth: { bearer: 'tok' } }, function (err, response, body) {
        context.idToken['https://ns/request'] =
          response.statusCode + ':' + body.received.b + ':' + body.auth;
        callback(null, user, context);
      });
    });
}"""
    outcome = await run(
        runner, script, configuration={"API": api_server.url}, allowed_hosts=[api_server.host]
    )
    assert outcome.status == "continue", outcome.error
    assert outcome.id_token_claims == {
        "https://ns/fetch": "201:1",
        "https://ns/request": "201:2:Bearer tok",
    }


async def test_redirects_to_allowed_hosts_are_followed(
    runner: RuleRunner, api_server: StandinServer
) -> None:
    script = """
def rule(user, context, configuration, api):
    response = api.http.get(configuration["API"] + "/to-enrich")
    context["idToken"]["https://ns/r"] = [response.status, response.json()["email"], response.url]
"""
    outcome = await run(
        runner, script, configuration={"API": api_server.url}, allowed_hosts=[api_server.host]
    )
    assert outcome.id_token_claims["https://ns/r"] == [200, "r", f"{api_server.url}/enrich?email=r"]


async def test_unsupported_module_is_named(runner: RuleRunner) -> None:
    script = """function (user, context, callback) {
  var _ = require('lodash@4.17.21');
  callback(null, user, context);
}"""
    outcome = await run(runner, script)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "Cannot find module 'lodash@4.17.21'" in outcome.error.message


async def test_global_persists_in_a_worker(runner: RuleRunner) -> None:
    script = """function (user, context, callback) {
  global.logins = (global.logins || 0) + 1;
  context.idToken['https://ns/seen'] = global.logins;
  callback(null, user, context);
}"""
    seen = [(await run(runner, script)).id_token_claims["https://ns/seen"] for _ in range(4)]
    assert max(seen) >= 2


async def test_runtime_detected_from_script(runner: RuleRunner) -> None:
    outcome = await run(runner, CLAIMS["javascript"])
    assert outcome.records[0].runtime == "javascript"
    outcome = await run(runner, CLAIMS["python"])
    assert outcome.records[0].runtime == "python"
