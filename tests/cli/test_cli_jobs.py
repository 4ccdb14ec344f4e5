"""`identa users import` and `identa users export`, run as a person would run them."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path

import pytest

from tests.cli.test_cli import run


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("IDENTA_")}
    out.update(
        IDENTA_DATA_DIR=str(tmp_path / "data"),
        IDENTA_DATABASE_URL=database_url,
        IDENTA_PUBLIC_URL="http://127.0.0.1:3999",
        IDENTA_MAIL__PROVIDER="none",
        IDENTA_JOBS__IMPORT_CHUNK_SIZE="2",
    )
    return out


def test_import_then_export(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "init")
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps(
            [
                {"email": "ada@example.com", "user_metadata": {"zip": "75001"}},
                {"email": "bob@example.com", "name": "=cmd"},
                {"email": "cy@example.com", "user_id": "cy1"},
                {"email": "broken"},
            ]
        )
    )
    done = run(
        env, "users", "import", str(users), "--connection", "Username-Password-Authentication"
    )
    job = json.loads(done.stdout)
    assert job["status"] == "completed"
    assert job["summary"] == {"failed": 1, "updated": 0, "inserted": 3, "total": 4}
    assert "refused" in done.stderr and "FORMAT" in done.stderr

    again = json.loads(
        run(
            env, "users", "import", str(users), "--connection", "Username-Password-Authentication",
            "--upsert",
        ).stdout
    )  # fmt: skip
    assert again["summary"] == {"failed": 1, "updated": 3, "inserted": 0, "total": 4}

    ndjson = run(env, "users", "export", "--fields", "email,user_metadata.zip=zip").stdout
    rows = sorted((json.loads(line) for line in ndjson.splitlines()), key=lambda r: r["email"])
    assert rows == [
        {"email": "ada@example.com", "zip": "75001"},
        {"email": "bob@example.com"},
        {"email": "cy@example.com"},
    ]

    target = tmp_path / "users.csv.gz"
    run(
        env, "users", "export", "--format", "csv", "--fields", "user_id,name",
        "--connection", "Username-Password-Authentication", "--output", str(target),
    )  # fmt: skip
    table = list(csv.reader(io.StringIO(gzip.decompress(target.read_bytes()).decode())))
    assert table[0] == ["user_id", "name"]
    assert ["auth0|cy1", "cy@example.com"] in table and [table[i][1] for i in (1, 2, 3)].count(
        "'=cmd"
    ) == 1


def test_import_into_an_unknown_connection_fails(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "init")
    users = tmp_path / "users.json"
    users.write_text("[]")
    failed = run(env, "users", "import", str(users), "--connection", "nope", check=False)
    assert failed.returncode != 0 and "nope" in failed.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    refused = run(
        env, "users", "import", str(bad), "--connection", "Username-Password-Authentication",
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "array" in refused.stderr
