"""`identa`: serve, init, migrate, and customer administration from the shell."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
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
streams_app = typer.Typer(help="Log streams: delivery status.", no_args_is_help=True)
app.add_typer(streams_app, name="streams")
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
    from identa.cli.console import describe_admin, run_ensure_admin
    from identa.cli.runtime import run_init

    settings = Settings()
    report = asyncio.run(run_init(settings))
    admin = asyncio.run(run_ensure_admin(settings, demo=False))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "client_id": report.management_client_id,
                    "client_secret": report.management_client_secret,
                    "audience": f"{settings.public_url}/api/v2/",
                    "token_endpoint": f"{settings.public_url}/oauth/token",
                    "default_client_id": report.default_client_id,
                    "console_admin": (
                        {"email": admin.email, "password": admin.password} if admin else None
                    ),
                }
            )
        )
        return
    for item in report.created or ["nothing: already initialised"]:
        console.print(f"created {item}")
    if admin is not None and admin.created:
        console.print(f"created console administrator {admin.email}")
    console.print(f"management client: [bold]{report.management_client_id}[/bold]")
    console.print(describe_admin(settings, admin, show=False))


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
    from identa.cli.console import describe_admin, run_ensure_admin

    admin = asyncio.run(run_ensure_admin(settings, demo=False))
    if report.created:
        console.print(f"[green]Initialised Identa in {settings.data_dir.resolve()}[/green]")
        for item in report.created:
            console.print(f"  created {item}")
    console.print(
        f"Identa {__version__} on {settings.public_url}\n"
        f"  sign up or log in:  {settings.public_url}/u/signup  ·  {settings.public_url}/u/login\n"
        f"  your account:       {settings.public_url}/u/account\n"
        f"  management client:  {report.management_client_id} "
        f"(secret in {settings.data_dir / 'bootstrap-client.json'})\n"
        f"  {describe_admin(settings, admin, show=False)}"
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


@users_app.command("import")
def users_import(
    file: Annotated[Path, typer.Argument(help="Users in Auth0's import format (a JSON array).")],
    connection: Annotated[str, typer.Option(help="Database connection, by name or id.")],
    upsert: Annotated[
        bool, typer.Option("--upsert", help="Update existing users (upsertable fields only).")
    ] = False,
) -> None:
    """Import users from a file, as POST /api/v2/jobs/users-imports does (with a progress bar)."""
    from identa.cli.jobs import JobCommandError, run_users_import

    try:
        job, errors = asyncio.run(
            run_users_import(
                Settings(), file.read_bytes(), connection=connection, upsert=upsert, console=console
            )
        )
    except JobCommandError as exc:
        raise SystemExit(f"error: {exc}") from exc
    typer.echo(json.dumps(job))
    for item in errors[:20]:
        problems = "; ".join(f"{e['code']}: {e['message']}" for e in item["errors"])
        console.print(f"[red]refused[/red] {json.dumps(item['user'])[:120]}: {problems}")
    if len(errors) > 20:
        console.print(f"… and {len(errors) - 20} more refused record(s)")
    if job["status"] == "failed":
        raise typer.Exit(1)


@users_app.command("export")
def users_export(
    connection: Annotated[
        str | None, typer.Option(help="Only users of this connection (name or id).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="json (NDJSON) or csv.")] = "json",
    fields: Annotated[
        str | None,
        typer.Option(help="Comma-separated fields, each `name` or `name=export_as`."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Export at most this many users.")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write here (gzip if it ends in .gz); default stdout.")
    ] = None,
) -> None:
    """Export users as NDJSON or CSV, as POST /api/v2/jobs/users-exports does."""
    from identa.cli.jobs import JobCommandError, parse_fields, run_users_export

    sink = output.open("wb") if output else sys.stdout.buffer
    try:
        job = asyncio.run(
            run_users_export(
                Settings(),
                connection=connection,
                fmt=format,
                fields=parse_fields(fields),
                limit=limit,
                sink=sink,
                compressed=output is not None and output.suffix == ".gz",
                console=console,
            )
        )
    except JobCommandError as exc:
        raise SystemExit(f"error: {exc}") from exc
    finally:
        if output:
            sink.close()
    console.print(f"exported {job.get('percentage_done', 100)}% · job {job['id']}")


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


@app.command()
def worker() -> None:
    """Deliver the outbox to the log streams (as `identa serve` does unless
    IDENTA_STREAMS__RUN_IN_SERVE=false); run as many as you like."""
    from identa.cli.streams import run_worker
    from identa.http.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(run_worker(settings, console))


@streams_app.command("status")
def streams_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Each stream: type, status, last delivered id, lag, failures, dead letters."""
    from identa.cli.streams import status_table, stream_status

    rows = asyncio.run(stream_status(Settings()))
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        console.print("no log streams (create one with POST /api/v2/log-streams)")
        return
    Console().print(status_table(rows))


@streams_app.command("flush")
def streams_flush() -> None:
    """Deliver everything that can be delivered now, then exit."""
    from identa.cli.streams import run_flush

    asyncio.run(run_flush(Settings()))


analytics_app = typer.Typer(help="Customer analytics rollups.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many customers to create.", min=1)] = 50_000,
) -> None:
    """Load the InnovaShoes demo data set (customers, a year of logins, mentions); once."""
    from identa.cli.insight import run_demo
    from identa.jobs.demo import DemoAlreadyLoaded

    try:
        report = asyncio.run(run_demo(Settings(), customers, console.print))
    except DemoAlreadyLoaded as exc:
        raise SystemExit(f"error: {exc}") from exc
    console.print(
        f"[green]demo loaded[/green]: {report.customers} customers, {report.events} log events, "
        f"{report.mentions} mentions in {report.seconds} s"
    )
    from identa.cli.console import describe_admin, run_ensure_admin

    settings = Settings()
    console.print(
        describe_admin(settings, asyncio.run(run_ensure_admin(settings, demo=True)), show=True)
    )


@analytics_app.command("rollup")
def analytics_rollup(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Recompute every counter from the login facts.")
    ] = False,
) -> None:
    """Roll up new login events and store today's segment counts (run daily, or more often)."""
    from identa.cli.insight import run_rollup

    events, counted = asyncio.run(run_rollup(Settings(), rebuild=rebuild))
    console.print(f"rolled up {events} event(s); counted {counted} segment(s)")


def main() -> None:
    app()


from identa.cli.rules import rules_app  # noqa: E402

app.add_typer(rules_app, name="rules")

from identa.cli.console import console_app  # noqa: E402

app.add_typer(console_app, name="console")
