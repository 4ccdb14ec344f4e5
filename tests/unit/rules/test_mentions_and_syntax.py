"""Mentions captured by rules in both runtimes, and the save-time compile of rule scripts."""

from __future__ import annotations

import pytest

from identa.rules.runtime import MentionCapture, RuleRunner
from identa.rules.syntax import RuleSyntaxError, check_syntax
from tests.unit.rules.conftest import run

CAPTURE = {
    "python": """
async def rule(user, context, configuration, api):
    await api.mentions.add(user["user_id"], "Great shoes", source="twitter",
                           url="https://social.example/1")
    api.mentions.add("auth0|other", "Meh")
    return user, context
""",
    "javascript": """async function (user, context, callback) {
  await identa.mentions.add(user.user_id, { text: 'Great shoes', source: 'twitter',
                                            url: 'https://social.example/1' });
  await identa.mentions.add('auth0|other', { text: 'Meh' });
  callback(null, user, context);
}""",
}
REFUSED = {
    "python": """
def rule(user, context, configuration, api):
    api.mentions.add(user["user_id"], "x" * 10001)
""",
    "javascript": """function (user, context, callback) {
  identa.mentions.add(user.user_id, { text: 'fine', source: 42 })
    .then(function () { callback(null, user, context); }, callback);
}""",
}


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_rules_capture_mentions(runner: RuleRunner, runtime: str) -> None:
    outcome = await run(runner, CAPTURE[runtime], runtime=runtime)
    assert outcome.status == "continue", outcome.error
    assert outcome.mentions == [
        MentionCapture("auth0|u1", "Great shoes", "twitter", "https://social.example/1"),
        MentionCapture("auth0|other", "Meh", "rule", None),
    ]
    assert outcome.metadata_updates == []


@pytest.mark.parametrize("runtime", ["python", "javascript"])
async def test_bad_mentions_fail_inside_the_rule(runner: RuleRunner, runtime: str) -> None:
    outcome = await run(runner, REFUSED[runtime], runtime=runtime)
    assert outcome.status == "error" and outcome.error is not None
    assert "mention's" in outcome.error.message
    assert outcome.mentions == []


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("function (u, c, cb) {\n  if (u) {\n    cb(null, u, c);\n}", "(at the end of the script)"),
        ("\n\nfunction (u, c, cb) {\n  return 1 +;\n}", "(line 4)"),
        ("function (u, c, cb) { let let = 1; }", "SyntaxError"),
        ("var x = 1;", "must be a function"),
    ],
)
def test_javascript_is_compiled_by_quickjs(script: str, expected: str) -> None:
    with pytest.raises(RuleSyntaxError) as refused:
        check_syntax(script, "javascript")
    assert expected in refused.value.message


def test_compiling_never_runs_the_script() -> None:
    # Would loop forever, or fail, if it ran.
    check_syntax("function (u, c, cb) { while (true) {} }", "javascript")
    check_syntax("async function (u, c, cb) { await null; throw new Error('x'); }", "javascript")
    check_syntax("raise SystemExit(3)\ndef rule(user, context, configuration, api):\n  pass\n",
                 "python")  # fmt: skip


def test_python_is_compiled_not_only_parsed() -> None:
    with pytest.raises(RuleSyntaxError, match="'return' outside function"):
        check_syntax("return 5\ndef rule(u, c, conf, api):\n    pass\n", "python")
    with pytest.raises(RuleSyntaxError, match="'await' outside async function"):
        check_syntax("def rule(u, c, conf, api):\n    await api\n", "python")
    with pytest.raises(RuleSyntaxError, match="must define rule"):
        check_syntax("def other():\n    pass\n", "python")
