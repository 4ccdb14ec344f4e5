"""Builds the ASGI application around a container: middleware, routers, background workers."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from identa import __version__
from identa.container import Container
from identa.http import health
from identa.http.authn import dbconnections
from identa.http.hosted import account, login
from identa.http.hosted.common import Hosted
from identa.http.hosted.render import Templates
from identa.http.logs import request_id_var

log = logging.getLogger("identa.http")
STATIC = Path(__file__).with_name("hosted") / "static"


def build_asgi(container: Container, templates: Templates, *, run_workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        if run_workers:
            tasks.append(asyncio.create_task(container.courier.run(stop), name="mail-courier"))
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

    @app.middleware("http")
    async def request_id_and_access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = (
            incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            try:
                response = await call_next(request)
            except Exception:
                # Never a stack trace to the client: an id that is in the log instead.
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                response = JSONResponse(
                    {
                        "statusCode": 500,
                        "error": "Internal Server Error",
                        "message": f"An internal error occurred (request id {request_id}).",
                        "errorCode": "internal_error",
                    },
                    status_code=500,
                )
            response.headers["X-Request-Id"] = request_id
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            if response.headers.get("content-type", "").startswith("text/html"):
                response.headers.setdefault("X-Frame-Options", "DENY")
                response.headers.setdefault(
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
                    "form-action 'self' http: https:; frame-ancestors 'none'",
                )
            log.info(
                "%s %s %s",
                request.method,
                request.url.path,
                response.status_code,
                extra={
                    "http_method": request.method,
                    "http_path": request.url.path,
                    "http_status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)

    hosted = Hosted(container, templates)
    app.include_router(health.router(container))
    app.include_router(login.router(hosted))
    app.include_router(account.router(hosted))
    app.include_router(dbconnections.router(container))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=303, headers={"Location": "/u/account"})

    return app
