"""The rule template catalogue: each template as a Python rule and in Auth0's JavaScript form.

`identa rules templates` lists them; `identa rules templates --create ID` creates one.
"""

from __future__ import annotations

from dataclasses import dataclass

from identa.rules.templates import access, enrich


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    category: str
    description: str
    python: str
    javascript: str
    # rules-configs keys the rule reads (configuration[...]).
    configuration: tuple[str, ...] = ()
    # Enrichment should not block logins: such templates are created fail-open.
    fail_open: bool = False

    def script(self, runtime: str) -> str:
        return self.python if runtime == "python" else self.javascript


TEMPLATES: tuple[Template, ...] = tuple(
    Template(**spec) for spec in (*access.TEMPLATES, *enrich.TEMPLATES)
)


def template(template_id: str) -> Template:
    for item in TEMPLATES:
        if item.id == template_id:
            return item
    raise KeyError(template_id)


__all__ = ["TEMPLATES", "Template", "template"]
