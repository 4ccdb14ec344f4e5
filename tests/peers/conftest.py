"""Peers: the real server, started as `identa serve` in a subprocess, driven by real clients.

`live_server` starts one server per test module on a free port with its own data directory, and
reads the e-mails it sends from its JSON log (the console mail provider). Its database is a copy
of one migrated once per session (`migrated_template`). With
IDENTA_TEST_DATABASE=postgresql the server gets a fresh PostgreSQL database on the server at
IDENTA_TEST_POSTGRES_URL, dropped afterwards. Browser tests need Debian's chromium at
/usr/bin/chromium; without it they skip, unless IDENTA_REQUIRE_SERVICES=1, in which case they fail.

`LiveServer.provision` creates applications and users through the product's services
(tests/peers/provision.py, run with the server's environment). `HostedLogin` walks /authorize and
the hosted login page with httpx and hands back the callback URL to the relying party under test;
`verified_claims` checks a JWT against the live JWKS.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DATABASE_CONNECTION = "Username-Password-Authentication"
POSTGRES_ADMIN_URL = os.environ.get(
    "IDENTA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PROVISION_SCRIPT = Path(__file__).with_name("provision.py")
_LINK = re.compile(r"https?://[^\s<>\"']+")
T = TypeVar("T")


def require_services() -> bool:
    return os.environ.get("IDENTA_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> NoReturn:
    if require_services():
        pytest.fail(f"{reason} (IDENTA_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


def database_kind() -> str:
    return os.environ.get("IDENTA_TEST_DATABASE", "sqlite").lower()


def unique_email(prefix: str = "peer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


# -- PostgreSQL --------------------------------------------------------------------------------


def _run_outside_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """asyncio.run in a worker thread: Playwright's sync API keeps an event loop running in
    this thread while browser fixtures are alive."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def _call_outside_loop(call: Callable[[], T]) -> T:
    """`call()` in a worker thread, for the same reason as `_run_outside_loop`."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


async def _admin(statement: str) -> None:
    engine = create_async_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 10}
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@dataclass
class PostgresDatabase:
    name: str

    @property
    def url(self) -> str:
        return (
            make_url(POSTGRES_ADMIN_URL)
            .set(database=self.name)
            .render_as_string(hide_password=False)
        )

    @classmethod
    def create(cls, template: str | None = None) -> PostgresDatabase:
        """A new database, empty or a copy of `template` (which nobody may be connected to)."""
        name = f"identa_peer_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        try:
            _run_outside_loop(_admin(f'CREATE DATABASE "{name}"{copy}'))
        except (OSError, SQLAlchemyError) as exc:
            skip_or_fail(
                f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}"
            )
        return cls(name)

    def drop(self) -> None:
        _run_outside_loop(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


# -- the server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMail:
    """One e-mail as the console provider logged it."""

    to: str
    subject: str
    text: str

    @property
    def links(self) -> list[str]:
        return _LINK.findall(self.text)


@dataclass(frozen=True)
class AppSpec:
    """An application to create; `management_scopes` adds a client grant for the Management API."""

    name: str
    app_type: str = "regular_web"
    callbacks: list[str] = field(default_factory=list)
    allowed_logout_urls: list[str] = field(default_factory=list)
    grant_types: list[str] | None = None
    token_endpoint_auth_method: str | None = None
    web_origins: list[str] = field(default_factory=list)
    connection: str | None = DATABASE_CONNECTION
    management_scopes: list[str] | None = None


@dataclass(frozen=True)
class UserSpec:
    email: str
    password: str
    name: str | None = None


@dataclass(frozen=True)
class App:
    client_id: str
    client_secret: str | None
    callbacks: list[str]
    allowed_logout_urls: list[str]

    @property
    def callback(self) -> str:
        return self.callbacks[0]


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    password: str


@dataclass(frozen=True)
class Provisioned:
    apps: list[App]
    users: list[User]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def identa_command() -> list[str]:
    script = Path(sys.executable).with_name("identa")
    if script.exists():
        return [str(script)]
    found = shutil.which("identa")
    if found is None:
        pytest.fail("the `identa` console script is not installed next to this Python")
    return [found]


@dataclass
class LiveServer:
    """A running `identa serve`, its data directory, log and the ids `identa init` reported."""

    url: str
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    database_url: str | None = None
    default_client_id: str = ""
    management_client_id: str = ""
    management_client_secret: str = ""
    process: subprocess.Popen[bytes] | None = None
    _claimed: set[int] = field(default_factory=set)
    _log_handle: IO[bytes] | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`: what Auth0's SDKs call the domain."""
        return f"127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """The OIDC issuer: the public URL with a trailing slash, as Auth0 publishes it."""
        return f"{self.url}/"

    @property
    def management_audience(self) -> str:
        return f"{self.url}/api/v2/"

    # -- lifecycle ---------------------------------------------------------------------------

    def initialise(self) -> None:
        """`identa init --json`: migrations, default application and connection; keeps the ids.

        The command runs in this process (Click's runner, with the server's environment and
        none of ours): the same code as the console script without a second interpreter start.
        """
        from typer.testing import CliRunner

        from identa.cli.main import app

        ours = {key: None for key in os.environ if key.startswith("IDENTA_")}
        env: dict[str, str | None] = {**ours, **self.env}
        done = _call_outside_loop(
            lambda: CliRunner().invoke(app, ["init", "--json"], env=env, catch_exceptions=True)
        )
        if done.exit_code != 0:
            problem = "".join(traceback.format_exception(done.exception)) if done.exception else ""
            pytest.fail(
                f"`identa init --json` failed with exit code {done.exit_code}:\n"
                f"{(done.output + problem)[-4000:]}"
            )
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        self.default_client_id = str(report["default_client_id"])
        self.management_client_id = str(report["client_id"])
        self.management_client_secret = str(report.get("client_secret") or "")

    def provision(
        self, apps: Sequence[AppSpec] = (), users: Sequence[UserSpec] = ()
    ) -> Provisioned:
        """Creates applications and users through the product's services (tests/peers/provision.py).

        In this process, with the server's settings, in one unit of work; the server sees them at
        once (they share the database). Users are created with a verified e-mail.
        """
        from tests.peers.provision import provision, settings_from

        request = {"apps": [asdict(app) for app in apps], "users": [asdict(u) for u in users]}
        try:
            answer = _call_outside_loop(
                lambda: asyncio.run(provision(request, settings_from(self.env)))
            )
        except Exception as exc:  # the product refused: show why, as the subprocess did
            problem = "".join(traceback.format_exception(exc))
            pytest.fail(f"provisioning failed:\n{problem[-4000:]}")
        return Provisioned(
            apps=[
                App(
                    client_id=str(made["client_id"]),
                    client_secret=made["client_secret"],
                    callbacks=list(spec.callbacks),
                    allowed_logout_urls=list(spec.allowed_logout_urls),
                )
                for spec, made in zip(apps, answer["apps"], strict=True)
            ],
            users=[
                User(user_id=str(made["user_id"]), email=spec.email, password=spec.password)
                for spec, made in zip(users, answer["users"], strict=True)
            ],
        )

    def start(self) -> None:
        self._log_handle = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*identa_command(), "serve"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    self.stop()
                    pytest.fail(
                        f"`identa serve` exited with code {code} before it was ready; "
                        f"log tail:\n{self.log_tail()}"
                    )
                try:
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(
                        f"`identa serve` did not answer 200 on {self.url}/readyz within "
                        f"{READY_TIMEOUT:.0f} s; log tail:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def assert_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            pytest.fail(f"`identa serve` is not running; log tail:\n{self.log_tail()}")

    # -- the log -----------------------------------------------------------------------------

    def log_lines(self) -> list[str]:
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_lines()[-lines:]) or "(the log is empty)"

    def log_records(self) -> list[dict[str, Any]]:
        """Every JSON object in the log; other lines (the start-up banner) are skipped."""
        records: list[dict[str, Any]] = []
        for line in self.log_lines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line still being written
            if isinstance(record, dict):
                records.append(record)
        return records

    def mails(self) -> list[SentMail]:
        """The e-mails sent so far, oldest first."""
        return [
            SentMail(
                to=str(record.get("mail_to", "")),
                subject=str(record.get("mail_subject", "")),
                text=str(record.get("mail_text", "")),
            )
            for record in self.log_records()
            if record.get("logger") == "identa.mail" and "mail_to" in record
        ]

    def wait_for_mail(self, to: str, subject_contains: str, timeout: float = 10.0) -> str:
        """The link in the oldest e-mail to `to` with that subject not returned before."""
        deadline = time.monotonic() + timeout
        while True:
            for index, mail in enumerate(self.mails()):
                if (
                    index not in self._claimed
                    and mail.to.casefold() == to.casefold()
                    and subject_contains.casefold() in mail.subject.casefold()
                ):
                    links = [link for link in mail.links if link.startswith(self.url)]
                    assert links, f"no link to {self.url} in the e-mail:\n{mail.text}"
                    self._claimed.add(index)
                    return links[0]
            if time.monotonic() > deadline:
                sent = "\n".join(f"  {m.to}: {m.subject}" for m in self.mails()) or "  (none)"
                raise AssertionError(
                    f"no e-mail to {to} with {subject_contains!r} in its subject within "
                    f"{timeout:.0f} s; e-mails sent:\n{sent}\nlog tail:\n{self.log_tail()}"
                )
            time.sleep(0.1)


def _server_env(data_dir: Path, url: str, database_url: str | None) -> dict[str, str]:
    # Nothing from the developer's own IDENTA_* settings may leak into the server under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTA_")}
    env.update(
        IDENTA_DATA_DIR=str(data_dir),
        IDENTA_PUBLIC_URL=url,
        IDENTA_MAIL__PROVIDER="console",
        IDENTA_LOG_FORMAT="json",
        IDENTA_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["IDENTA_DATABASE_URL"] = database_url
    return env


@dataclass(frozen=True)
class MigratedTemplate:
    """An empty database at the newest migration, copied for each live server: a SQLite file, or
    a PostgreSQL database nobody connects to (CREATE DATABASE … TEMPLATE needs that)."""

    sqlite_file: Path | None = None
    postgres_name: str | None = None


def _migrate(url: str) -> None:
    from identa.db.migrate import upgrade

    _call_outside_loop(lambda: upgrade(url))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplate]:
    """Migrations run once per session; each server's `identa init` then finds them done."""
    if database_kind() == "postgresql":
        database = PostgresDatabase.create()
        try:
            _migrate(database.url)
            yield MigratedTemplate(postgres_name=database.name)
        finally:
            database.drop()
    else:
        path = tmp_path_factory.mktemp("identa-peer-template") / "identa.db"
        _migrate(f"sqlite+aiosqlite:///{path}")
        yield MigratedTemplate(sqlite_file=path)


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: MigratedTemplate
) -> Iterator[LiveServer]:
    """One `identa serve` per test module; each test makes its own users, with unique e-mails."""
    database = (
        PostgresDatabase.create(template=migrated_template.postgres_name)
        if database_kind() == "postgresql"
        else None
    )
    root = tmp_path_factory.mktemp("identa-peer")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = root / "data"
    if migrated_template.sqlite_file is not None:
        # Where the server keeps its SQLite database when IDENTA_DATABASE_URL is not set.
        data_dir.mkdir(parents=True)
        shutil.copyfile(migrated_template.sqlite_file, data_dir / "identa.db")
    server = LiveServer(
        url=url,
        port=port,
        data_dir=data_dir,
        log_path=root / "identa.log",
        env=_server_env(data_dir, url, database.url if database else None),
        database_url=database.url if database else None,
    )
    try:
        server.initialise()
        server.start()
        yield server
    finally:
        server.stop()
        if database is not None:
            database.drop()


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    """The module's server, checked to be still running before each test."""
    live_server.assert_running()
    return live_server


# -- tokens ------------------------------------------------------------------------------------


def verified_claims(server: LiveServer, token: str, **expected: Any) -> dict[str, Any]:
    """A JWT's claims after checking its RS256 signature against the live JWKS and `expected`.

    `iss` (the issuer, with its trailing slash), `exp` and `iat` are always required; each
    keyword names another claim and its required value (None: the claim must merely be there).
    """
    keys = KeySet.import_key_set(httpx.get(f"{server.url}/.well-known/jwks.json").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": server.issuer},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    for name, value in expected.items():
        options[name] = (
            {"essential": True} if value is None else {"essential": True, "value": value}
        )
    jwt.JWTClaimsRegistry(**options).validate(decoded.claims)
    return dict(decoded.claims)


# -- a headless browser for /authorize (httpx) -------------------------------------------------


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(
                HtmlForm(named.get("action", ""), named.get("method", "get").lower(), {})
            )
        elif tag == "input" and self.forms and named.get("name"):
            self.forms[-1].fields[named["name"]] = named.get("value", "")


def html_forms(html: str) -> list[HtmlForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class HostedLogin:
    """Walks /authorize like a browser, through the hosted login page, to the app's callback.

    The callback itself is never requested: `authorize` returns its URL (with code, state and
    iss) for the relying party under test. Cookies are kept, so a second call rides the session.
    """

    MAX_STEPS = 12

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = httpx.Client(timeout=10.0)
        self.login_pages = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HostedLogin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ours(self, url: str) -> bool:
        return url.startswith(self.server.url + "/")

    def authorize(self, url: str, email: str | None = None, password: str | None = None) -> str:
        """The callback URL the server finally redirects to; logs in when it asks for it."""
        response = self.http.get(url)
        for _ in range(self.MAX_STEPS):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if not self._ours(target):
                    return target
                response = self.http.get(target)
                continue
            login = self._login_form(response)
            if response.status_code == 200 and login is not None:
                if email is None or password is None:
                    raise AssertionError(f"the server asked for a login at {response.url}")
                if self.login_pages:
                    raise AssertionError(
                        f"the login was refused; the page says:\n{page_text(response.text)}"
                    )
                self.login_pages += 1
                response = self.http.post(
                    urljoin(str(response.url), login.action),
                    data={**login.fields, "username": email, "password": password},
                )
                continue
            raise AssertionError(
                f"unexpected {response.status_code} at {response.url}:\n{page_text(response.text)}"
            )
        raise AssertionError(f"more than {self.MAX_STEPS} steps from {url}")

    @staticmethod
    def _login_form(response: httpx.Response) -> HtmlForm | None:
        if "html" not in response.headers.get("content-type", ""):
            return None
        for form in html_forms(response.text):
            if form.method == "post" and "password" in form.fields and "username" in form.fields:
                return form
        return None


def page_text(html: str, limit: int = 1500) -> str:
    """An HTML page's visible text, squeezed, for assertion messages."""
    without_tags = re.sub(r"(?s)<(script|style)\b.*?</\1>|<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", without_tags).strip()[:limit]


def callback_params(url: str) -> dict[str, str]:
    """The query parameters of a callback URL (one value each)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def hosted_login(live_server: LiveServer) -> Iterator[HostedLogin]:
    """A fresh cookie jar walking the live server's /authorize and login page."""
    with HostedLogin(live_server) as login:
        yield login


# -- the browser -------------------------------------------------------------------------------


def require_chromium() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture, so that a missing browser does not first start a server.
    if item.get_closest_marker("browser") is not None:
        require_chromium()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, through Playwright (never a downloaded browser).

    One for all of tests/peers (each test gets its own context, so no cookies or storage are
    shared). While it is alive Playwright's event loop runs in this thread: tests here are
    synchronous and run coroutines through `_run_outside_loop`."""
    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def watch_for_page_problems(page: Page) -> list[str]:
    """Collects script errors and Content-Security-Policy violations the page reports."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return problems


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) with a desktop-sized window.

    The test errors at teardown if a page had a script error or broke its own CSP.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    problems = watch_for_page_problems(opened)
    try:
        yield opened
    finally:
        context.close()
    assert not problems, "the pages reported problems:\n" + "\n".join(problems)
