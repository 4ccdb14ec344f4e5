"""The `identa` command, run as a person would run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

IDENTA = [sys.executable, "-m", "identa"]


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IDENTA, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("IDENTA_")}
    out.update(
        IDENTA_DATA_DIR=str(tmp_path / "data"),
        IDENTA_DATABASE_URL=database_url,
        IDENTA_PUBLIC_URL="http://127.0.0.1:3999",
        IDENTA_MAIL__PROVIDER="none",
    )
    return out


def test_version(env: dict[str, str]) -> None:
    from identa import __version__

    assert run(env, "--version").stdout.strip() == f"identa {__version__}"


def test_init_is_idempotent_and_prints_the_management_client(env: dict[str, str]) -> None:
    first = json.loads(run(env, "init", "--json").stdout)
    second = json.loads(run(env, "init", "--json").stdout)
    assert first == second
    assert first["client_id"] and first["client_secret"]
    assert first["audience"] == "http://127.0.0.1:3999/api/v2/"
    secret_file = Path(env["IDENTA_DATA_DIR"]) / "bootstrap-client.json"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"


def test_bootstrap_client_can_be_fixed_by_environment(env: dict[str, str]) -> None:
    env = {
        **env,
        "IDENTA_BOOTSTRAP_CLIENT_ID": "ci-client",
        "IDENTA_BOOTSTRAP_CLIENT_SECRET": "ci-secret-value",
    }
    out = json.loads(run(env, "init", "--json").stdout)
    assert (out["client_id"], out["client_secret"]) == ("ci-client", "ci-secret-value")
    rotated = json.loads(
        run({**env, "IDENTA_BOOTSTRAP_CLIENT_SECRET": "new-secret"}, "init", "--json").stdout
    )
    assert rotated["client_secret"] == "new-secret"


def test_users_create_and_unblock(env: dict[str, str]) -> None:
    run(env, "init")
    created = json.loads(
        run(
            env,
            "users",
            "create",
            "--email",
            "Cli@Example.com",
            "--password",
            "Correct-Horse-9",
            "--name",
            "Cli User",
            "--verified",
        ).stdout
    )
    assert created["email"] == "cli@example.com" and created["email_verified"] is True
    assert created["user_id"].startswith("auth0|") and created["name"] == "Cli User"
    duplicate = run(
        env,
        "users",
        "create",
        "--email",
        "cli@example.com",
        "--password",
        "Correct-Horse-9",
        check=False,
    )
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    weak = run(env, "users", "create", "--email", "w@example.com", "--password", "x", check=False)
    assert weak.returncode != 0 and "weak" in weak.stderr.lower()
    assert "released 0 block(s)" in run(env, "users", "unblock", "cli@example.com").stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_initialises_an_empty_data_dir_and_says_where_to_go(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**env, "IDENTA_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("IDENTA_DATABASE_URL")  # the embedded default: SQLite in the data dir
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*IDENTA, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        page = httpx.get(f"http://127.0.0.1:{port}/u/signup", follow_redirects=True, timeout=5)
        assert page.status_code == 200 and "Create your account" in page.text
    finally:
        process.terminate()
        process.wait(timeout=20)
    output = log_path.read_text()
    assert "Initialised Identa" in output
    assert f"http://127.0.0.1:{port}/u/signup" in output
    assert (Path(env["IDENTA_DATA_DIR"]) / "identa.db").exists()
    assert '"logger": "identa.http"' in output and '"request_id"' in output


def test_keys_rotate_adds_a_key(env: dict[str, str]) -> None:
    run(env, "init")
    first = run(env, "keys", "rotate").stderr
    second = run(env, "keys", "rotate", "--alg", "ES256").stderr
    assert "new RS256 signing key" in first and "new ES256 signing key" in second
    bad = run(env, "keys", "rotate", "--alg", "HS256", check=False)
    assert bad.returncode == 2 and "RS256, ES256, EdDSA" in bad.stderr
