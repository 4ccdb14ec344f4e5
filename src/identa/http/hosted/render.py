"""Jinja2 rendering for hosted pages and e-mails, branded per application."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from identa.notify.service import RenderedMail

TEMPLATES = Path(__file__).with_name("templates")
_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")
DEFAULT_PRIMARY = "#3a4ccf"


@dataclass(frozen=True)
class Brand:
    tenant_name: str
    application: str
    logo_uri: str | None = None
    primary_color: str = DEFAULT_PRIMARY
    support_email: str | None = None

    @staticmethod
    def safe_color(value: str | None) -> str:
        # Only a plain hex colour reaches the stylesheet: anything else could inject CSS.
        return value if value and _COLOR.match(value) else DEFAULT_PRIMARY

    @staticmethod
    def safe_logo(value: str | None) -> str | None:
        return value if value and value.startswith(("https://", "http://", "/")) else None


class Templates:
    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(["html", "xml"], default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def page(
        self, name: str, *, brand: Brand, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.env.get_template(f"pages/{name}.html").render(brand=brand, **context)
        return HTMLResponse(html, status_code=status_code)


class JinjaMailRenderer:
    """Renders `email/<template>.subject.txt`, `.txt` and `.html`; the notifier's renderer."""

    def __init__(self, templates: Templates) -> None:
        self._env = templates.env

    def render(self, template: str, context: dict[str, Any]) -> RenderedMail:
        subject = self._env.get_template(f"email/{template}.subject.txt").render(**context)
        text = self._env.get_template(f"email/{template}.txt").render(**context)
        html = self._env.get_template(f"email/{template}.html").render(**context)
        return RenderedMail(subject=" ".join(subject.split()), text_body=text, html_body=html)
