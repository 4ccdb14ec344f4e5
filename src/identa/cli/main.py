"""`identa`: serve, init, migrate, and customer administration from the shell."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console

from identa import __version__
from identa.settings import Settings

app = typer.Typer(
    help="Identa: self-hosted customer identity, compatible with Auth0.",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Manage customers.", no_args_is_help=True)
app.add_typer(users_app, name="users")
keys_app = typer.Typer(help="Manage token signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"identa {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Identa command line."""


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from identa.db.migrate import upgrade

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    console.print("[green]Database is up to date.[/green]")


@app.command()
def init(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the management client as JSON.")
    ] = False,
) -> None:
    """Set up (or check) this deployment: migrations, keys, default connection and applications."""
    from identa.cli.runtime import run_init

    settings = Settings()
    report = asyncio.run(run_init(settings))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "client_id": report.management_client_id,
                    "client_secret": report.management_client_secret,
                    "audience": f"{settings.public_url}/api/v2/",
                    "token_endpoint": f"{settings.public_url}/oauth/token",
                    "default_client_id": report.default_client_id,
                }
            )
        )
        return
    for item in report.created or ["nothing: already initialised"]:
        console.print(f"created {item}")
    console.print(f"management client: [bold]{report.management_client_id}[/bold]")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default: the public URL's host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen port (default: the public URL's port).")
    ] = None,
) -> None:
    """Run the server. An empty data directory is initialised first."""
    import uvicorn

    from identa.app import create_app
    from identa.cli.runtime import run_init
    from identa.http.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    report = asyncio.run(run_init(settings))
    if report.created:
        console.print(f"[green]Initialised Identa in {settings.data_dir.resolve()}[/green]")
        for item in report.created:
            console.print(f"  created {item}")
    console.print(
        f"Identa {__version__} on {settings.public_url}\n"
        f"  sign up or log in:  {settings.public_url}/u/signup  ·  {settings.public_url}/u/login\n"
        f"  your account:       {settings.public_url}/u/account\n"
        f"  management client:  {report.management_client_id} "
        f"(secret in {settings.data_dir / 'bootstrap-client.json'})"
    )
    uvicorn.run(
        create_app(settings),
        host=host or settings.listen_host,
        port=port or settings.listen_port,
        log_config=None,
        access_log=False,
        proxy_headers=settings.trust_forwarded_headers,
    )


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="E-mail address.")],
    password: Annotated[str | None, typer.Option(help="Password (asked for when omitted).")] = None,
    connection: Annotated[
        str, typer.Option(help="Database connection.")
    ] = "Username-Password-Authentication",
    username: Annotated[
        str | None, typer.Option(help="Username, if the connection uses them.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    verified: Annotated[
        bool, typer.Option("--verified", help="Mark the e-mail as verified.")
    ] = False,
) -> None:
    """Create a customer on a database connection."""
    from identa.cli.runtime import run_create_user

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = asyncio.run(
        run_create_user(
            Settings(),
            email=email,
            password=password,
            connection=connection,
            username=username,
            name=name,
            verified=verified,
        )
    )
    typer.echo(json.dumps(user))


@users_app.command("unblock")
def users_unblock(
    identifier: Annotated[str, typer.Argument(help="The user_id, e-mail or username.")],
) -> None:
    """Lift brute-force blocks for a customer (every IP)."""
    from identa.cli.runtime import run_unblock

    released = asyncio.run(run_unblock(Settings(), identifier))
    console.print(f"released {released} block(s)")


@keys_app.command("rotate")
def keys_rotate(
    alg: Annotated[str, typer.Option(help="RS256, ES256 or EdDSA.")] = "RS256",
) -> None:
    """Sign with a new key; the old one stays published until its tokens have expired."""
    from identa.cli.runtime import run_rotate_key
    from identa.oidc.keys import SUPPORTED_ALGORITHMS

    if alg not in SUPPORTED_ALGORITHMS:
        raise typer.BadParameter(
            f"choose one of {', '.join(SUPPORTED_ALGORITHMS)}", param_hint="--alg"
        )
    kid = asyncio.run(run_rotate_key(Settings(), alg))
    console.print(f"new {alg} signing key: [bold]{kid}[/bold]")


def main() -> None:
    app()
