"""Added latency of the rules pipeline at a real login: 0, 1 and 5 no-network rules per runtime.

Each sample is one password grant (`POST /oauth/token`, grant_type=password) through the ASGI
application in process (httpx ASGITransport, no sockets), on a temporary SQLite database, with a
cheap argon2id cost so that hashing does not drown the figures. The pipeline does what it does at
every login: loads the enabled rules and rules-configs, builds `user` and `context`, runs the
rules in the warm worker pool, applies metadata updates, records the runs on the `s` event and
adds the claims to the tokens. "added" is the p50 against the same login without rules.

    .venv/bin/python bench/bench_rules_login.py
    .venv/bin/python bench/bench_rules_login.py --iterations 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx
from sqlalchemy import update

from identa.app import create_container
from identa.core.context import SYSTEM
from identa.db.migrate import upgrade
from identa.http.asgi import build_asgi
from identa.identity.service import NewDatabaseUser
from identa.provisioning import initialise
from identa.rules.models import Rule
from identa.settings import PasswordHashSettings, Settings

PASSWORD = "Correct-Horse-9"
PYTHON_RULE = """
def rule(user, context, configuration, api):
    domain = user["email"].split("@")[1]
    context["idToken"]["https://innovashoes.example/domain%(i)d"] = domain
    context["accessToken"]["https://innovashoes.example/plan%(i)d"] = "gold"
    if context["stats"]["loginsCount"] < 0:
        raise api.UnauthorizedError("impossible")
    return user, context
"""
JS_RULE = """function (user, context, callback) {
  var domain = user.email.split('@')[1];
  context.idToken['https://innovashoes.example/domain%(i)d'] = domain;
  context.accessToken['https://innovashoes.example/plan%(i)d'] = 'gold';
  if (context.stats.loginsCount < 0) return callback(new UnauthorizedError('impossible'));
  callback(null, user, context);
}"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.get_running_loop().run_in_executor(None, upgrade, url)
        settings = Settings(
            data_dir=Path(tmp),
            database_url=url,
            public_url="http://bench.identa",
            secret_key="bench-secret-key-0123456789",
            environment="test",
            password_hash=PasswordHashSettings(memory_cost_kib=64, time_cost=1),
        )
        container, templates = create_container(settings)
        await initialise(container, migrate=False)
        async with container.unit_of_work() as uow:
            db = uow.session
            made = await container.clients.create(
                db, name="Store", app_type="regular_web", callbacks=["https://s.example/cb"],
                grant_types=["password"],
            )  # fmt: skip
            connection = await container.connections.by_name(db, "Username-Password-Authentication")
            await container.connections.enable_for(db, connection, made.client.client_id)
            client = await container.flows.default_client(db)
            await container.flows.register(
                db, client=client, connection=connection, request=SYSTEM,
                new=NewDatabaseUser(email="john.doe@innovashoes.example", password=PASSWORD),
            )  # fmt: skip
            await uow.commit()
        await container.rule_runner.start()
        app = build_asgi(container, templates, run_workers=False)
        form = {
            "grant_type": "password",
            "client_id": made.client.client_id,
            "client_secret": made.client_secret or "",
            "username": "john.doe@innovashoes.example",
            "password": PASSWORD,
            "scope": "openid",
        }
        transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 5000))
        configs = [("-", 0)] + [(rt, n) for rt in ("python", "javascript") for n in (1, 5)]
        async with container.unit_of_work() as uow:
            for runtime, template in (("python", PYTHON_RULE), ("javascript", JS_RULE)):
                for i in range(5):
                    await container.rules.create(
                        uow.session, name=f"bench-{runtime}-{i}", script=template % {"i": i},
                        runtime=runtime, order=i, enabled=False,
                    )  # fmt: skip
            await uow.commit()
        samples: dict[tuple[str, int], list[float]] = {config: [] for config in configs}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.identa") as http:
            # Rounds interleave the configurations, so that drift and noise hit them all alike.
            for index in range(args.warmup + args.iterations):
                for runtime, count in configs:
                    names = [f"bench-{runtime}-{i}" for i in range(count)]
                    async with container.unit_of_work() as uow:
                        await uow.session.execute(
                            update(Rule).values(enabled=Rule.name.in_(names or ["-"]))
                        )
                        await uow.commit()
                    started = time.perf_counter()
                    response = await http.post("/oauth/token", data=form)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.text
                    if count and index == 0:
                        claims = response.json()["access_token"]
                        assert claims
                    if index >= args.warmup:
                        samples[(runtime, count)].append(elapsed)
        base_p50 = statistics.median(samples[("-", 0)])
        rows = []
        for (runtime, count), values in samples.items():
            p50 = statistics.median(values)
            added = p50 - base_p50
            rows.append(
                (
                    runtime,
                    count,
                    p50,
                    percentile(values, 0.95),
                    added,
                    added / count if count else 0.0,
                )
            )
        await container.close()

    print(
        f"# rules at login (password grant, in process) — {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{args.iterations} logins per row"
    )
    print("| runtime | rules | login p50 ms | login p95 ms | added p50 ms | added per rule ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for runtime, count, p50, p95, added, per_rule in rows:
        print(f"| {runtime} | {count} | {p50:.2f} | {p95:.2f} | {added:.2f} | {per_rule:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
