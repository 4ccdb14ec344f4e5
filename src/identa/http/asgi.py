"""Builds the ASGI application around a container: middleware, routers, background workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from identa import __version__
from identa.container import Container
from identa.http import console as staff_console
from identa.http import health
from identa.http.authn import dbconnections, oidc, token
from identa.http.cors import AllowedOrigins, CorsMiddleware
from identa.http.hosted import account, consent, login, rules_pages, social
from identa.http.hosted.common import Hosted
from identa.http.hosted.render import Templates
from identa.http.management import analytics as management_analytics
from identa.http.management import (
    apis,
    blocks_tickets,
    clients,
    connections,
    log_streams,
    logs,
    rules,
    tenant,
)
from identa.http.management import jobs as management_jobs
from identa.http.management import profiling as management_profiling
from identa.http.management import segments as management_segments
from identa.http.management import users as management_users
from identa.http.middleware import RequestContextMiddleware
from identa.jobs.rollup import run_upkeep

STATIC = Path(__file__).with_name("hosted") / "static"


def build_asgi(container: Container, templates: Templates, *, run_workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        if run_workers:
            tasks.append(asyncio.create_task(container.courier.run(stop), name="mail-courier"))
            tasks.append(asyncio.create_task(container.jobs.run(stop), name="jobs-worker"))
            upkeep = container.settings.analytics.upkeep_interval_seconds
            if upkeep > 0:
                tasks.append(
                    asyncio.create_task(
                        run_upkeep(container.sessions, container.clock, upkeep, stop),
                        name="analytics-upkeep",
                    )
                )
            if container.settings.rules.start_in_serve:
                # The rule workers start with the server; container.close() stops them.
                await container.rule_runner.start()
            if container.settings.streams.run_in_serve:
                tasks.append(
                    asyncio.create_task(container.dispatcher.run(stop), name="log-streams")
                )
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                await task
            await container.close()

    app = FastAPI(
        title="Identa",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v2/openapi.json",
    )
    app.state.container = container
    app.state.trust_forwarded = container.settings.trust_forwarded_headers
    app.add_middleware(CorsMiddleware, origins=AllowedOrigins(lambda: _web_origins(container)))
    app.add_middleware(RequestContextMiddleware)

    hosted = Hosted(container, templates)
    app.include_router(health.router(container))
    app.include_router(login.router(hosted))
    app.include_router(social.router(hosted))
    app.include_router(account.router(hosted))
    app.include_router(consent.router(hosted))
    app.include_router(rules_pages.router(hosted))
    app.include_router(dbconnections.router(container))
    app.include_router(oidc.router(hosted))
    app.include_router(token.router(container))
    # Before the users router: its /users/{user_id:path} would take /users/{id}/mentions.
    app.include_router(management_segments.router(container))
    app.include_router(management_analytics.router(container))
    app.include_router(management_users.router(container))
    app.include_router(management_jobs.router(container))
    app.include_router(blocks_tickets.router(container))
    app.include_router(clients.router(container))
    app.include_router(connections.router(container))
    app.include_router(apis.router(container))
    app.include_router(tenant.router(container))
    app.include_router(logs.router(container))
    app.include_router(log_streams.router(container))
    app.include_router(rules.router(container))
    app.include_router(management_profiling.router(container))
    staff_console.install(app, container)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=303, headers={"Location": "/u/account"})

    return app


async def _web_origins(container: Container) -> set[str]:
    async with container.unit_of_work() as uow:
        clients = await container.clients.all(uow.session)
    return {
        origin.rstrip("/")
        for client in clients
        for origin in [*(client.web_origins or []), *(client.allowed_origins or [])]
    }
