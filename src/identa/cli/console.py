"""`identa console staff create|list`, and the console administrators `init` and `demo` make."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from identa.app import create_container
from identa.console.bootstrap import (
    ADMIN_FILE,
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_FILE,
    FIRST_ADMIN_EMAIL,
    AdminCredentials,
    ensure_admin,
)
from identa.console.errors import InvalidStaff, StaffExists
from identa.console.models import ROLES
from identa.console.service import ConsoleServices, StaffService
from identa.core.clock import iso
from identa.settings import Settings

console_app = typer.Typer(help="The staff console at /console.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts of the console.", no_args_is_help=True)
console_app.add_typer(staff_app, name="staff")
err = Console(stderr=True)


async def run_create_staff(
    settings: Settings, *, email: str, role: str, password: str, name: str | None
) -> dict[str, Any]:
    container, _ = create_container(settings)
    try:
        staff = StaffService(container.clock, container.hasher)
        async with container.unit_of_work() as uow:
            made = await staff.create(
                uow.session, email=email, role=role, password=password, name=name
            )
            out = {"id": made.id, "email": made.email, "name": made.name, "role": made.role}
            await uow.commit()
        return out
    finally:
        await container.close()


async def run_list_staff(settings: Settings) -> list[dict[str, Any]]:
    container, _ = create_container(settings)
    try:
        staff = StaffService(container.clock, container.hasher)
        async with container.unit_of_work() as uow:
            return [
                {
                    "id": s.id,
                    "email": s.email,
                    "name": s.name,
                    "role": s.role,
                    "created_at": iso(s.created_at),
                    "last_login_at": iso(s.last_login_at),
                    "disabled": s.disabled,
                }
                for s in await staff.list(uow.session)
            ]
    finally:
        await container.close()


async def run_ensure_admin(settings: Settings, *, demo: bool) -> AdminCredentials | None:
    """The deployment's first admin (only when there is no staff yet), or the demo's admin."""
    container, _ = create_container(settings)
    try:
        services = ConsoleServices(container.clock, container.hasher)
        async with container.unit_of_work() as uow:
            made = await ensure_admin(
                uow.session,
                services.staff,
                email=DEMO_ADMIN_EMAIL if demo else FIRST_ADMIN_EMAIL,
                name="InnovaShoes admin" if demo else "Administrator",
                path=settings.data_dir / (DEMO_ADMIN_FILE if demo else ADMIN_FILE),
                only_if_no_staff=not demo,
            )
            await uow.commit()
        return made
    finally:
        await container.close()


@staff_app.command("create")
def staff_create(
    email: Annotated[str, typer.Option(help="The staff member's e-mail (their login).")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
    password: Annotated[
        str | None, typer.Option(help="Password, at least 12 characters (asked for when omitted).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create a staff account for the console."""
    if role not in ROLES:
        raise typer.BadParameter(f"choose one of {', '.join(ROLES)}", param_hint="--role")
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        made = asyncio.run(
            run_create_staff(Settings(), email=email, role=role, password=password, name=name)
        )
    except (InvalidStaff, StaffExists) as exc:
        raise SystemExit(f"error: {exc.message}") from exc
    typer.echo(json.dumps(made))


@staff_app.command("list")
def staff_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the console's staff accounts."""
    rows = asyncio.run(run_list_staff(Settings()))
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        err.print("no staff accounts (create one with `identa console staff create`)")
        return
    table = Table("email", "name", "role", "created", "last login", "disabled")
    for row in rows:
        table.add_row(
            row["email"],
            row["name"],
            row["role"],
            row["created_at"] or "",
            row["last_login_at"] or "never",
            "yes" if row["disabled"] else "",
        )
    Console().print(table)


def describe_admin(settings: Settings, made: AdminCredentials | None, *, show: bool) -> str:
    """One line for the start-up banner: the console and whom to log in as."""
    url = f"{settings.public_url}/console/"
    if made is None:
        return f"staff console:      {url}"
    if show and made.password:
        return f"staff console:      {url} (log in as {made.email}, password {made.password})"
    return f"staff console:      {url} (log in as {made.email}; password in {made.path})"
