"""Management API jobs: users imports (multipart, upsert, imported hashes), exports (NDJSON, CSV)
downloaded through signed links, job errors, restart survival, and bad input."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import pytest
from argon2 import PasswordHasher as Argon2
from sqlalchemy import func, select

from identa.app import create_container
from identa.container import Container
from identa.core.clock import FrozenClock
from identa.identity.models import Identity, PasswordCredential, User
from identa.notify.providers import MemoryProvider
from identa.settings import Settings
from tests.conftest import PUBLIC_URL
from tests.factories import create_user, deliver_mail, log_types

CONNECTION = "Username-Password-Authentication"


async def connection_id(container: Container) -> str:
    async with container.unit_of_work() as uow:
        return (await container.connections.by_name(uow.session, CONNECTION)).id


async def post_import(
    api: httpx.AsyncClient,
    records: Any,
    conn: str | None,
    *,
    raw: bytes | None = None,
    **fields: str,
) -> httpx.Response:
    data = raw if raw is not None else json.dumps(records).encode()
    form = {**fields}
    if conn is not None:
        form["connection_id"] = conn
    return await api.post(
        "/api/v2/jobs/users-imports",
        files={"users": ("users.json", data, "application/json")},
        data=form,
    )


async def run_jobs(container: Container) -> None:
    while await container.jobs.runner.run_next():
        pass


async def import_and_run(
    api: httpx.AsyncClient, container: Container, records: Any, **fields: str
) -> dict[str, Any]:
    created = await post_import(api, records, await connection_id(container), **fields)
    assert created.status_code == 202, created.text
    await run_jobs(container)
    job = await api.get(f"/api/v2/jobs/{created.json()['id']}")
    assert job.status_code == 200
    return dict(job.json())


async def user_by_email(api: httpx.AsyncClient, email: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v2/users-by-email", params={"email": email})
    assert response.status_code == 200
    return list(response.json())


async def test_import_imports_good_rows_and_reports_bad_ones(
    api: httpx.AsyncClient, container: Container
) -> None:
    await create_user(container, "taken@example.com")
    records = [
        {"email": "Grace@Example.com", "name": "Grace Hopper", "user_metadata": {"plan": "pro"}},
        {"email": "linus@example.com", "user_id": "abc123", "username": "linus"},
        {"name": "no e-mail"},
        {"email": "not-an-email"},
        {"email": "typed@example.com", "email_verified": "yes"},
        {"email": "long@example.com", "given_name": "x" * 151},
        {"email": "grace@example.com"},
        {"email": "taken@example.com"},
        "not an object",
        {"email": "meta@example.com", "app_metadata": {"email": "reserved"}},
        {"email": "hash@example.com", "password_hash": "md5-is-not-bcrypt"},
    ]
    created = await post_import(
        api, records, await connection_id(container), external_id="batch-1", upsert="false"
    )
    assert created.status_code == 202, created.text
    body = created.json()
    assert body["status"] == "pending" and body["type"] == "users_import"
    assert body["id"].startswith("job_") and body["external_id"] == "batch-1"
    assert body["connection_id"] == await connection_id(container)

    await run_jobs(container)
    job = (await api.get(f"/api/v2/jobs/{body['id']}")).json()
    assert job["status"] == "completed"
    assert job["summary"] == {"failed": 9, "updated": 0, "inserted": 2, "total": 11}

    errors = (await api.get(f"/api/v2/jobs/{body['id']}/errors")).json()
    codes = [(e["user"] if isinstance(e["user"], str) else e["user"].get("email"),
              [(x["code"], x["path"]) for x in e["errors"]]) for e in errors]  # fmt: skip
    assert codes == [
        (None, [("OBJECT_REQUIRED", "email")]),
        ("not-an-email", [("FORMAT", "email")]),
        ("typed@example.com", [("INVALID_TYPE", "email_verified")]),
        ("long@example.com", [("MAX_LENGTH", "given_name")]),
        ("grace@example.com", [("DUPLICATED_USER", "email")]),
        ("taken@example.com", [("DUPLICATED_USER", "email")]),
        ("not an object", [("INVALID_TYPE", "")]),
        ("meta@example.com", [("NOT_PASSED", "app_metadata")]),
        ("hash@example.com", [("PATTERN", "password_hash")]),
    ]
    assert all(x["message"] for e in errors for x in e["errors"])

    [grace] = await user_by_email(api, "grace@example.com")
    assert grace["user_id"].startswith("auth0|") and grace["name"] == "Grace Hopper"
    assert grace["user_metadata"] == {"plan": "pro"} and grace["email_verified"] is False
    assert grace["identities"][0]["connection"] == CONNECTION
    [linus] = await user_by_email(api, "linus@example.com")
    assert linus["user_id"] == "auth0|abc123" and linus["username"] == "linus"
    async with container.unit_of_work() as uow:
        credentials = await uow.session.scalar(
            select(func.count())
            .select_from(PasswordCredential)
            .where(PasswordCredential.user_id.in_([grace["user_id"], linus["user_id"]]))
        )
    assert credentials == 2
    types = await log_types(container)
    # One event for the whole job, none per imported user (the one "ss" is taken@).
    assert types.count("sui") == 1 and types.count("ss") == 1


async def test_upsert_overwrites_only_upsertable_fields(
    api: httpx.AsyncClient, container: Container
) -> None:
    user = await create_user(
        container, "ada@example.com", user_metadata={"a": 1, "b": 2}, username="ada"
    )
    job = await import_and_run(
        api,
        container,
        [
            {
                "email": "ada@example.com",
                "user_metadata": {"c": 3},
                "name": "Ada King",
                "email_verified": True,
                "blocked": True,
                "username": "other",
            },
            {"email": "new@example.com"},
        ],
        upsert="true",
    )
    assert job["summary"] == {"failed": 0, "updated": 1, "inserted": 1, "total": 2}
    [ada] = await user_by_email(api, "ada@example.com")
    assert ada["user_id"] == user["user_id"]
    assert ada["user_metadata"] == {"c": 3}
    assert ada["name"] == "Ada King" and ada["email_verified"] is True
    assert ada["blocked"] is False and ada["username"] == "ada"
    assert (await api.get(f"/api/v2/jobs/{job['id']}/errors")).status_code == 204


async def password_client(container: Container) -> dict[str, str]:
    async with container.unit_of_work() as uow:
        made = await container.clients.create(
            uow.session, name="Shop", app_type="regular_web", grant_types=["password"]
        )
        connection = await container.connections.by_name(uow.session, CONNECTION)
        await container.connections.enable_for(uow.session, connection, made.client.client_id)
        await uow.commit()
    return {"client_id": made.client.client_id, "client_secret": made.client_secret}


async def password_grant(
    client: httpx.AsyncClient, app: dict[str, str], email: str, password: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "username": email,
            "password": password,
            "scope": "openid",
            **app,
        },
    )


async def stored_hash(container: Container, email: str) -> str:
    async with container.unit_of_work() as uow:
        value = await uow.session.scalar(
            select(PasswordCredential.password_hash).where(PasswordCredential.email_key == email)
        )
    assert value is not None
    return value


async def test_imported_password_hashes_log_in_and_are_rehashed(
    api: httpx.AsyncClient, container: Container
) -> None:
    weak_argon2 = Argon2(time_cost=1, memory_cost=1024, parallelism=1)
    records = [
        {
            "email": "plain@example.com",
            "password_hash": bcrypt.hashpw(b"pw-one", bcrypt.gensalt(4)).decode(),
        },
        {
            "email": "bcrypt@example.com",
            "custom_password_hash": {
                "algorithm": "bcrypt",
                "hash": {"value": bcrypt.hashpw(b"pw-two", bcrypt.gensalt(4)).decode()},
            },
        },
        {
            "email": "argon@example.com",
            "custom_password_hash": {
                "algorithm": "argon2",
                "hash": {"value": weak_argon2.hash("pw-three"), "encoding": "utf8"},
            },
        },
        {
            "email": "sha@example.com",
            "custom_password_hash": {
                "algorithm": "sha256",
                "hash": {
                    "value": hashlib.sha256(b"NaCl" + b"pw-four").hexdigest(),
                    "encoding": "hex",
                },
                "salt": {"value": "NaCl", "position": "prefix"},
            },
        },
    ]  # fmt: skip
    job = await import_and_run(api, container, records)
    assert job["summary"]["inserted"] == 4, await api.get(f"/api/v2/jobs/{job['id']}/errors")
    app = await password_client(container)
    for email, password in [
        ("plain@example.com", "pw-one"),
        ("bcrypt@example.com", "pw-two"),
        ("argon@example.com", "pw-three"),
        ("sha@example.com", "pw-four"),
    ]:
        assert (await password_grant(api, app, email, "wrong")).status_code == 403
        before = await stored_hash(container, email)
        ok = await password_grant(api, app, email, password)
        assert ok.status_code == 200, (email, ok.text)
        after = await stored_hash(container, email)
        assert after != before and after.startswith("$argon2id$")
        assert (await password_grant(api, app, email, password)).status_code == 200


async def export_and_download(
    api: httpx.AsyncClient, container: Container, body: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    created = await api.post("/api/v2/jobs/users-exports", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "pending" and created.json()["type"] == "users_export"
    await run_jobs(container)
    job = (await api.get(f"/api/v2/jobs/{created.json()['id']}")).json()
    assert job["status"] == "completed" and job["location"].startswith(PUBLIC_URL)
    # The link works without the Management API token.
    download = await api.get(job["location"], headers={"Authorization": "Bearer not-a-token"})
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/gzip"
    return job, gzip.decompress(download.content).decode()


async def seed_export_users(container: Container) -> None:
    await create_user(
        container, "ada@example.com", name="=HYPERLINK(\"x\")",
        user_metadata={"interests": ["fitness", "chess"], "zip": "75001"},
    )  # fmt: skip
    await create_user(container, "bob@example.com", name='Bob "the" Builder')
    await create_user(container, "cy@example.com", user_metadata={"zip": "10115"})


async def test_json_export_with_fields(api: httpx.AsyncClient, container: Container) -> None:
    await seed_export_users(container)
    container.settings.jobs.export_chunk_size = 2  # several chunks, keyset-paged
    _, text = await export_and_download(
        api,
        container,
        {
            "format": "json",
            "fields": [
                {"name": "email"},
                {"name": "user_metadata.interests", "export_as": "interests"},
                {"name": "identities[0].connection", "export_as": "connection"},
            ],
        },
    )
    rows = [json.loads(line) for line in text.splitlines()]
    assert sorted(rows, key=lambda r: r["email"]) == [
        {"email": "ada@example.com", "interests": ["fitness", "chess"], "connection": CONNECTION},
        {"email": "bob@example.com", "connection": CONNECTION},
        {"email": "cy@example.com", "connection": CONNECTION},
    ]


async def test_json_export_without_fields_has_whole_profiles_and_honours_limit(
    api: httpx.AsyncClient, container: Container
) -> None:
    await seed_export_users(container)
    job, text = await export_and_download(
        api,
        container,
        {"format": "json", "limit": 2, "connection_id": await connection_id(container)},
    )
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 2 and all(r["user_id"].startswith("auth0|") for r in rows)
    assert rows[0]["user_id"] < rows[1]["user_id"] and "identities" in rows[0]
    assert job["limit"] == 2 and job["format"] == "json"


async def test_csv_export_escapes_cells(api: httpx.AsyncClient, container: Container) -> None:
    await seed_export_users(container)
    _, text = await export_and_download(
        api,
        container,
        {
            "format": "csv",
            "fields": [
                {"name": "email", "export_as": "Email"},
                {"name": "name"},
                {"name": "user_metadata.zip", "export_as": "zip"},
            ],
        },
    )
    lines = text.splitlines()
    assert lines[0] == '"Email","name","zip"'
    assert all(line.startswith('"') and line.endswith('"') for line in lines)
    rows = sorted(list(csv.reader(io.StringIO(text)))[1:])
    assert rows == [
        ["ada@example.com", '\'=HYPERLINK("x")', "75001"],
        ["bob@example.com", 'Bob "the" Builder', ""],
        ["cy@example.com", "cy@example.com", "10115"],
    ]


async def test_download_links_are_signed_and_expire(
    api: httpx.AsyncClient, container: Container
) -> None:
    await seed_export_users(container)
    job, _ = await export_and_download(api, container, {"format": "json"})
    location = job["location"]
    forged = location[:-4] + ("0000" if not location.endswith("0000") else "1111")
    assert (await api.get(forged)).status_code == 403
    later = location.replace("expires=", "expires=9")
    assert (await api.get(later)).status_code == 403
    expired = container.jobs.links.url(
        job["id"], f"{job['id']}.json.gz", container.clock.now() - timedelta(hours=1)
    )
    response = await api.get(expired)
    assert response.status_code == 403
    assert response.json()["errorCode"] == "invalid_signature"
    other = location.replace(job["id"], "job_0000000000000000")
    assert (await api.get(other)).status_code == 403


async def test_job_errors_and_unknown_jobs(api: httpx.AsyncClient, container: Container) -> None:
    job = await import_and_run(api, container, [{"email": "fine@example.com"}])
    assert (await api.get(f"/api/v2/jobs/{job['id']}/errors")).status_code == 204
    missing = await api.get("/api/v2/jobs/job_doesnotexist0000")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "inexistent_job"
    assert (await api.get("/api/v2/jobs/job_doesnotexist0000/errors")).status_code == 404
    anonymous = await api.get(f"/api/v2/jobs/{job['id']}", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_import_resumes_after_a_crash_without_duplicates(
    api: httpx.AsyncClient, container: Container, settings: Settings
) -> None:
    container.settings.jobs.import_chunk_size = 10
    records = [{"email": f"user{i}@example.com", "name": f"User {i}"} for i in range(25)]
    records.append({"email": "bad"})
    created = await post_import(api, records, await connection_id(container))
    job_id = created.json()["id"]

    # First worker: one chunk committed, then it "crashes" (keeps its lease, never finishes).
    assert await container.jobs.runner.claim(job_id)
    await container.jobs.runner.process(job_id, max_chunks=1)
    halfway = (await api.get(f"/api/v2/jobs/{job_id}")).json()
    assert halfway["status"] == "processing" and halfway["percentage_done"] == 38
    assert "summary" not in halfway and "time_left_seconds" in halfway

    settings.jobs.import_chunk_size = 10
    restarted, _ = create_container(
        settings, clock=FrozenClock(container.clock.now()), mail_provider=MemoryProvider()
    )
    try:
        # The dead worker's lease still holds: nobody takes the job over yet.
        assert not await restarted.jobs.runner.run_next()
        assert isinstance(restarted.clock, FrozenClock)
        restarted.clock.advance(settings.jobs.lease_seconds + 1)
        assert await restarted.jobs.runner.run_next()
        async with restarted.unit_of_work() as uow:
            job = await restarted.jobs.get(uow.session, job_id)
            users = await uow.session.scalar(select(func.count()).select_from(User))
            identities = await uow.session.scalar(select(func.count()).select_from(Identity))
        assert job.status == "completed"
        assert (job.inserted, job.failed, job.total) == (25, 1, 26)
        # The bootstrap provisioning creates no users; each imported user exists once.
        assert users == 25 and identities == 25
    finally:
        await restarted.close()
    errors = (await api.get(f"/api/v2/jobs/{job_id}/errors")).json()
    assert [e["user"] for e in errors] == [{"email": "bad"}]


async def test_verification_email_job(
    api: httpx.AsyncClient, container: Container, mailbox: MemoryProvider
) -> None:
    user = await create_user(container, "ada@example.com")
    await deliver_mail(container, mailbox)  # the sign-up verification mail
    mailbox.sent.clear()
    response = await api.post("/api/v2/jobs/verification-email", json={"user_id": user["user_id"]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["type"] == "verification_email" and body["status"] == "completed"
    assert (await api.get(f"/api/v2/jobs/{body['id']}")).json()["status"] == "completed"
    sent = await deliver_mail(container, mailbox)
    assert [m.recipient for m in sent] == ["ada@example.com"]
    missing = await api.post("/api/v2/jobs/verification-email", json={"user_id": "auth0|nope"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("records", "raw", "fields", "status", "code"),
    [
        ([], None, {"connection_id": None}, 400, "invalid_body"),
        ([], None, {"connection_id": "con_doesnotexist0000"}, 400, "inexistent_connection"),
        (None, b"{not json", {}, 400, "invalid_body"),
        (None, b'{"email": "a@example.com"}', {}, 400, "invalid_body"),
        ([], None, {"upsert": "maybe"}, 400, "invalid_body"),
    ],
)
async def test_bad_imports_are_refused(
    api: httpx.AsyncClient,
    container: Container,
    records: Any,
    raw: bytes | None,
    fields: dict[str, Any],
    status: int,
    code: str,
) -> None:
    conn = fields.pop("connection_id", await connection_id(container))
    response = await post_import(api, records, conn, raw=raw, **fields)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errorCode"] == code and body["statusCode"] == status and body["message"]
    assert body["error"] == "Bad Request"


async def test_import_file_size_is_capped(api: httpx.AsyncClient, container: Container) -> None:
    container.settings.jobs.import_max_bytes = 4096
    records = [{"email": f"user{i}@example.com"} for i in range(200)]
    response = await post_import(api, records, await connection_id(container))
    assert response.status_code == 413
    assert response.json()["message"] == "Payload content length greater than maximum allowed: 4096"
    small = await post_import(api, records[:5], await connection_id(container))
    assert small.status_code == 202


async def test_import_needs_the_users_file_and_multipart(
    api: httpx.AsyncClient, container: Container
) -> None:
    conn = await connection_id(container)
    no_file = await api.post(
        "/api/v2/jobs/users-imports", files={"other": ("x", b"[]")}, data={"connection_id": conn}
    )
    assert no_file.status_code == 400 and "users" in no_file.json()["message"]
    as_json = await api.post("/api/v2/jobs/users-imports", json={"connection_id": conn})
    assert as_json.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"format": "xml"},
        {"format": "csv", "fields": [{"name": "user_metadata"}]},
        {"format": "csv", "fields": [{"name": f"user_metadata.f{i}"} for i in range(31)]},
        {"fields": [{"nom": "email"}]},
        {"limit": 0},
        {"connection_id": "con_doesnotexist0000"},
    ],
)
async def test_bad_exports_are_refused(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.post("/api/v2/jobs/users-exports", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["statusCode"] == 400
