"""What rules must not reach: files, environment, OS modules, interpreter internals, the network."""

from __future__ import annotations

import pytest

from identa.rules.runtime import RuleRunner
from tests.standins.server import StandinServer
from tests.unit.rules.conftest import run


async def _error(runner: RuleRunner, script: str, **options: object) -> str:
    outcome = await run(runner, script, **options)  # type: ignore[arg-type]
    assert outcome.status == "error", outcome
    assert outcome.error is not None
    return outcome.error.message


PYTHON_REFUSED = {
    "open": ("open('/etc/passwd').read()", "PermissionError: rules cannot open files"),
    "import os": ("__import__", "'__import__' is not available to rules"),
    "os.environ": ("import os\n    os.environ['HOME']", "import of 'os' is not allowed"),
    "socket": ("import socket", "import of 'socket' is not allowed"),
    "subprocess": ("import subprocess", "import of 'subprocess' is not allowed"),
    "ctypes": ("from ctypes import CDLL", "import of 'ctypes' is not allowed"),
    "sys": ("import sys", "import of 'sys' is not allowed"),
    "dunder": ("().__class__.__bases__[0].__subclasses__()", "is not available to rules"),
    "getattr": ("getattr((), '__cl' + 'ass__')", "attribute '__class__' is not available"),
    "frames": ("(x for x in []).gi_frame", "attribute 'gi_frame'"),
    "eval": ("eval('1')", "'eval' is not available to rules"),
    "module internals": ("import json\n    json.decoder", "has no attribute 'decoder'"),
    "relative": ("from . import x", "import of '' is not allowed"),
}


@pytest.mark.parametrize("case", sorted(PYTHON_REFUSED))
async def test_python_refusals(runner: RuleRunner, case: str) -> None:
    body, expected = PYTHON_REFUSED[case]
    script = f"def rule(user, context, configuration, api):\n    {body}\n"
    assert expected in await _error(runner, script)


async def test_python_allowed_modules(runner: RuleRunner) -> None:
    script = """
import hashlib, json, re, math, base64, random, time
from datetime import datetime, timezone
from urllib.parse import urlencode
import logging

log = logging.getLogger("rule")

def rule(user, context, configuration, api):
    digest = hashlib.sha256(user["email"].encode()).hexdigest()[:8]
    born = datetime.strptime("1990-04-12", "%Y-%m-%d").replace(tzinfo=timezone.utc)
    log.info("digest %s", digest)
    context["idToken"]["https://ns/x"] = {
        "digest": digest, "year": born.year, "q": urlencode({"a": 1}),
        "b64": base64.b64encode(b"hi").decode(), "sqrt": math.sqrt(16),
        "match": bool(re.match(r"^john", user["email"])), "json": json.dumps([1]),
    }
"""
    outcome = await run(runner, script)
    assert outcome.status == "continue", outcome.error
    claim = outcome.id_token_claims["https://ns/x"]
    assert claim["year"] == 1990 and claim["q"] == "a=1" and claim["b64"] == "aGk="
    assert outcome.records[0].console.startswith("INFO:rule:digest ")


JS_REFUSED = {
    "fs": ("require('fs').readFileSync('/etc/passwd')", "Cannot find module 'fs'"),
    "child_process": ("require('child_process')", "Cannot find module 'child_process'"),
    "net": ("require('net')", "Cannot find module 'net'"),
    "process.env": ("process.env.HOME", "process.env is not available to rules"),
}


@pytest.mark.parametrize("case", sorted(JS_REFUSED))
async def test_javascript_refusals(runner: RuleRunner, case: str) -> None:
    body, expected = JS_REFUSED[case]
    script = f"function (user, context, callback) {{ {body}; callback(null, user, context); }}"
    assert expected in await _error(runner, script)


async def test_worker_has_no_environment_and_no_files(runner: RuleRunner) -> None:
    """Defense in depth below the language layer (reported by the worker at start)."""
    confinement = runner.pool.confinement()
    assert confinement["memory_bytes"] == 384 << 20
    if not confinement.get("chroot"):
        pytest.skip("user namespaces are not available on this machine")
    assert confinement["network_namespace"] is True
    assert confinement["capabilities_dropped"] is True


PY_FETCH = """
def rule(user, context, configuration, api):
    try:
        api.http.get(configuration["URL"])
    except api.HttpError as exc:
        context["idToken"]["https://ns/error"] = str(exc)
"""
JS_FETCH = """function (user, context, callback) {
  request.get({ url: configuration.URL }, function (err, response, body) {
    context.idToken['https://ns/error'] = err ? err.message : 'no error';
    callback(null, user, context);
  });
}"""


@pytest.mark.parametrize("runtime", ["python", "javascript"])
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("http://127.0.0.1:{port}/enrich", "non-public address 127.0.0.1"),
        ("http://localhost:{port}/enrich", "non-public address"),
        ("http://10.0.0.1/", "non-public address 10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "non-public address 169.254.169.254"),
        ("http://[::1]:{port}/", "non-public address ::1"),
        ("http://[fd00::1]/", "non-public address fd00::1"),
        ("file:///etc/passwd", "request"),
    ],
)
async def test_outbound_refused_by_default(
    runner: RuleRunner, api_server: StandinServer, runtime: str, target: str, expected: str
) -> None:
    script = PY_FETCH if runtime == "python" else JS_FETCH
    url = target.format(port=api_server.port)
    outcome = await run(runner, script, configuration={"URL": url})
    assert outcome.status == "continue"
    assert expected in outcome.id_token_claims["https://ns/error"]
    assert not api_server.requests or all(r.path != "/" for r in api_server.requests)


async def test_host_outside_an_explicit_list(runner: RuleRunner, api_server: StandinServer) -> None:
    outcome = await run(
        runner, PY_FETCH, configuration={"URL": "http://93.184.216.34/"},
        allowed_hosts=[api_server.host],
    )  # fmt: skip
    assert outcome.id_token_claims["https://ns/error"] == (
        "request refused: 93.184.216.34:80 is not in rules_allowed_hosts"
    )


async def test_redirect_to_a_private_address_is_refused(
    runner: RuleRunner, api_server: StandinServer
) -> None:
    outcome = await run(
        runner, JS_FETCH, configuration={"URL": api_server.url + "/to-private"},
        allowed_hosts=[api_server.host, "*"],
    )  # fmt: skip
    assert "non-public address 10.0.0.1" in outcome.id_token_claims["https://ns/error"]


async def test_python_socket_escape_through_builtins_fails(runner: RuleRunner) -> None:
    script = """
def rule(user, context, configuration, api):
    b = type(api).mro
"""
    assert "attribute 'mro'" in await _error(runner, script)
