"""Added login latency of running 0, 1 and 5 rules that make no network call, per runtime.

Measures `RuleRunner.run` (what the login pipeline awaits) with a warm worker pool, a realistic
user profile and context, sequentially from one event loop, and compares the p50 per rule with
the 2 ms target of issue #6.

    .venv/bin/python bench/bench_rules.py
    .venv/bin/python bench/bench_rules.py --iterations 2000 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from identa.rules.runtime import RuleRunner, RuleSpec

TARGET_MS_PER_RULE = 2.0

PYTHON_RULE = """
def rule(user, context, configuration, api):
    domain = user["email"].split("@")[1]
    context["idToken"]["https://innovashoes.example/domain%(i)d"] = domain
    if context["stats"]["loginsCount"] > 1000:
        raise api.UnauthorizedError("too many logins")
    user["user_metadata"]["seen%(i)d"] = True
"""
JS_RULE = """function (user, context, callback) {
  var domain = user.email.split('@')[1];
  context.idToken['https://innovashoes.example/domain%(i)d'] = domain;
  if (context.stats.loginsCount > 1000) return callback(new UnauthorizedError('too many logins'));
  user.user_metadata['seen%(i)d'] = true;
  callback(null, user, context);
}"""

USER: dict[str, Any] = {
    "user_id": "auth0|5f7c8ec7c33c6c004bbafe82",
    "email": "john.doe@innovashoes.example",
    "email_verified": True,
    "name": "John Doe",
    "nickname": "johndoe",
    "picture": "https://s.gravatar.com/avatar/abc.png",
    "created_at": "2026-01-18T19:42:11.846Z",
    "updated_at": "2026-11-18T19:42:13.322Z",
    "last_login": "2026-11-18T19:42:13.322Z",
    "logins_count": 12,
    "identities": [
        {"provider": "auth0", "user_id": "5f7c8ec7c33c6c004bbafe82", "connection": "db"}
    ],
    "user_metadata": {"preferences": {"size": 44, "newsletter": True}},
    "app_metadata": {"plan": "gold", "roles": ["buyer"]},
}
CONTEXT: dict[str, Any] = {
    "tenant": "identa",
    "clientID": "k2r0pYb4f6Wq",
    "clientName": "InnovaShoes Store",
    "clientMetadata": {},
    "connection": "db",
    "connectionStrategy": "auth0",
    "protocol": "oidc-basic-profile",
    "stats": {"loginsCount": 12},
    "request": {
        "ip": "203.0.113.5",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
        "hostname": "login.innovashoes.example",
        "query": {"scope": "openid profile email", "response_type": "code"},
        "geoip": {"country_code": "US", "city_name": "Portland", "time_zone": "America/LA"},
    },
    "sessionID": "s_0123456789",
    "idToken": {},
    "accessToken": {},
}


def _rules(runtime: str, count: int) -> list[RuleSpec]:
    template = PYTHON_RULE if runtime == "python" else JS_RULE
    return [
        RuleSpec(id=f"rul_{i}", name=f"bench-{i}", script=template % {"i": i}, runtime=runtime)
        for i in range(count)
    ]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _measure(runner: RuleRunner, rules: list[RuleSpec], iterations: int) -> list[float]:
    for _ in range(max(20, iterations // 10)):  # warm-up: every worker compiles the rules
        await runner.run(rules, dict(USER), dict(CONTEXT), {})
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        outcome = await runner.run(rules, dict(USER), dict(CONTEXT), {})
        samples.append((time.perf_counter() - started) * 1000)
        assert outcome.status == "continue", outcome.error
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    runner = RuleRunner(workers=args.workers)
    started = time.perf_counter()
    await runner.start()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {args.workers} workers "
        f"(started in {(time.perf_counter() - started) * 1000:.0f} ms), "
        f"{args.iterations} sequential runs per row"
    )
    print(f"confinement: {runner.pool.confinement()}\n")
    header = (
        f"{'runtime':<11} {'rules':>5} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} "
        f"{'p50/rule':>9}  target {TARGET_MS_PER_RULE:g} ms/rule"
    )
    print(header)
    print("-" * len(header))
    try:
        for runtime in ("python", "javascript"):
            for count in (0, 1, 5):
                samples = await _measure(runner, _rules(runtime, count), args.iterations)
                p50, p95 = _percentile(samples, 0.5), _percentile(samples, 0.95)
                per_rule = p50 / count if count else 0.0
                verdict = "" if not count else ("ok" if per_rule < TARGET_MS_PER_RULE else "OVER")
                print(
                    f"{runtime:<11} {count:>5} {p50:>8.3f} {p95:>8.3f} "
                    f"{statistics.fmean(samples):>8.3f} {per_rule:>9.3f}  {verdict}"
                )
    finally:
        await runner.aclose()


if __name__ == "__main__":
    asyncio.run(main())
