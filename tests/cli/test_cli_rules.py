"""`identa rules templates`: listing the catalog and creating a rule from a template."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import text

from identa.db.engine import create_engine
from identa.rules.templates import TEMPLATES, template
from tests.cli.test_cli import env, run  # noqa: F401 - the env fixture


async def stored_rules(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT name, script, runtime, enabled, fail_open FROM rules ORDER BY name")
            )
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


def test_templates_are_listed(env: dict[str, str]) -> None:  # noqa: F811
    out = run({**env, "COLUMNS": "250"}, "rules", "templates").stdout
    for item in TEMPLATES:
        assert item.id in out, item.id
    assert "FULLCONTACT_KEY" in out


def test_a_rule_is_created_from_a_template(env: dict[str, str]) -> None:  # noqa: F811
    run(env, "init")
    made = run(env, "rules", "templates", "--create", "get-fullcontact-profile",
               "--runtime", "python", "--name", "FullContact enrichment")  # fmt: skip
    created, _ = json.JSONDecoder().raw_decode(made.stdout.strip())
    assert created["name"] == "FullContact enrichment" and created["runtime"] == "python"
    assert created["enabled"] is True and created["id"].startswith("rul_")
    assert created["configuration"] == list(template("get-fullcontact-profile").configuration)
    assert "PUT /api/v2/rules-configs/{key}" in made.stdout

    run(env, "rules", "templates", "--create", "email-verified", "--disabled")
    rows = asyncio.run(stored_rules(env["IDENTA_DATABASE_URL"]))
    assert [(r["name"], r["runtime"], bool(r["enabled"])) for r in rows] == [
        ("FullContact enrichment", "python", True),
        ("email-verified", "javascript", False),
    ]
    assert rows[0]["script"] == template("get-fullcontact-profile").script("python")
    assert bool(rows[0]["fail_open"]) is template("get-fullcontact-profile").fail_open
    assert rows[1]["script"] == template("email-verified").script("javascript")

    again = run(env, "rules", "templates", "--create", "email-verified", check=False)
    assert again.returncode == 1 and "same name" in again.stderr
    unknown = run(env, "rules", "templates", "--create", "no-such-template", check=False)
    assert unknown.returncode == 1 and "No template 'no-such-template'" in unknown.stderr
    bad = run(env, "rules", "templates", "--create", "email-verified", "--runtime", "ruby",
              check=False)  # fmt: skip
    assert bad.returncode != 0 and "python or javascript" in bad.stderr
