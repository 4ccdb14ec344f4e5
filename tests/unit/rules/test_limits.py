"""Time, memory and failure limits, worker replacement and concurrency, in both runtimes."""

from __future__ import annotations

import asyncio
import time

import pytest

from identa.rules.runtime import RuleRunner
from tests.standins.server import StandinServer
from tests.unit.rules.conftest import USER, run

INFINITE_LOOP = {
    "python": "def rule(user, context, configuration, api):\n    while True:\n        pass\n",
    "javascript": "function (user, context, callback) { while (true) {} }",
}
SLEEPING = {
    "python": ("import time\ndef rule(user, context, configuration, api):\n    time.sleep(30)\n"),
    "javascript": """function (user, context, callback) {
  setTimeout(function () { callback(null, user, context); }, 30000);
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
@pytest.mark.parametrize("scripts", [INFINITE_LOOP, SLEEPING], ids=["loop", "sleep"])
async def test_time_limit(runner: RuleRunner, runtime: str, scripts: dict[str, str]) -> None:
    started = time.monotonic()
    outcome = await run(runner, scripts[runtime], budget_s=0.5)
    # QuickJS counts CPU time; on a busy machine the server's wall-clock kill (budget + grace)
    # stops the rule instead.
    assert time.monotonic() - started < 2.5
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error.reason == "timeout"
    assert outcome.error.rule_name == "rule-0"
    assert "time limit" in outcome.error.message


async def test_javascript_rule_returning_without_callback(runner: RuleRunner) -> None:
    outcome = await run(runner, "function (user, context, callback) { var x = 1; }")
    assert outcome.error is not None
    assert outcome.error.message == "the rule finished without calling callback"


async def test_slow_host_call_hits_the_budget(
    runner: RuleRunner, api_server: StandinServer
) -> None:
    script = """function (user, context, callback) {
  request.get(configuration.API + '/slow', function (err) { callback(null, user, context); });
}"""
    started = time.monotonic()
    outcome = await run(
        runner, script, budget_s=0.6, configuration={"API": api_server.url},
        allowed_hosts=[api_server.host],
    )  # fmt: skip
    assert time.monotonic() - started < 2
    # The host's request times out with the budget, or the rule does: either way, no hang.
    assert outcome.status in {"continue", "error"}


MEMORY_BOMB = {
    "python": """
def rule(user, context, configuration, api):
    hoard = []
    while True:
        hoard.append(bytearray(10 ** 7))
""",
    "javascript": """function (user, context, callback) {
  var hoard = [];
  while (true) hoard.push(new Array(100000).fill(7));
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_memory_limit(runner: RuleRunner, runtime: str) -> None:
    outcome = await run(runner, MEMORY_BOMB[runtime], budget_s=5)
    assert outcome.error is not None
    assert outcome.error.reason == "memory"
    assert outcome.error.message == "the rule exceeded its memory limit"
    assert (await run(runner, "function (u, c, cb) { cb(null, u, c); }")).status == "continue"


EXCEPTION = {
    "python": "def rule(user, context, configuration, api):\n    return 1 / 0\n",
    "javascript": "function (user, context, callback) { var u = null; u.name = 1; }",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_exception_is_reported_with_the_rule(runner: RuleRunner, runtime: str) -> None:
    ok = "def rule(user, context, configuration, api):\n    pass\n"
    outcome = await run(runner, ok, EXCEPTION[runtime], ok)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert (outcome.error.rule_id, outcome.error.rule_name) == ("rul_1", "rule-1")
    expected = "ZeroDivisionError" if runtime == "python" else "TypeError"
    assert outcome.error.message.startswith(expected)
    assert [r.outcome for r in outcome.records] == ["continue", "error"]
    assert "rule 'rule-1' failed" in str(outcome.error)


async def test_errors_passed_to_callback_and_syntax_errors(runner: RuleRunner) -> None:
    outcome = await run(runner, "function (u, c, cb) { cb(new Error('CRM down')); }")
    assert outcome.error is not None and outcome.error.message == "Error: CRM down"
    outcome = await run(runner, "function (u, c, cb) { cb(null, u, c) ", runtime="javascript")
    assert outcome.error is not None and outcome.error.reason == "syntax"
    outcome = await run(runner, "def rule(user, context:\n  pass", runtime="python")
    assert outcome.error is not None and outcome.error.message.startswith("SyntaxError")
    outcome = await run(runner, "x = 1\n", runtime="python")
    assert outcome.error is not None and "must define rule" in outcome.error.message


async def test_stubborn_rule_kills_the_worker_which_is_replaced(runner: RuleRunner) -> None:
    stubborn = """
def rule(user, context, configuration, api):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
"""
    before = runner.pool.replaced
    outcome = await run(runner, stubborn, budget_s=0.4)
    assert outcome.error is not None
    assert outcome.error.reason == "timeout"
    assert outcome.error.rule_name == "rule-0"
    assert runner.pool.replaced == before + 1
    after = await run(runner, "def rule(user, context, configuration, api):\n    pass\n")
    assert after.status == "continue"
    for _ in range(50):
        if len(runner.pool.idle_pids()) == runner.workers:
            break
        await asyncio.sleep(0.05)
    assert len(runner.pool.idle_pids()) == runner.workers


async def test_many_concurrent_runs(runner: RuleRunner, api_server: StandinServer) -> None:
    python_rule = """
def rule(user, context, configuration, api):
    context["idToken"]["https://ns/echo"] = user["email"].upper()
    if user["user_metadata"].get("call"):
        got = api.http.get(configuration["API"] + "/enrich", params={"email": user["email"]})
        context["idToken"]["https://ns/api"] = got.json()["email"]
"""
    js_rule = """function (user, context, callback) {
  context.accessToken['https://ns/len'] = user.email.length;
  if (!user.user_metadata.call) return callback(null, user, context);
  fetch(configuration.API + '/enrich?email=' + encodeURIComponent(user.email))
    .then(function (r) { return r.json(); })
    .then(function (b) {
      context.accessToken['https://ns/api'] = b.email;
      callback(null, user, context);
    });
}"""

    async def one(i: int) -> None:
        email = f"user{i}@example.com"
        user = dict(USER, email=email, user_metadata={"call": i % 2 == 0})
        outcome = await run(
            runner, python_rule, js_rule, user=user, configuration={"API": api_server.url},
            allowed_hosts=[api_server.host],
        )  # fmt: skip
        assert outcome.status == "continue", outcome.error
        assert outcome.id_token_claims["https://ns/echo"] == email.upper()
        assert outcome.access_token_claims["https://ns/len"] == len(email)
        if i % 2 == 0:
            assert outcome.id_token_claims["https://ns/api"] == email
            assert outcome.access_token_claims["https://ns/api"] == email

    await asyncio.gather(*(one(i) for i in range(50)))
