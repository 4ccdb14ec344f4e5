"""The composition root: settings in, a ready ASGI application out."""

from __future__ import annotations

from fastapi import FastAPI

from identa.container import Container, build_container
from identa.core.clock import Clock
from identa.http.asgi import build_asgi
from identa.http.hosted.render import JinjaMailRenderer, Templates
from identa.notify.providers import MailProvider
from identa.provisioning import ensure_secret_key
from identa.settings import Settings


def create_container(
    settings: Settings, *, clock: Clock | None = None, mail_provider: MailProvider | None = None
) -> tuple[Container, Templates]:
    templates = Templates()
    secret = (
        settings.secret_key.get_secret_value()
        if settings.secret_key
        else ensure_secret_key(settings.data_dir)
    )
    container = build_container(
        settings,
        renderer=JinjaMailRenderer(templates),
        secret_key=secret,
        clock=clock,
        mail_provider=mail_provider,
    )
    return container, templates


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    mail_provider: MailProvider | None = None,
    run_workers: bool = True,
) -> FastAPI:
    settings = settings or Settings()
    container, templates = create_container(settings, clock=clock, mail_provider=mail_provider)
    return build_asgi(container, templates, run_workers=run_workers)
