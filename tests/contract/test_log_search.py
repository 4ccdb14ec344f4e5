"""Log search on every database: 300 generated log events, and for each query the events the
database returns must be exactly those a plain-Python predicate, written separately from the
compiler, picks out of the same data."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from identa.container import Container
from identa.events.models import LogEvent
from identa.search.logs import compile_log_query

SEED = 20261123
COUNT = 300
TYPES = ["s", "f", "fp", "fu", "ss", "slo", "sapi", "seccft", "feccft", "scp", "limit_wc"]
DESCRIPTIONS = [
    "Wrong email or password.", "Create a rule", "Update a rule", "Delete a client",
    "Successful login", "Username invalid", "Invalid or expired ticket",
]  # fmt: skip
CLIENTS = [("cli_A1", "My App"), ("cli_B2", "Billing Portal"), ("cli_C3", "my app"),
           ("cli_D4", "Passport Admin")]  # fmt: skip
CONNECTIONS = [("con_0000000000000001", "Username-Password-Authentication", "auth0", "database"),
               ("con_0000000000000002", "google-oauth2", "google-oauth2", "social"),
               ("con_0000000000000003", "acme-saml", "samlp", "enterprise")]  # fmt: skip
NAMES = ["fred", "Fred", "alfred", "jane.smith", "jane.doe.smith", "Zoë", "bob", "mary_jane"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "node-fetch/1.0", "Python/3.11"]
HOSTS = ["login.example.com", "auth.acme.test", "Login.Example.com"]
EPOCH = datetime(2018, 1, 1, tzinfo=UTC)


def d(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class Entry:
    log_id: str
    date: datetime
    fields: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return self.fields.get(name)


def _maybe(rng: random.Random, chance: float, value: Any) -> Any:
    return value if rng.random() < chance else None


def generate() -> list[Entry]:
    rng = random.Random(SEED)
    entries: list[Entry] = []
    for index in range(COUNT):
        date = EPOCH + timedelta(seconds=rng.randrange(2 * 365 * 86400), microseconds=index)
        client_id, client_name = rng.choice(CLIENTS)
        connection_id, connection, strategy, strategy_type = rng.choice(CONNECTIONS)
        name = rng.choice(NAMES)
        user_name = _maybe(rng, 0.8, f"{name}@example.com" if rng.random() < 0.5 else name)
        fields: dict[str, Any] = {
            "type": rng.choice(TYPES),
            "description": _maybe(rng, 0.85, rng.choice(DESCRIPTIONS)),
            "client_id": _maybe(rng, 0.9, client_id),
            "client_name": _maybe(rng, 0.9, client_name),
            "connection": _maybe(rng, 0.7, connection),
            "connection_id": _maybe(rng, 0.7, connection_id),
            "strategy": _maybe(rng, 0.7, strategy),
            "strategy_type": _maybe(rng, 0.7, strategy_type),
            "user_id": _maybe(rng, 0.8, f"auth0|{rng.getrandbits(48):012x}"),
            "user_name": user_name,
            "ip": _maybe(rng, 0.95, f"198.51.100.{rng.randrange(1, 255)}"),
            "user_agent": _maybe(rng, 0.8, rng.choice(AGENTS)),
            "hostname": _maybe(rng, 0.9, rng.choice(HOSTS)),
        }
        # Ids sort by time, as the real ones do ("900" + nanoseconds + random digits).
        stamp = int(date.timestamp() * 1_000_000) * 1000
        log_id = f"900{stamp:020d}{rng.randrange(10**33):033d}"
        entries.append(Entry(log_id, date, fields))
    # Edge values the random data would rarely hit exactly.
    specials = [
        ("date", d(2018, 12, 18)), ("date", d(2018, 12, 18, 23, 59, 59, 999999)),
        ("date", d(2018, 12, 19)), ("date", d(2018, 12, 17, 23, 59, 59)),
        ("date", d(2019, 1, 1, 1)), ("date", d(2019, 1, 1, 12, 23, 45)),
        ("date", d(2019, 1, 1, 12, 23, 44, 999999)),
        ("user_id", "123"), ("user_id", "1234"), ("user_name", "100%_sure"),
        ("user_name", "100x_sure"), ("description", "Back\\slash*star"),
        ("description", "Rule: [x] done?"), ("user_name", "Grüße 😀"),
        ("user_name", "jane-smith"),
    ]  # fmt: skip
    for entry, (name, value) in zip(entries[::11], specials, strict=False):
        if name == "date":
            entry.date = value
        else:
            entry.fields[name] = value
    entries[-1].fields = {"type": "w"}  # every optional field missing
    return entries


ENTRIES = generate()


@pytest.fixture
def database_url(seeded_database_url: str) -> str:
    """The tests only read: the entries are written once per module (tests/contract/conftest.py)."""
    return seeded_database_url


async def seed(container: Container) -> None:
    async with container.unit_of_work() as uow:
        first = select(LogEvent.log_id).where(LogEvent.log_id == ENTRIES[0].log_id)
        if (await uow.session.scalars(first)).first() is not None:
            return  # seeded once for the module
        rows = [{"log_id": e.log_id, "date": e.date, "details": {}, **e.fields} for e in ENTRIES]
        await uow.session.execute(insert(LogEvent), rows)
        await uow.commit()


async def search(container: Container, query: str) -> list[str]:
    where = compile_log_query(query, container.engine.dialect.name)
    async with container.unit_of_work() as uow:
        statement = select(LogEvent.log_id).where(where).order_by(LogEvent.log_id)
        return list((await uow.session.scalars(statement)).all())


# The independent oracle ----------------------------------------------------------------------

BARE = ("client_name", "connection", "description", "ip", "log_id", "type", "user_name")
SAMPLE = next(e for e in ENTRIES[5:] if e.user_id and e.client_id and e.ip)
Check = Callable[[Entry], bool]


def text(name: str, test: Callable[[str], bool]) -> Check:
    return lambda e: getattr(e, name) is not None and test(getattr(e, name))


def bare(test: Callable[[str], bool]) -> Check:
    return lambda e: any(getattr(e, f) is not None and test(getattr(e, f)) for f in BARE)


CASES: list[tuple[str, Check]] = [
    ("type:s", text("type", lambda v: v == "s")),
    ("type:s*", text("type", lambda v: v.startswith("s"))),
    ("type:(f OR fp) AND NOT connection:google-oauth2",
     lambda e: e.type in ("f", "fp") and e.connection != "google-oauth2"),
    ('description:"Wrong email or password."',
     text("description", lambda v: v == "Wrong email or password.")),
    ("description:rule", lambda e: False),  # not tokenized
    ("description:*rule", text("description", lambda v: v.endswith("rule"))),
    ("description:*RULE", lambda e: False),  # case-sensitive
    ('description:"Create a rule" OR description:Update\\ a\\ rule',
     text("description", lambda v: v in ("Create a rule", "Update a rule"))),
    ("description:Back\\\\slash\\**", text("description", lambda v: v.startswith("Back\\slash*"))),
    ('description:"Rule: [x] done?"', text("description", lambda v: v == "Rule: [x] done?")),
    ("user_name:*fred*", text("user_name", lambda v: "fred" in v)),
    ("user_name:Fred*", text("user_name", lambda v: v.startswith("Fred"))),
    ("user_name:jane*smith", text("user_name", lambda v: v.startswith("jane") and
                                  v.endswith("smith"))),
    ("user_name:100%_*", text("user_name", lambda v: v.startswith("100%_"))),
    ('user_name:"Grüße 😀" OR user_name:Zo*', text("user_name", lambda v: v == "Grüße 😀" or
                                                   v.startswith("Zo"))),
    ('user_id:"123"', text("user_id", lambda v: v == "123")),
    ("user_id:auth0*", text("user_id", lambda v: v.startswith("auth0|"))),
    (f'user_id:"{SAMPLE.user_id}"', text("user_id", lambda v: v == SAMPLE.user_id)),
    (f"client_id:{SAMPLE.client_id}", text("client_id", lambda v: v == SAMPLE.client_id)),
    ('client_name:"my app"', text("client_name", lambda v: v == "my app")),
    ("client_name:[A TO N}", text("client_name", lambda v: "A" <= v < "N")),
    ("connection_id:con_0000000000000003", text("connection_id", lambda v: v.endswith("3"))),
    ("strategy:samlp OR strategy_type:social",
     lambda e: e.strategy == "samlp" or e.strategy_type == "social"),
    ("hostname:login.example.com", text("hostname", lambda v: v == "login.example.com")),
    ("user_agent:curl*", text("user_agent", lambda v: v.startswith("curl"))),
    ("user_agent:*Linux*", text("user_agent", lambda v: "Linux" in v)),
    (f"ip:{SAMPLE.ip}", text("ip", lambda v: v == SAMPLE.ip)),
    ("ip:198.51.100.1*", text("ip", lambda v: v.startswith("198.51.100.1"))),
    ("date:2018-12-18", lambda e: d(2018, 12, 18) <= e.date < d(2018, 12, 19)),
    ("date:[2018-12-18 TO *]", lambda e: e.date >= d(2018, 12, 18)),
    ("date:[* TO 2018-12-19}", lambda e: e.date < d(2018, 12, 19)),
    ("date:[2018-12 TO 2019-01-01}", lambda e: d(2018, 12, 1) <= e.date < d(2019, 1, 1)),
    ("date:{2018-12-17 TO 2018-12-18]", lambda e: d(2018, 12, 18) <= e.date < d(2018, 12, 19)),
    ("date:[2019-01-01T01:00:00 TO 2019-01-01T12:23:45}",
     lambda e: d(2019, 1, 1, 1) <= e.date < d(2019, 1, 1, 12, 23, 45)),
    ('date:["2019-01-01T02:00:00+01:00" TO 2019-06]',
     lambda e: d(2019, 1, 1, 1) <= e.date < d(2019, 7, 1)),
    ("date:2019", lambda e: e.date.year == 2019),
    (f"log_id:[{SAMPLE.log_id} TO *]", lambda e: e.log_id >= SAMPLE.log_id),
    (f"log_id:{SAMPLE.log_id}", lambda e: e.log_id == SAMPLE.log_id),
    ("fred", bare(lambda v: v == "fred")),
    ("Fred*", bare(lambda v: v.startswith("Fred"))),
    ("*rule", bare(lambda v: v.endswith("rule"))),
    ('"Billing Portal"', bare(lambda v: v == "Billing Portal")),
    ("fp OR fu", bare(lambda v: v in ("fp", "fu"))),
    ("NOT user_name:fred", lambda e: e.user_name != "fred"),
    ("-type:s +_exists_:user_agent", lambda e: e.type != "s" and e.user_agent is not None),
    ("NOT _exists_:description", lambda e: e.description is None),
    ("connection:*", lambda e: e.connection is not None),
    ("organization_id:org_123", lambda e: False),
    ("NOT organization_id:*", lambda e: True),
    ("(type:s OR type:ss) AND date:[2019-01-01 TO *] AND client_name:*App*",
     lambda e: e.type in ("s", "ss") and e.date >= d(2019, 1, 1) and
     e.client_name is not None and "App" in e.client_name),
    ("*", lambda e: True),
]  # fmt: skip
ALWAYS_OR_NEVER = {
    "*", "description:rule", "description:*RULE", "organization_id:org_123",
    "NOT organization_id:*",
}  # fmt: skip


@pytest.mark.parametrize(("query", "check"), CASES, ids=[query for query, _ in CASES])
async def test_search_matches_the_python_oracle(
    container: Container, query: str, check: Check
) -> None:
    expected = {e.log_id for e in ENTRIES if check(e)}
    if query not in ALWAYS_OR_NEVER:
        assert 0 < len(expected) < COUNT, "the data does not exercise this query"
    await seed(container)
    found = await search(container, query)
    assert len(found) == len(set(found))
    missing, unexpected = sorted(expected - set(found)), sorted(set(found) - expected)
    assert not missing and not unexpected, f"missing {missing[:3]}, unexpected {unexpected[:3]}"
