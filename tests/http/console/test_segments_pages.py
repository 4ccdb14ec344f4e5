"""The segment builder and segment pages: live counts checked against the raw users, invalid
queries explained, roles (analysts and support read, admins change), export, delete and hand-off
each audited."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import text

from identa.container import Container
from tests.factories import load_demo
from tests.http.console.conftest import ConsoleLogin, ConsoleSession

MEN_INTO_FITNESS = (
    "app_metadata.demographics.gender:male AND app_metadata.demographics.interests:fitness"
)


@pytest.fixture
async def loaded(container: Container) -> Container:
    return await load_demo(container, 60, seed=5)


async def _men_into_fitness(container: Container) -> set[str]:
    """Read back with plain SQL and filtered here, not through the search code."""
    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(text("SELECT user_id, app_metadata FROM users"))
        found = set()
        for user_id, raw in rows.all():
            meta = json.loads(raw) if isinstance(raw, str) else raw
            demo = (meta or {}).get("demographics", {})
            if demo.get("gender") == "male" and "fitness" in (demo.get("interests") or []):
                found.add(user_id)
    return found


async def _audit_actions(container: Container) -> list[tuple[str, str, str | None]]:
    async with container.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT action, outcome, target_id FROM console_audit ORDER BY at, id")
        )
        return [(a, o, t) for a, o, t in rows.all() if a.startswith("segment.")]


def _count_in(html: str) -> int:
    found = re.search(r'id="query-count" data-count="(\d+)"', html)
    assert found, html[-2000:]
    return int(found.group(1))


async def _save(session: ConsoleSession, name: str, query: str) -> str:
    answer = await session.post(
        "/console/segments", {"name": name, "query": query, "description": "for the test"}
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.endswith("?created=1")
    return location.split("/")[-1].split("?")[0]


async def test_live_count_matches_the_raw_data(
    loaded: Container, console_login: ConsoleLogin
) -> None:
    analyst = await console_login("analyst")
    expected = await _men_into_fitness(loaded)
    assert expected
    live = await analyst.htmx("GET", "/console/segments/count", params={"q": MEN_INTO_FITNESS})
    assert live.status_code == 200
    assert "<html" not in live.text and _count_in(live.text) == len(expected)
    # The counted query rides along as the save form's hidden field.
    assert 'name="query" form="segment-save"' in live.text
    # Without JavaScript: the builder page itself counts its ?q=.
    page = await analyst.client.get("/console/segments", params={"q": MEN_INTO_FITNESS})
    assert page.status_code == 200 and _count_in(page.text) == len(expected)
    everyone = await analyst.htmx("GET", "/console/segments/count", params={"q": "*"})
    assert _count_in(everyone.text) == 60
    empty = await analyst.htmx("GET", "/console/segments/count", params={"q": "  "})
    assert "Type a query" in empty.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("name:(unclosed", "Invalid segment query"),
        ("nosuchfield:1", "unknown field"),
        ("logins_count:[5 TO", "Invalid segment query"),
        ("x" * 2001, "longer than 2000"),
    ],
)
async def test_invalid_queries_get_the_syntax_message(
    console_login: ConsoleLogin, query: str, message: str
) -> None:
    session = await console_login("analyst")
    live = await session.htmx("GET", "/console/segments/count", params={"q": query})
    assert live.status_code == 200
    assert 'id="query-error"' in live.text and message in live.text
    page = await session.client.get("/console/segments", params={"q": query})
    assert page.status_code == 200 and message in page.text


async def test_admin_saves_opens_exports_and_deletes(
    loaded: Container, console_login: ConsoleLogin
) -> None:
    admin = await console_login("admin")
    expected = await _men_into_fitness(loaded)
    segment_id = await _save(admin, "Runners", MEN_INTO_FITNESS)

    listing = await admin.client.get("/console/segments")
    row = re.search(rf'data-segment="{segment_id}">.*?data-count="(\d+)"', listing.text, re.S)
    assert row and int(row.group(1)) == len(expected)
    assert "data-chart=" in listing.text

    detail = await admin.client.get(f"/console/segments/{segment_id}?created=1")
    assert detail.status_code == 200
    assert "Segment saved." in detail.text
    assert f'data-count="{len(expected)}"' in detail.text
    assert 'data-canvas="chart-trend"' in detail.text
    linked = set(re.findall(r'href="/console/customers/([^"]+)"', detail.text))
    assert len(linked) == min(25, len(expected))
    assert {link.replace("%7C", "|") for link in linked} <= expected

    exported = await admin.client.get(f"/console/segments/{segment_id}/export?format=csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert f'filename="segment-{segment_id}.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["user_id"] for r in rows} == expected
    as_json = await admin.client.get(f"/console/segments/{segment_id}/export?format=json")
    assert {u["user_id"] for u in as_json.json()} == expected
    bad = await admin.client.get(f"/console/segments/{segment_id}/export?format=xml")
    assert bad.status_code == 400 and "Export as csv or json." in bad.text

    deleted = await admin.post(f"/console/segments/{segment_id}/delete")
    assert deleted.status_code == 303
    after = await admin.client.get(deleted.headers["location"])
    assert "Segment “Runners” deleted." in after.text and segment_id not in after.text
    gone = await admin.client.get(f"/console/segments/{segment_id}")
    assert gone.status_code == 404 and "Segment not found" in gone.text

    assert await _audit_actions(loaded) == [
        ("segment.create", "success", segment_id),
        ("segment.export", "success", segment_id),
        ("segment.export", "success", segment_id),
        ("segment.delete", "success", segment_id),
    ]


async def test_an_empty_segment_exports_valid_empty_files(
    loaded: Container, console_login: ConsoleLogin
) -> None:
    admin = await console_login("admin")
    segment_id = await _save(admin, "Nobody", "email:nobody-at-all@nowhere.example")
    detail = await admin.client.get(f"/console/segments/{segment_id}")
    assert 'data-count="0"' in detail.text and "No members" in detail.text
    exported = await admin.client.get(f"/console/segments/{segment_id}/export?format=csv")
    assert exported.status_code == 200
    lines = exported.text.strip().splitlines()
    assert len(lines) == 1 and "user_id" in lines[0]
    as_json = await admin.client.get(f"/console/segments/{segment_id}/export?format=json")
    assert as_json.json() == []


async def test_saving_refuses_bad_input_and_changes_nothing(
    loaded: Container, console_login: ConsoleLogin
) -> None:
    admin = await console_login("admin")
    await _save(admin, "Runners", MEN_INTO_FITNESS)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "Broken", "query": "name:(unclosed"}, "Invalid segment query"),
        ({"name": "", "query": "*"}, "Give the segment a name."),
        ({"name": "Empty", "query": ""}, "must not be empty"),
        ({"name": "Runners", "query": "*"}, "A segment named &#39;Runners&#39; already exists."),
    ]
    for form, message in cases:
        answer = await admin.post("/console/segments", form)
        assert answer.status_code == 400, form
        assert 'id="save-error"' in answer.text and message in answer.text, answer.text[-800:]
    listing = await admin.client.get("/console/segments")
    assert len(re.findall(r"data-segment=", listing.text)) == 1
    assert [a for a, _o, _t in await _audit_actions(loaded)] == ["segment.create"]


@pytest.mark.parametrize("role", ["analyst", "support"])
async def test_analyst_and_support_view_but_do_not_change(
    loaded: Container, console_login: ConsoleLogin, role: str
) -> None:
    admin = await console_login("admin")
    segment_id = await _save(admin, "Runners", MEN_INTO_FITNESS)
    reader = await console_login(role)
    builder = await reader.client.get("/console/segments")
    assert builder.status_code == 200
    assert 'id="segment-save"' not in builder.text and "Only admins can save" in builder.text
    detail = await reader.client.get(f"/console/segments/{segment_id}")
    assert detail.status_code == 200
    assert "Delete segment" not in detail.text and "Hand off" not in detail.text
    exported = await reader.client.get(f"/console/segments/{segment_id}/export?format=csv")
    assert exported.status_code == 200
    for path, form in (
        ("/console/segments", {"name": "Mine", "query": "*"}),
        (f"/console/segments/{segment_id}/delete", {}),
        (f"/console/segments/{segment_id}/handoff", {"log_stream_id": "x"}),
    ):
        refused = await reader.post(path, form)
        assert refused.status_code == 403, path
    still = await admin.client.get(f"/console/segments/{segment_id}")
    assert still.status_code == 200
    listing = await admin.client.get("/console/segments")
    assert "Mine" not in listing.text


async def test_handoff_to_a_log_stream(loaded: Container, console_login: ConsoleLogin) -> None:
    admin = await console_login("admin")
    expected = await _men_into_fitness(loaded)
    segment_id = await _save(admin, "Runners", MEN_INTO_FITNESS)
    none_yet = await admin.client.get(f"/console/segments/{segment_id}")
    assert "No log streams yet" in none_yet.text
    async with loaded.unit_of_work() as uow:
        stream = await loaded.streams.create(
            uow.session,
            name="Campaign hook",
            type_="http",
            sink={"httpEndpoint": "https://hooks.example.com/in", "httpContentType":
                  "application/json", "httpContentFormat": "JSONOBJECT"},
        )  # fmt: skip
        stream_id = stream.id
        await uow.commit()
    page = await admin.client.get(f"/console/segments/{segment_id}")
    assert f'value="{stream_id}"' in page.text
    missing = await admin.post(
        f"/console/segments/{segment_id}/handoff", {"log_stream_id": "lst_nope"}
    )
    assert missing.status_code == 400 and "That log stream does not exist." in missing.text
    sent = await admin.post(
        f"/console/segments/{segment_id}/handoff",
        {"log_stream_id": stream_id, "campaign": "spring-run"},
    )
    assert sent.status_code == 200, sent.text
    assert f"Handed {len(expected):,} members" in sent.text and "spring-run" in sent.text
    async with loaded.unit_of_work() as uow:
        rows = await uow.session.execute(
            text("SELECT payload FROM outbox WHERE event_type = 'segment.handoff'")
        )
        payloads = [json.loads(p) if isinstance(p, str) else p for (p,) in rows.all()]
    assert {p["user_id"] for p in payloads} == expected
    assert {p["campaign"] for p in payloads} == {"spring-run"}
    actions = await _audit_actions(loaded)
    assert actions[-1] == ("segment.handoff", "success", segment_id)
