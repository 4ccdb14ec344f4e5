"""Latency of a full social login round trip (hosted login page → provider → /login/callback
→ session) against the local stand-in provider, split into Identa's own time and the time
Identa waited for the provider (token exchange, key set, profile: the `upstream_ms` that the
`s` event records) and the browser's hop through the provider's /authorize.

    .venv/bin/python bench/bench_social_login.py [--logins 200]   (SQLite)

Runs the ASGI application in-process (no network between client and Identa), so what it
measures is Identa's work, not uvicorn's; the provider is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.standins.social_providers import StandIn

from identa.app import create_container
from identa.db.migrate import upgrade
from identa.events.models import LogEvent
from identa.http.asgi import build_asgi
from identa.http.hosted.render import Templates
from identa.provisioning import initialise
from identa.settings import Settings

PUBLIC_URL = "http://identa.bench"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(logins: int, database_url: str, data_dir: Path) -> None:
    settings = Settings(
        data_dir=data_dir, database_url=database_url, public_url=PUBLIC_URL,
        secret_key="bench-secret-key-0123456789", environment="test",
    )  # fmt: skip
    container, _ = create_container(settings)
    report = await initialise(container, migrate=False)
    app = build_asgi(container, Templates(), run_workers=False)
    standin = StandIn().start()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with (
        httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as api,
        httpx.AsyncClient() as upstream,
    ):
        token = (
            await api.post(
                "/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": report.management_client_id,
                    "client_secret": report.management_client_secret,
                    "audience": f"{PUBLIC_URL}/api/v2/",
                },
            )
        ).json()["access_token"]
        made = await api.post(
            "/api/v2/connections",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "name": "bench-oidc",
                "strategy": "oidc",
                "options": {
                    "client_id": standin.client_id,
                    "client_secret": standin.client_secret,
                    "discovery_url": f"{standin.url}/.well-known/openid-configuration",
                },
                "enabled_clients": [report.default_client_id],
            },
        )
        assert made.status_code == 201, made.text
        totals, hops = [], []
        for index in range(logins):
            standin.account.sub = f"bench-{index % 20}"
            standin.account.email = f"bench-{index % 20}@example.com"
            api.cookies.clear()
            started = time.perf_counter()
            page = await api.get("/u/login")
            href = re.search(r'data-connection="bench-oidc" href="([^"]+)"', page.text)
            assert href
            hop = await api.get(href.group(1).replace("&amp;", "&"))
            hop_started = time.perf_counter()
            answer = await upstream.get(hop.headers["location"])
            hops.append(time.perf_counter() - hop_started)
            done = await api.get(answer.headers["location"])
            assert done.status_code == 303, done.text
            totals.append(time.perf_counter() - started)
        async with container.unit_of_work() as uow:
            rows = (
                await uow.session.scalars(select(LogEvent.details).where(LogEvent.type == "s"))
            ).all()
        waits = [sum(d.get("upstream_ms", {}).values()) / 1000 for d in rows if d]
    standin.stop()
    await container.close()
    upstream_total = [w + h for w, h in zip(waits, hops, strict=False)]
    own = [t - u for t, u in zip(totals, upstream_total, strict=False)]
    print(f"{logins} social logins (oidc, stand-in provider), milliseconds:")
    for label, values in (
        ("round trip", totals),
        ("  Identa's own time", own),
        ("  upstream: token/keys/profile", waits),
        ("  upstream: browser at /authorize", hops),
    ):
        ms = [v * 1000 for v in values]
        print(
            f"{label:34} median {statistics.median(ms):7.2f}  p95 {pct(ms, 0.95):7.2f}"
            f"  max {max(ms):7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        asyncio.run(run(args.logins, url, Path(tmp) / "data"))


if __name__ == "__main__":
    main()
