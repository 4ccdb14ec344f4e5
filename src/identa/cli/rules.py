"""`identa rules templates`: list the rule templates, or create a rule from one."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from identa.app import create_container
from identa.core.errors import DomainError
from identa.rules.templates import TEMPLATES, template
from identa.settings import Settings

rules_app = typer.Typer(help="Rules: templates.", no_args_is_help=True)


async def create_from_template(
    settings: Settings, template_id: str, runtime: str, name: str | None, enabled: bool
) -> dict[str, Any]:
    item = template(template_id)
    container, _ = create_container(settings)
    try:
        async with container.unit_of_work() as uow:
            rule = await container.rules.create(
                uow.session,
                name=name or item.id,
                script=item.script(runtime),
                runtime=runtime,
                enabled=enabled,
                fail_open=item.fail_open,
            )
            out = {
                "id": rule.id,
                "name": rule.name,
                "runtime": rule.runtime,
                "order": rule.order,
                "enabled": rule.enabled,
                "fail_open": rule.fail_open,
                "configuration": list(item.configuration),
            }
            await uow.commit()
        return out
    finally:
        await container.close()


@rules_app.command("templates")
def templates(
    create: Annotated[
        str | None, typer.Option("--create", help="Create a rule from this template id.")
    ] = None,
    runtime: Annotated[str, typer.Option(help="python or javascript.")] = "javascript",
    name: Annotated[str | None, typer.Option(help="The new rule's name (default: the id).")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
) -> None:
    """List the templates; with --create ID, create a rule from one."""
    console = Console()
    if create is None:
        table = Table(title="Rule templates")
        table.add_column("id", no_wrap=True)
        for column in ("category", "name", "configuration"):
            table.add_column(column)
        for item in TEMPLATES:
            table.add_row(item.id, item.category, item.name, ", ".join(item.configuration))
        console.print(table)
        return
    if runtime not in ("python", "javascript"):
        raise typer.BadParameter("runtime must be python or javascript")
    try:
        made = asyncio.run(create_from_template(Settings(), create, runtime, name, not disabled))
    except KeyError:
        Console(stderr=True).print(f"[red]No template {create!r}.[/red]")
        raise typer.Exit(1) from None
    except DomainError as exc:
        Console(stderr=True).print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print_json(data=made)
    if made["configuration"]:
        console.print(
            "Set its configuration with PUT /api/v2/rules-configs/{key}: "
            + ", ".join(made["configuration"])
        )
