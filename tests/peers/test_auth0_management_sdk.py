"""Auth0's Python SDK (auth0-python 6, the Fern-generated `auth0.management.Auth0`) against the
live server's Management API v2.

The SDK is the peer: it builds every request and parses every answer with its own pydantic
models, as it does against Auth0. It gets its token itself (`GetToken.client_credentials` with
the https spelling of the audience, as Auth0's SDKs always send) and talks plain http through
`base_url`. `ManagementClient(domain=...)` cannot be used: it hard-codes https.

Covered: users (create, get, metadata merge on update, search with `q` and search_engine v3,
the offset pager iterated to its end, users-by-email, delete), logs (list, get, user logs,
`search`), user-blocks (a real brute-force block, listed and lifted), tickets, clients,
connections (the checkpoint pager), resource servers, rules, and Auth0's error shapes
(404 inexistent_user, 400 invalid query, 401, 403 insufficient_scope, 409).

PENDING ENDPOINTS. The tests named `test_pending_*` exercise endpoints that were still being
built when they were written (identity linking, bulk jobs, log search with `search`). They are
written against Auth0's documented interface (auth0-interfaces.md §2.3-§2.5 and §7) and are
deliberately neither skipped nor marked xfail: until the endpoints land they fail, and then
they must pass unchanged.
"""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import argon2
import bcrypt
import httpx
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)

from tests.peers.conftest import (
    DATABASE_CONNECTION,
    App,
    AppSpec,
    LiveServer,
    unique_email,
)

PASSWORD = "Correct-Horse-9"
# A pager that never sees an empty page would loop forever (see test-peers.md §4): every
# iteration in this module is bounded, so such a bug fails the test instead of hanging it.
MAX_ITEMS = 500
JOB_TIMEOUT = 60.0
HTTP_CLIENTS: list[httpx.Client] = []  # closed when the module's realm is torn down


# -- clients of the API ------------------------------------------------------------------------


class Recorder:
    """Remembers every request the SDK sends (method, path, query), for asserting on paging."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def queries(self, method: str, path: str) -> list[dict[str, str]]:
        return [
            dict(request.url.params)
            for request in self.requests
            if request.method == method and request.url.path == path
        ]


def management_token(server: LiveServer, client_id: str, client_secret: str) -> str:
    """A client-credentials token for the Management API, asked for as the SDKs ask for it."""
    tokens = GetToken(
        server.host, client_id, client_secret=client_secret, protocol="http", timeout=10.0
    ).client_credentials(audience=f"https://{server.host}/api/v2/")
    token: str = tokens["access_token"]
    return token


def management_api(server: LiveServer, token: str, recorder: Recorder | None = None) -> Auth0:
    http = httpx.Client(
        timeout=30.0,
        event_hooks={"request": [recorder]} if recorder is not None else {},
    )
    HTTP_CLIENTS.append(http)
    # No retries: a 5xx must show up as the failure it is, not be retried behind our back.
    return Auth0(base_url=f"{server.url}/api/v2", token=token, max_retries=0, httpx_client=http)


@dataclass(frozen=True)
class Realm:
    server: LiveServer
    api: Auth0
    recorder: Recorder
    reader: Auth0  # a machine-to-machine app granted only read:users
    login_app: App  # an app allowed the password grant, for brute-force blocks and imports
    connection_id: str


@pytest.fixture(scope="module")
def realm(live_server: LiveServer) -> Iterator[Realm]:
    made = live_server.provision(
        apps=[
            AppSpec(
                name="read-only machine",
                app_type="non_interactive",
                grant_types=["client_credentials"],
                connection=None,
                management_scopes=["read:users"],
            ),
            AppSpec(
                name="password grant app",
                grant_types=["authorization_code", "refresh_token", "password"],
            ),
        ]
    )
    reader_app, login_app = made.apps
    assert reader_app.client_secret and live_server.management_client_secret
    recorder = Recorder()
    api = management_api(
        live_server,
        management_token(
            live_server, live_server.management_client_id, live_server.management_client_secret
        ),
        recorder,
    )
    reader = management_api(
        live_server,
        management_token(live_server, reader_app.client_id, reader_app.client_secret),
    )
    connections = list(api.connections.list(name=DATABASE_CONNECTION))
    assert len(connections) == 1, connections
    assert connections[0].id
    try:
        yield Realm(live_server, api, recorder, reader, login_app, connections[0].id)
    finally:
        for client in HTTP_CLIENTS:
            client.close()
        HTTP_CLIENTS.clear()


def bounded(items: Iterator[Any], limit: int = MAX_ITEMS) -> list[Any]:
    """Drains an SDK pager, failing (not hanging) when it goes on past `limit` items."""
    out: list[Any] = []
    for item in items:
        out.append(item)
        if len(out) > limit:
            pytest.fail(f"the pager yielded more than {limit} items: it never reached its end")
    return out


def new_user(realm: Realm, prefix: str, **fields: Any) -> Any:
    return realm.api.users.create(
        connection=DATABASE_CONNECTION,
        email=unique_email(prefix),
        password=PASSWORD,
        email_verified=True,
        verify_email=False,
        **fields,
    )


def auth0_error_body(error: Any, status: int, error_code: str) -> dict[str, Any]:
    """Checks an SDK exception carries Auth0's error body and returns that body."""
    assert error.status_code == status
    body = error.body
    assert isinstance(body, dict), body
    assert body["statusCode"] == status
    assert body["error"] == httpx.codes.get_reason_phrase(status)
    assert isinstance(body["message"], str) and body["message"]
    assert body["errorCode"] == error_code
    return body


def bare_id(user_id: str) -> str:
    """The part of `auth0|abc` after the provider, as the identities endpoints take it."""
    return user_id.split("|", 1)[1]


def password_login(realm: Realm, email: str, password: str) -> dict[str, Any]:
    app = realm.login_app
    tokens: dict[str, Any] = GetToken(
        realm.server.host,
        app.client_id,
        client_secret=app.client_secret,
        protocol="http",
        timeout=10.0,
    ).login(email, password, realm=DATABASE_CONNECTION, scope="openid")
    return tokens


def wait_for_job(realm: Realm, job_id: str) -> Any:
    """Polls jobs/{id} through the SDK until the job is completed or failed."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        job = realm.api.jobs.get(job_id)
        assert job.id == job_id
        if job.status in ("completed", "failed"):
            return job
        assert job.status in ("pending", "processing"), job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {job.status} after {JOB_TIMEOUT:.0f} s: {job}")
        time.sleep(0.2)


# -- users -------------------------------------------------------------------------------------


def test_create_get_update_and_delete_a_user(realm: Realm) -> None:
    api = realm.api
    created = new_user(
        realm,
        "mgmt-crud",
        name="Mgmt Person",
        given_name="Mgmt",
        user_metadata={"plan": "free", "prefs": {"theme": "dark", "lang": "en"}, "drop": 1},
        app_metadata={"tier": 1, "roles": ["a", "b"]},
    )
    assert created.user_id and created.user_id.startswith("auth0|")
    assert created.email_verified is True
    assert created.name == "Mgmt Person"
    assert created.identities and created.identities[0].provider == "auth0"
    assert created.identities[0].connection == DATABASE_CONNECTION
    assert created.identities[0].user_id == bare_id(created.user_id)
    assert created.identities[0].is_social is False
    assert created.created_at and created.updated_at

    fetched = api.users.get(created.user_id)
    assert fetched.user_id == created.user_id
    assert fetched.email == created.email
    assert fetched.user_metadata == {
        "plan": "free",
        "prefs": {"theme": "dark", "lang": "en"},
        "drop": 1,
    }
    only = api.users.get(created.user_id, fields="user_id,email", include_fields=True)
    assert only.user_id == created.user_id and only.email == created.email
    assert only.user_metadata is None and only.identities is None

    # Metadata merges at the first level only; a nested object is replaced whole; null deletes.
    updated = api.users.update(
        created.user_id,
        user_metadata={"prefs": {"theme": "light"}, "drop": None, "added": "x"},
        app_metadata={"tier": 2},
        family_name="Person",
    )
    assert updated.user_metadata == {"plan": "free", "prefs": {"theme": "light"}, "added": "x"}
    assert updated.app_metadata == {"tier": 2, "roles": ["a", "b"]}
    assert updated.family_name == "Person"
    assert updated.given_name == "Mgmt"
    assert api.users.get(created.user_id).user_metadata == updated.user_metadata
    # An empty object clears the metadata entirely.
    cleared = api.users.update(created.user_id, user_metadata={})
    assert not cleared.user_metadata
    assert cleared.app_metadata == {"tier": 2, "roles": ["a", "b"]}

    assert api.users.delete(created.user_id) is None
    with pytest.raises(NotFoundError) as raised:
        api.users.get(created.user_id)
    auth0_error_body(raised.value, 404, "inexistent_user")


def test_creating_the_same_user_twice_is_a_409(realm: Realm) -> None:
    email = unique_email("mgmt-twice")
    realm.api.users.create(connection=DATABASE_CONNECTION, email=email, password=PASSWORD)
    with pytest.raises(ConflictError) as raised:
        realm.api.users.create(connection=DATABASE_CONNECTION, email=email, password=PASSWORD)
    assert raised.value.status_code == 409
    assert raised.value.body["statusCode"] == 409


def test_search_with_q_and_the_pager_to_its_end(realm: Realm) -> None:
    """Seven users in pages of three: pages 0, 1 and 2 hold 3+3+1, page 3 is empty and stops
    the SDK's pager (it asks for page+1 until a page comes back empty)."""
    batch = uuid.uuid4().hex[:12]
    made = [
        new_user(realm, f"pager{index}-{batch}", user_metadata={"batch": batch, "n": index})
        for index in range(7)
    ]
    by_email = sorted(made, key=lambda user: user.email)
    q = f'user_metadata.batch:"{batch}"'
    start = len(realm.recorder.requests)

    pager = realm.api.users.list(q=q, search_engine="v3", per_page=3, sort="email:1")
    assert pager.response.total == 7
    assert pager.response.length == 3 and pager.response.limit == 3
    assert pager.response.start == 0
    found = bounded(iter(pager))

    assert [user.user_id for user in found] == [user.user_id for user in by_email]
    sent = [
        dict(request.url.params)
        for request in realm.recorder.requests[start:]
        if request.url.path.endswith("/api/v2/users")
    ]
    assert [params["page"] for params in sent] == ["0", "1", "2", "3"]
    assert all(params["q"] == q and params["search_engine"] == "v3" for params in sent)
    assert all(params["per_page"] == "3" and params["include_totals"] == "true" for params in sent)

    # Page by page: the pages the SDK saw, and an empty page past the end.
    sizes = [len(page.items or []) for page in pager.iter_pages()]
    assert sizes == [3, 3, 1]
    past_end = realm.api.users.list(q=q, search_engine="v3", per_page=3, page=5)
    assert past_end.items == []
    assert past_end.response.total == 7
    assert bounded(iter(past_end)) == []

    # An exact number of full pages: the empty page after the last full one stops the pager.
    six = bounded(iter(realm.api.users.list(q=f"{q} AND NOT user_metadata.n:6", per_page=2)))
    assert sorted(user.user_id for user in six) == sorted(u.user_id for u in made[:6])

    narrowed = bounded(
        iter(realm.api.users.list(q=f"{q} AND user_metadata.n:[2 TO 4]", search_engine="v3"))
    )
    assert sorted(user.user_metadata["n"] for user in narrowed) == [2, 3, 4]
    exact = bounded(iter(realm.api.users.list(q=f'email:"{made[0].email}"', search_engine="v3")))
    assert [user.user_id for user in exact] == [made[0].user_id]


def test_users_by_email_is_exact(realm: Realm) -> None:
    user = new_user(realm, "mgmt-by-email")
    found = realm.api.users.list_users_by_email(email=user.email)
    assert [u.user_id for u in found] == [user.user_id]
    assert found[0].identities and found[0].identities[0].connection == DATABASE_CONNECTION
    only = realm.api.users.list_users_by_email(email=user.email, fields="user_id")
    assert only[0].user_id == user.user_id and only[0].email is None
    assert realm.api.users.list_users_by_email(email=unique_email("nobody")) == []


# -- logs --------------------------------------------------------------------------------------


def test_logs_and_user_logs(realm: Realm) -> None:
    user = new_user(realm, "mgmt-logs")
    realm.api.users.update(user.user_id, user_metadata={"touched": True})

    user_logs = bounded(iter(realm.api.users.logs.list(user.user_id, per_page=100)))
    assert user_logs, "creating and updating a user through the API left no log event"
    assert all(log.user_id == user.user_id for log in user_logs)
    assert {log.type for log in user_logs} >= {"sapi"}
    descriptions = {log.description for log in user_logs}
    assert {"Create a User", "Update a User"} <= descriptions, descriptions
    for log in user_logs:
        assert log.log_id and log.date

    page = realm.api.logs.list(per_page=5, sort="date:-1")
    assert page.items and len(page.items) <= 5
    assert page.response.total >= len(user_logs)
    newest = page.items[0]
    assert newest.log_id
    again = realm.api.logs.get(newest.log_id)
    assert again.log_id == newest.log_id and again.type == newest.type
    with pytest.raises(NotFoundError) as raised:
        realm.api.logs.get("9" * 56)
    assert raised.value.status_code == 404


def test_pending_log_search_with_the_sdks_search_parameter(realm: Realm) -> None:
    """PENDING: auth0-python 6 sends `search=` (not `q=`) to GET /api/v2/logs (§2.4)."""
    user = new_user(realm, "mgmt-logsearch")
    realm.api.users.update(user.user_id, user_metadata={"touched": True})
    start = len(realm.recorder.requests)

    found = bounded(iter(realm.api.logs.list(search=f'user_id:"{user.user_id}"', per_page=50)))

    assert realm.recorder.queries("GET", "/api/v2/logs")[-1]["search"] == (
        f'user_id:"{user.user_id}"'
    )
    assert len(realm.recorder.requests) > start
    assert found and all(log.user_id == user.user_id for log in found)
    assert {"Create a User", "Update a User"} <= {log.description for log in found}
    by_type = bounded(iter(realm.api.logs.list(search=f'type:sapi AND user_id:"{user.user_id}"')))
    assert {log.log_id for log in by_type} <= {log.log_id for log in found}
    assert by_type and all(log.type == "sapi" for log in by_type)


# -- user-blocks and tickets -------------------------------------------------------------------


def test_a_brute_force_block_is_listed_and_lifted(realm: Realm) -> None:
    api = realm.api
    user = new_user(realm, "mgmt-blocked")
    assert api.user_blocks.list_by_identifier(identifier=user.email).blocked_for == []
    assert api.user_blocks.list(user.user_id).blocked_for == []

    settings = api.attack_protection.brute_force_protection.get()
    attempts = settings.max_attempts or 10
    for _ in range(attempts + 1):
        with pytest.raises(Auth0Error):
            password_login(realm, user.email, "Wrong-Password-1")
    blocks = api.user_blocks.list_by_identifier(identifier=user.email).blocked_for
    assert blocks, "no block after too many failed logins"
    assert blocks[0].identifier == user.email
    assert blocks[0].ip
    assert api.user_blocks.list(user.user_id).blocked_for
    with pytest.raises(Auth0Error):
        password_login(realm, user.email, PASSWORD)  # blocked even with the right password

    assert api.user_blocks.delete_by_identifier(identifier=user.email) is None
    assert api.user_blocks.list_by_identifier(identifier=user.email).blocked_for == []
    assert api.user_blocks.list(user.user_id).blocked_for == []
    assert password_login(realm, user.email, PASSWORD)["access_token"]
    assert api.user_blocks.delete(user.user_id) is None

    with pytest.raises(NotFoundError) as raised:
        api.user_blocks.list("auth0|" + "0" * 24)
    auth0_error_body(raised.value, 404, "inexistent_user")


def test_tickets(realm: Realm) -> None:
    user = new_user(realm, "mgmt-ticket")
    reset = realm.api.tickets.change_password(
        user_id=user.user_id, result_url="http://127.0.0.1:9/done", ttl_sec=3600
    )
    assert reset.ticket.startswith(f"{realm.server.url}/lo/reset?ticket=")
    page = httpx.get(reset.ticket, timeout=10.0)
    assert page.status_code == 200
    assert user.email in page.text

    verify = realm.api.tickets.verify_email(user_id=user.user_id)
    assert verify.ticket.startswith(f"{realm.server.url}/lo/verify_email?ticket=")

    with pytest.raises(NotFoundError) as raised:
        realm.api.tickets.verify_email(user_id="auth0|" + "0" * 24)
    auth0_error_body(raised.value, 404, "inexistent_user")


# -- clients, connections, resource servers, rules ---------------------------------------------


def test_clients(realm: Realm) -> None:
    api = realm.api
    made = api.clients.create(
        name="SDK-made app",
        app_type="spa",
        callbacks=["http://127.0.0.1:9/cb"],
        allowed_logout_urls=["http://127.0.0.1:9/bye"],
        web_origins=["http://127.0.0.1:9"],
        grant_types=["authorization_code", "refresh_token"],
        token_endpoint_auth_method="none",
        client_metadata={"team": "peers"},
    )
    assert made.client_id and made.name == "SDK-made app"
    assert made.app_type == "spa"
    assert made.callbacks == ["http://127.0.0.1:9/cb"]

    got = api.clients.get(made.client_id)
    assert got.client_id == made.client_id
    assert got.client_metadata == {"team": "peers"}
    listed = bounded(iter(api.clients.list(per_page=2)))
    ids = [client.client_id for client in listed]
    assert made.client_id in ids and realm.server.management_client_id in ids
    assert len(ids) == len(set(ids))

    changed = api.clients.update(made.client_id, name="SDK-renamed app", callbacks=[])
    assert changed.name == "SDK-renamed app" and changed.callbacks == []

    machine = api.clients.create(name="SDK machine", app_type="non_interactive")
    assert machine.client_secret
    rotated = api.clients.rotate_secret(machine.client_id)
    assert rotated.client_secret and rotated.client_secret != machine.client_secret

    assert api.clients.delete(made.client_id) is None
    with pytest.raises(NotFoundError) as raised:
        api.clients.get(made.client_id)
    assert raised.value.status_code == 404
    assert raised.value.body["errorCode"] == "inexistent_client"


def test_connections(realm: Realm) -> None:
    api = realm.api
    database = api.connections.get(realm.connection_id)
    assert database.name == DATABASE_CONNECTION
    assert database.strategy == "auth0"
    assert realm.server.default_client_id in (database.enabled_clients or [])

    name = f"sdk-db-{uuid.uuid4().hex[:8]}"
    made = api.connections.create(name=name, strategy="auth0", enabled_clients=[])
    assert made.id and made.name == name
    # The SDK pages connections by checkpoint: `take`, then `from` = the previous `next`.
    start = len(realm.recorder.requests)
    first = api.connections.list(take=1)
    assert len(first.items or []) == 1 and first.response.next
    everything = bounded(iter(first))
    names = [connection.name for connection in everything]
    assert {DATABASE_CONNECTION, name} <= set(names)
    assert len(names) == len(set(names))
    sent = realm.recorder.queries("GET", "/api/v2/connections")[-len(names) :]
    assert len(realm.recorder.requests) - start == len(names)
    assert "from" not in sent[0] and all(params.get("from") for params in sent[1:])
    assert [c.name for c in api.connections.list(strategy="auth0", name=name)] == [name]

    changed = api.connections.update(made.id, display_name="SDK DB")
    assert changed.display_name == "SDK DB"
    assert api.connections.delete(made.id) is None
    with pytest.raises(NotFoundError) as raised:
        api.connections.get(made.id)
    assert raised.value.body["errorCode"] == "inexistent_connection"


def test_resource_servers(realm: Realm) -> None:
    api = realm.api
    listed = bounded(iter(api.resource_servers.list()))
    system = [row for row in listed if row.is_system]
    assert [row.identifier for row in system] == [realm.server.management_audience]

    identifier = f"https://api-{uuid.uuid4().hex[:8]}.example.com/"
    made = api.resource_servers.create(
        identifier=identifier,
        name="SDK API",
        scopes=[{"value": "read:things", "description": "Read things"}],
        token_lifetime=3600,
    )
    assert made.id and made.identifier == identifier
    assert made.scopes and made.scopes[0].value == "read:things"
    assert api.resource_servers.get(made.id).identifier == identifier
    assert identifier in [row.identifier for row in bounded(iter(api.resource_servers.list()))]

    # A machine-to-machine app granted the new API; the SDK pages grants by checkpoint.
    machine = api.clients.create(name="SDK grant holder", app_type="non_interactive")
    grants = [
        api.client_grants.create(
            client_id=machine.client_id, audience=identifier, scope=["read:things"]
        ),
        api.client_grants.create(
            client_id=machine.client_id, audience=realm.server.management_audience, scope=[]
        ),
    ]
    assert grants[0].id and grants[0].scope == ["read:things"]
    listed_grants = bounded(iter(api.client_grants.list(client_id=machine.client_id, take=1)))
    assert sorted(grant.id for grant in listed_grants) == sorted(grant.id for grant in grants)
    for_api = bounded(iter(api.client_grants.list(audience=identifier)))
    assert [grant.client_id for grant in for_api] == [machine.client_id]
    assert api.client_grants.delete(grants[0].id) is None
    assert bounded(iter(api.client_grants.list(audience=identifier))) == []
    api.clients.delete(machine.client_id)

    changed = api.resource_servers.update(made.id, name="SDK API 2", token_lifetime=7200)
    assert changed.name == "SDK API 2" and changed.token_lifetime == 7200
    assert api.resource_servers.delete(made.id) is None
    with pytest.raises(NotFoundError):
        api.resource_servers.get(made.id)


def test_rules(realm: Realm) -> None:
    api = realm.api
    script = "function (user, context, callback) { callback(null, user, context); }"
    name = f"sdk-rule-{uuid.uuid4().hex[:8]}"
    made = api.rules.create(name=name, script=script, enabled=False)
    assert made.id and made.name == name and made.script == script
    assert made.enabled is False and made.stage == "login_success"
    assert made.order is not None

    assert api.rules.get(made.id).name == name
    listed = bounded(iter(api.rules.list(per_page=1)))
    assert made.id in [rule.id for rule in listed]
    changed = api.rules.update(made.id, enabled=True, order=42)
    assert changed.enabled is True and changed.order == 42
    with pytest.raises(ConflictError):
        api.rules.create(name=name, script=script)

    assert api.rules.delete(made.id) is None
    with pytest.raises(NotFoundError) as raised:
        api.rules.get(made.id)
    assert raised.value.body["errorCode"] == "inexistent_rule"


# -- error shapes ------------------------------------------------------------------------------


def test_error_shapes(realm: Realm) -> None:
    api = realm.api
    with pytest.raises(NotFoundError) as raised:
        api.users.get("auth0|" + "f" * 24)
    body = auth0_error_body(raised.value, 404, "inexistent_user")
    assert body == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    with pytest.raises(NotFoundError):
        api.users.update("auth0|" + "f" * 24, user_metadata={"a": 1})

    with pytest.raises(BadRequestError) as bad:
        bounded(iter(api.users.list(q='email:"unterminated', search_engine="v3")))
    auth0_error_body(bad.value, 400, "invalid_query_string")
    with pytest.raises(BadRequestError) as bad:
        api.users.list(per_page=101)
    auth0_error_body(bad.value, 400, "invalid_query_string")

    with pytest.raises(BadRequestError) as bad:
        api.users.create(connection="No-Such-Connection", email=unique_email(), password=PASSWORD)
    assert bad.value.body["statusCode"] == 400

    with pytest.raises(BadRequestError) as bad:
        api.users.update(
            new_user(realm, "mgmt-readonly").user_id,
            request_options={"additional_body_parameters": {"logins_count": 5}},
        )
    auth0_error_body(bad.value, 400, "invalid_body")


def test_scopes_are_enforced(realm: Realm) -> None:
    user = new_user(realm, "mgmt-scoped")
    # read:users is enough to read...
    assert realm.reader.users.get(user.user_id).email == user.email
    assert bounded(iter(realm.reader.users.list(q=f'email:"{user.email}"')))
    # ...and nothing else.
    with pytest.raises(ForbiddenError) as raised:
        realm.reader.users.create(
            connection=DATABASE_CONNECTION, email=unique_email(), password=PASSWORD
        )
    auth0_error_body(raised.value, 403, "insufficient_scope")
    with pytest.raises(ForbiddenError):
        realm.reader.users.delete(user.user_id)
    with pytest.raises(ForbiddenError):
        realm.reader.logs.list()
    with pytest.raises(ForbiddenError):
        realm.reader.clients.list()

    stranger = management_api(realm.server, "not-a-token")
    with pytest.raises(UnauthorizedError) as unauthorized:
        stranger.users.get(user.user_id)
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.body["statusCode"] == 401


# -- PENDING: identity linking (§2.3, §7) ------------------------------------------------------


def test_pending_link_and_unlink_identities(realm: Realm) -> None:
    api = realm.api
    batch = uuid.uuid4().hex[:10]
    # The secondary lives in a second database connection, as an account to link usually
    # comes from another connection than the primary's.
    other = api.connections.create(
        name=f"link-db-{batch}", strategy="auth0", enabled_clients=[realm.server.default_client_id]
    )
    primary = new_user(
        realm, "link-primary", name="Primary", user_metadata={"batch": batch, "side": "primary"}
    )
    secondary = api.users.create(
        connection=other.name,
        email=unique_email("link-secondary"),
        password=PASSWORD,
        email_verified=True,
        verify_email=False,
        name="Secondary",
        user_metadata={"batch": batch, "side": "secondary"},
        app_metadata={"secret": True},
    )

    identities = api.users.identities.link(
        primary.user_id,
        provider="auth0",
        user_id=bare_id(secondary.user_id),
        connection_id=other.id,
    )

    assert [(i.provider, str(i.user_id)) for i in identities] == [
        ("auth0", bare_id(primary.user_id)),
        ("auth0", bare_id(secondary.user_id)),
    ]
    assert identities[0].connection == DATABASE_CONNECTION
    linked = identities[1]
    assert linked.connection == other.name
    assert linked.profile_data is not None
    assert linked.profile_data.email == secondary.email
    assert linked.profile_data.name == "Secondary"
    # The primary keeps its own root attributes and metadata; the secondary's are dropped.
    merged = api.users.get(primary.user_id)
    assert merged.email == primary.email and merged.name == "Primary"
    assert merged.user_metadata == {"batch": batch, "side": "primary"}
    assert not merged.app_metadata
    assert [str(i.user_id) for i in merged.identities or []] == [
        bare_id(primary.user_id),
        bare_id(secondary.user_id),
    ]
    # The secondary is no user of its own any more.
    with pytest.raises(NotFoundError) as raised:
        api.users.get(secondary.user_id)
    auth0_error_body(raised.value, 404, "inexistent_user")
    batch_users = bounded(iter(api.users.list(q=f'user_metadata.batch:"{batch}"')))
    assert [user.user_id for user in batch_users] == [primary.user_id]
    # Linking it again is refused; linking to an unknown primary is a 404.
    with pytest.raises((ConflictError, NotFoundError, BadRequestError)):
        api.users.identities.link(
            primary.user_id, provider="auth0", user_id=bare_id(secondary.user_id)
        )
    # (the SDK has no NotFoundError for this endpoint: Auth0 documents no 404 here)
    with pytest.raises(ApiError) as orphan:
        api.users.identities.link(
            "auth0|" + "0" * 24, provider="auth0", user_id=bare_id(secondary.user_id)
        )
    auth0_error_body(orphan.value, 404, "inexistent_user")

    remaining = api.users.identities.delete(primary.user_id, "auth0", bare_id(secondary.user_id))

    assert [(i.provider, str(i.user_id)) for i in remaining] == [
        ("auth0", bare_id(primary.user_id))
    ]
    # Unlinked, the secondary is its own user again, with no metadata.
    alone = api.users.get(secondary.user_id)
    assert alone.user_id == secondary.user_id
    assert alone.email == secondary.email
    assert not alone.user_metadata and not alone.app_metadata
    assert [str(i.user_id) for i in alone.identities or []] == [bare_id(secondary.user_id)]
    after = api.users.get(primary.user_id)
    assert after.user_metadata == {"batch": batch, "side": "primary"}
    assert len(after.identities or []) == 1
    # Searchable again, by its own fields (its metadata is gone).
    assert [
        user.user_id for user in bounded(iter(api.users.list(q=f'user_metadata.batch:"{batch}"')))
    ] == [primary.user_id]
    assert [
        user.user_id for user in bounded(iter(api.users.list(q=f'email:"{secondary.email}"')))
    ] == [secondary.user_id]
    assert [u.user_id for u in api.users.list_users_by_email(email=secondary.email)] == [
        secondary.user_id
    ]
    with pytest.raises(ApiError):  # 400 or 404: the identity is no longer linked
        api.users.identities.delete(primary.user_id, "auth0", bare_id(secondary.user_id))
    # Deleting the primary and the unlinked user leaves the extra connection deletable.
    api.users.delete(secondary.user_id)
    api.users.delete(primary.user_id)
    assert api.connections.delete(other.id) is None


# -- PENDING: bulk jobs (§2.5) -----------------------------------------------------------------


def import_file(records: list[dict[str, Any]]) -> tuple[str, io.BytesIO, str]:
    return ("users.json", io.BytesIO(json.dumps(records).encode()), "application/json")


def test_pending_users_import_job_with_bad_rows_and_upsert(realm: Realm) -> None:
    api = realm.api
    batch = uuid.uuid4().hex[:10]
    bcrypt_user = unique_email("imp-bcrypt")
    argon_user = unique_email("imp-argon2")
    plain_user = unique_email("imp-plain")
    records: list[dict[str, Any]] = [
        {
            "email": bcrypt_user,
            "email_verified": True,
            "name": "Bcrypt Imported",
            "password_hash": bcrypt.hashpw(b"Imported-Pass-9", bcrypt.gensalt(10)).decode(),
            "user_metadata": {"batch": batch, "row": 0},
        },
        {
            "email": argon_user,
            "email_verified": True,
            "custom_password_hash": {
                "algorithm": "argon2",
                "hash": {
                    "value": argon2.PasswordHasher().hash("Imported-Pass-9"),
                    "encoding": "utf8",
                },
            },
            "user_metadata": {"batch": batch, "row": 1},
            "app_metadata": {"imported": True},
        },
        {"email": "not-an-email", "user_metadata": {"batch": batch, "row": 2}},
        {"email": plain_user, "user_metadata": {"batch": batch, "row": 3}},
    ]

    job = api.jobs.users_imports.create(
        users=import_file(records),
        connection_id=realm.connection_id,
        upsert=False,
        external_id=f"peer-{batch}",
        send_completion_email=False,
    )

    assert job.id and job.id.startswith("job_")
    assert job.type == "users_import"
    assert job.status in ("pending", "processing", "completed")
    assert job.connection_id == realm.connection_id
    assert job.external_id == f"peer-{batch}"
    done = wait_for_job(realm, job.id)
    assert done.status == "completed", done
    assert done.summary is not None
    assert (done.summary.inserted, done.summary.updated, done.summary.failed) == (3, 0, 1)
    assert done.summary.total == 4
    errors = api.jobs.errors.get(job.id)
    assert isinstance(errors, list) and len(errors) == 1, errors
    assert errors[0].user is not None
    bad_row = errors[0].user  # the SDK types it as a plain mapping (GetJobUserError)
    if not isinstance(bad_row, dict):
        bad_row = bad_row.model_dump(by_alias=True, exclude_none=True)
    assert bad_row.get("email") == "not-an-email", bad_row
    assert errors[0].errors and errors[0].errors[0].code

    imported = bounded(iter(api.users.list(q=f'user_metadata.batch:"{batch}"', sort="email:1")))
    assert sorted(user.email for user in imported) == sorted([bcrypt_user, argon_user, plain_user])
    argon = api.users.list_users_by_email(email=argon_user)[0]
    assert argon.app_metadata == {"imported": True}
    assert argon.email_verified is True
    assert api.users.list_users_by_email(email=plain_user)[0].email_verified is False
    # The imported hashes work for logging in.
    for email in (bcrypt_user, argon_user):
        assert password_login(realm, email, "Imported-Pass-9")["access_token"]

    # Upsert: an existing user is updated (metadata overwritten, not merged), a new one inserted.
    extra = unique_email("imp-upsert")
    again = api.jobs.users_imports.create(
        users=import_file(
            [
                {"email": plain_user, "user_metadata": {"batch": batch, "upserted": True}},
                {"email": extra, "user_metadata": {"batch": batch, "row": 4}},
            ]
        ),
        connection_id=realm.connection_id,
        upsert=True,
        send_completion_email=False,
    )
    upserted = wait_for_job(realm, again.id)
    assert upserted.status == "completed", upserted
    assert upserted.summary is not None
    assert (upserted.summary.inserted, upserted.summary.updated) == (1, 1)
    assert (upserted.summary.failed or 0) == 0
    assert api.users.list_users_by_email(email=plain_user)[0].user_metadata == {
        "batch": batch,
        "upserted": True,
    }
    assert not api.jobs.errors.get(again.id)

    with pytest.raises(NotFoundError):
        api.jobs.get("job_" + "0" * 16)


def download(location: str) -> bytes:
    """An export file from its `location` (gzip-compressed as Auth0 serves it, or plain)."""
    response = httpx.get(location, timeout=30.0, follow_redirects=True)
    assert response.status_code == 200, (location, response.status_code, response.text[:500])
    content = response.content
    return gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content


def test_pending_users_export_jobs_json_and_csv(realm: Realm) -> None:
    api = realm.api
    batch = uuid.uuid4().hex[:10]
    made = [
        new_user(realm, f"exp{index}-{batch}", user_metadata={"batch": batch, "n": index})
        for index in range(3)
    ]
    ours = {user.email for user in made}

    job = api.jobs.users_exports.create(connection_id=realm.connection_id, format="json")
    assert job.id and job.id.startswith("job_")
    assert job.type == "users_export" and job.format == "json"
    done = wait_for_job(realm, job.id)
    assert done.status == "completed", done
    assert done.location, done
    lines = [json.loads(line) for line in download(done.location).decode().splitlines() if line]
    exported = {row["email"]: row for row in lines if row.get("email") in ours}
    assert set(exported) == ours
    first = exported[made[0].email]
    assert first["user_id"] == made[0].user_id
    assert first["user_metadata"] == {"batch": batch, "n": 0}

    csv_job = api.jobs.users_exports.create(
        connection_id=realm.connection_id,
        format="csv",
        fields=[
            {"name": "user_id"},
            {"name": "email"},
            {"name": "user_metadata.batch", "export_as": "batch"},
        ],
    )
    assert csv_job.format == "csv"
    csv_done = wait_for_job(realm, csv_job.id)
    assert csv_done.status == "completed", csv_done
    assert csv_done.location
    text = download(csv_done.location).decode()
    rows = text.splitlines()
    header = [cell.strip('"') for cell in rows[0].split(",")]
    assert header == ["user_id", "email", "batch"]
    ours_rows = [row for row in rows[1:] if batch in row]
    assert len(ours_rows) == 3
    assert all(any(user.email in row for user in made) for row in ours_rows)
