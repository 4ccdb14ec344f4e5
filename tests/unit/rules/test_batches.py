"""A worker knows every script of a batch, even the rules a deny or redirect never reached."""

from __future__ import annotations

import copy

from identa.rules.runtime import RuleRunner, RuleSpec
from tests.unit.rules.conftest import CONTEXT, USER

REDIRECT = """function (user, context, callback) {
  if (context.protocol !== 'redirect-callback') context.redirect = { url: 'https://f.example/' };
  callback(null, user, context);
}"""
LATER = """def rule(user, context, configuration, api):
    context["idToken"]["https://x.example/later"] = context["protocol"]
    return user, context
"""


async def test_rules_after_a_redirect_run_in_the_next_batch() -> None:
    runner = RuleRunner(workers=1)  # one worker: the second batch lands where the first ran
    try:
        rules = [RuleSpec("r1", "redirect", REDIRECT), RuleSpec("r2", "later", LATER)]
        first = await runner.run(rules, copy.deepcopy(USER), copy.deepcopy(CONTEXT))
        assert first.redirect_url == "https://f.example/"
        context = dict(first.context, protocol="redirect-callback")
        context.pop("redirect")
        second = await runner.run(rules[1:], first.user, context)
        assert second.status == "continue", second.error
        assert second.id_token_claims["https://x.example/later"] == "redirect-callback"
    finally:
        runner.close()
