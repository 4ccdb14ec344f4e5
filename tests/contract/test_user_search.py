"""User search on every database: 300 generated users, and for each query the users the
database returns must be exactly those a plain-Python predicate, written separately from the
compiler, picks out of the same data."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from identa.connections.models import Connection
from identa.container import Container
from identa.identity.models import Identity, User
from identa.search import InvalidQuery, compile_user_query, parse_user_query, sort_clause
from tests.conftest import fresh_database_url

SEED = 20261122
COUNT = 300
CONNECTIONS = {  # name → (provider, social)
    "Username-Password-Authentication": ("auth0", False),
    "google-oauth2": ("google-oauth2", True),
    "github": ("github", True),
    "acme-saml": ("samlp", False),
}
FIRST = ["Jane", "John", "Alice", "Bob", "Richard", "Marusa", "Zoë", "José", "Mei", "Omar",
         "Ivan", "Sara", "Anne_Marie", "Tom"]  # fmt: skip
LAST = ["Smith", "Johnson", "Doe", "Richardson", "Mueller", "Garcia", "Nguyen", "Khan",
        "Anderson", "Jackson", "Petrov", "Rossi"]  # fmt: skip
DOMAINS = ["example.com", "Example.ORG", "mail.test", "corp.example.net"]
CITIES = ["Paris", "Berlin", "Dublin", "Parma", "Lisbon", "Madrid", "Porto", "Tallinn"]
INTERESTS = ["running", "fitness", "cooking", "chess", "music", "travel"]
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def d(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class Person:
    user_id: str
    created_at: datetime
    fields: dict[str, Any]
    identities: list[tuple[str, str]] = field(default_factory=list)  # (connection, id at IdP)

    def __getattr__(self, name: str) -> Any:
        return self.fields.get(name)


def _maybe(rng: random.Random, chance: float, value: Any) -> Any:
    return value if rng.random() < chance else None


ABSENT = object()


def _one(rng: random.Random, *weighted: tuple[float, Any]) -> Any:
    """One of the values, each with its probability; ABSENT for the rest."""
    roll = rng.random()
    for chance, value in weighted:
        if roll < chance:
            return value
        roll -= chance
    return ABSENT


def _metadata(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    age = rng.randrange(16, 80)
    user = {
        "gender": _one(rng, (0.8, rng.choice(["male", "female", "other"]))),
        "age": _one(rng, (0.55, age), (0.1, str(age)), (0.05, float(age)), (0.05, None)),
        "birthdate": _one(rng, (0.5, f"{rng.randrange(1950, 2008)}-{rng.randrange(1, 13):02d}-15")),
        "city": _one(rng, (0.7, rng.choice(CITIES))),
        "interests": _one(rng, (0.5, rng.sample(INTERESTS, rng.randrange(0, 4))), (0.05, "chess")),
        "prefs": _one(rng, (0.4, {"theme": rng.choice(["dark", "light"]), "font": {"size": 13}}),
                      (0.05, {})),
        "addresses": _one(rng, (0.3, [{"city": rng.choice(CITIES), "zip": str(rng.randrange(10**5))}
                                      for _ in range(rng.randrange(1, 3))])),
    }  # fmt: skip
    app = {
        "plan": _one(rng, (0.9, rng.choice(["free", "pro", "enterprise"]))),
        "score": _one(rng, (0.7, rng.choice([0.25, 0.5, 1, round(rng.random(), 2)]))),
        "beta": _one(rng, (0.3, rng.random() < 0.5), (0.05, "true")),
        "subscription": _one(rng, (0.2, {"plan": rng.choice(["gold", "silver"])})),
    }
    return (
        {key: value for key, value in user.items() if value is not ABSENT},
        {key: value for key, value in app.items() if value is not ABSENT},
    )


def generate() -> list[Person]:
    rng = random.Random(SEED)
    people: list[Person] = []
    previous_created = EPOCH
    for index in range(COUNT):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        connection = rng.choices(list(CONNECTIONS), weights=[60, 25, 10, 5])[0]
        provider = CONNECTIONS[connection][0]
        idp_id = f"{rng.getrandbits(96):024x}" if provider == "auth0" else str(10**15 + index)
        created = EPOCH + timedelta(seconds=rng.randrange(10 * 365 * 86400), microseconds=index)
        if rng.random() < 0.1:
            created = previous_created  # ties, for the sort order
        previous_created = created
        domain = rng.choice(DOMAINS)
        local = f"{first}.{last}{index}" if rng.random() < 0.3 else f"{first}.{last}{index}".lower()
        fields: dict[str, Any] = {
            "email": _maybe(rng, 0.9, f"{local}@{domain}"),
            "email_verified": rng.random() < 0.6,
            "username": _maybe(rng, 0.4, f"{first.lower()}_{index}"),
            "phone_number": _maybe(rng, 0.2, f"+1555{rng.randrange(10**6, 10**7)}"),
            "phone_verified": rng.random() < 0.2,
            "name": _maybe(rng, 0.9, f"{first} {last}"),
            "given_name": first,
            "family_name": last,
            "nickname": _maybe(rng, 0.8, first.lower()),
            "updated_at": created + timedelta(days=rng.randrange(0, 400)),
            "last_login": _maybe(
                rng, 0.8, created + timedelta(seconds=rng.randrange(0, 3 * 365 * 86400))
            ),
            "last_ip": f"198.51.100.{rng.randrange(1, 255)}",
            "logins_count": 0 if rng.random() < 0.25 else rng.randrange(1, 400),
            "blocked": rng.random() < 0.1,
        }
        fields["user_metadata"], fields["app_metadata"] = _metadata(rng)
        person = Person(f"{provider}|{idp_id}", created, fields, [(connection, idp_id)])
        if rng.random() < 0.1:  # a linked secondary identity
            other = "google-oauth2" if connection != "google-oauth2" else "github"
            person.identities.append((other, str(2 * 10**15 + index)))
        people.append(person)
    # Edge values the random data would rarely hit exactly.
    specials = [
        ("last_login", d(2017, 12, 31, 23, 59, 59, 999999)), ("last_login", d(2018, 1, 1)),
        ("last_login", d(2017, 12, 1)), ("last_login", d(2017, 11, 30, 23, 59, 59)),
        ("logins_count", 100), ("logins_count", 200), ("nickname", "100%_sure"),
        ("nickname", "100x_sure"), ("username", "Back\\slash*star"),
    ]  # fmt: skip
    for person, (name, value) in zip(people[::7], specials, strict=False):
        person.fields[name] = value
    # The same number written three ways; and one user with every optional field missing.
    for person, age in zip(people[1:37:9], (30, 30.0, "30", 30.5), strict=True):
        person.fields["user_metadata"]["age"] = age
    notes = ['say "hi" \\ 100%', 'say "hi" \\ 100x', "a.b(c)[d]*e?", "aXb(c)[d]*e?", "Grüße 😀"]
    for person, note in zip(people[5:10], notes, strict=True):
        person.fields["user_metadata"]["note"] = note
    people[-1].fields.update(
        email=None, username=None, name=None, nickname=None, last_login=None, user_metadata={},
        app_metadata={},
    )  # fmt: skip
    return people


PEOPLE = generate()


# These tests read the generated users, written once per module (tests/contract/conftest.py);
# the others search an empty database.
SEEDED = {"test_search_matches_the_python_oracle", "test_sort_is_stable_with_missing_values_last"}


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, migrated_database: str, tmp_path: Path
) -> str:
    if request.function.__name__ in SEEDED:
        seeded: str = request.getfixturevalue("seeded_database_url")
        return seeded
    return await fresh_database_url(migrated_database, tmp_path)


async def seed(container: Container) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with container.unit_of_work() as uow:
        db = uow.session
        first = select(User.user_id).where(User.user_id == PEOPLE[0].user_id)
        if (await db.scalars(first)).first() is not None:
            return  # seeded once for the module
        ids = {c.name: c.id for c in (await db.scalars(select(Connection))).all()}
        missing = [name for name in CONNECTIONS if name not in ids]
        ids.update({name: f"con_{name.replace('-', '')[:16]:0<16}" for name in missing})
        await db.execute(
            insert(Connection),
            [{"id": ids[name], "name": name, "strategy": CONNECTIONS[name][0], "options": {},
              "metadata_": {}, "created_at": now, "updated_at": now} for name in missing],
        )  # fmt: skip
        users = [
            {"user_id": p.user_id, "created_at": p.created_at, "extra": {},
             "picture": "https://example.com/p.png", "last_password_reset": None, **p.fields}
            for p in PEOPLE
        ]  # fmt: skip
        identities = [
            {"user_id": p.user_id, "connection_id": ids[connection],
             "connection_name": connection, "provider": CONNECTIONS[connection][0],
             "provider_user_id": idp_id, "is_social": CONNECTIONS[connection][1],
             "position": position, "profile_data": None, "created_at": p.created_at}
            for p in PEOPLE
            for position, (connection, idp_id) in enumerate(p.identities)
        ]  # fmt: skip
        await db.execute(insert(User), users)
        await db.execute(insert(Identity), identities)
        await uow.commit()


async def search(container: Container, query: str, sort: str | None = None) -> list[str]:
    where = compile_user_query(query, container.engine.dialect.name)
    async with container.unit_of_work() as uow:
        statement = select(User.user_id).where(where).order_by(*sort_clause(sort))
        return list((await uow.session.scalars(statement)).all())


# The independent oracle ----------------------------------------------------------------------


def leaves(document: Any, path: str) -> list[Any]:
    """Values at a dotted path, looking through lists at each step (Auth0's array rule)."""
    current = [document]
    for key in path.split("."):
        found = []
        for value in current:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and key in item:
                    found.append(item[key])
        current = found
    return [item for value in current for item in (value if isinstance(value, list) else [value])]


def has(document: Any, path: str, *wanted: str | bool | float) -> bool:
    """Typed equality: a string equals a string, a number a number, a boolean a boolean."""
    kind = {bool: "bool", str: "str", int: "number", float: "number"}
    return any(
        value == target and kind.get(type(value)) == kind[type(target)]
        for value in leaves(document, path)
        for target in wanted
    )


def numbers(document: Any, path: str) -> list[float]:
    return [v for v in leaves(document, path) if type(v) in (int, float)]


def strings(document: Any, path: str) -> list[str]:
    return [v for v in leaves(document, path) if isinstance(v, str)]


def present(document: Any, path: str) -> bool:
    return any(v is not None and v != {} for v in leaves(document, path))


def ci(value: str | None) -> str:
    return (value or "").lower()


def connections(p: Person) -> set[str]:
    return {connection for connection, _ in p.identities}


BARE = ("email", "name", "given_name", "family_name", "nickname", "username", "user_id")
SAMPLE = next(p for p in PEOPLE[3:] if (p.email or "é").isascii() and "auth0|" in p.user_id)
Check = Callable[[Person], bool]


def um(path: str, *wanted: str | bool | float) -> Check:
    return lambda p: has(p.user_metadata, path, *wanted)


def am(path: str, *wanted: str | bool | float) -> Check:
    return lambda p: has(p.app_metadata, path, *wanted)


def text(name: str, test: Callable[[str], bool]) -> Check:
    return lambda p: getattr(p, name) is not None and test(getattr(p, name))


def strings_in(path: str, test: Callable[[str], bool]) -> Check:
    return lambda p: any(test(value) for value in strings(p.user_metadata, path))


CASES: list[tuple[str, Check]] = [
    (f'email:"{SAMPLE.email.upper()}"', lambda p: ci(p.email) == ci(SAMPLE.email)),
    ('name:"jane smith"', lambda p: ci(p.name) == "jane smith"),
    ("name:j*", lambda p: ci(p.name).startswith("j")),
    ("name:zoë*", lambda p: ci(p.name).startswith("zoë")),
    ("family_name:*son", lambda p: ci(p.family_name).endswith("son")),
    ("name:*ich*", lambda p: "ich" in ci(p.name)),
    ("family_name:[a TO J}", lambda p: "a" <= ci(p.family_name) < "j"),
    ("given_name:(alice OR Bob)", lambda p: ci(p.given_name) in ("alice", "bob")),
    ("given_name:anne_marie", lambda p: p.given_name == "Anne_Marie"),
    ("nickname:100%_*", text("nickname", lambda v: v.startswith("100%_"))),
    ("username:Back\\\\slash\\*s*", text("username", lambda v: v.startswith("Back\\slash*s"))),
    ("username:JANE_*", lambda p: False),
    ("username:jane_*", text("username", lambda v: v.startswith("jane_"))),
    ("smith", lambda p: any(ci(getattr(p, f)) == "smith" for f in BARE)),
    ("ric*", lambda p: any(ci(getattr(p, f)).startswith("ric") for f in BARE)),
    ('email.domain:"example.com"', lambda p: ci(p.email).endswith("@example.com")),
    ("email.domain:EXAMPLE.org", lambda p: ci(p.email).endswith("@example.org")),
    ("email.domain:*.example.net", lambda p: ci(p.email).endswith(".example.net")),
    ('identities.connection:"google-oauth2"', lambda p: "google-oauth2" in connections(p)),
    ("identities.provider:github AND blocked:false",
     lambda p: "github" in connections(p) and not p.blocked),
    ("NOT identities.connection:Username-Password-Authentication",
     lambda p: "Username-Password-Authentication" not in connections(p)),
    ("identities.isSocial:true", lambda p: bool(connections(p) & {"google-oauth2", "github"})),
    (f"identities.user_id:{SAMPLE.identities[0][1]}",
     lambda p: SAMPLE.identities[0][1] in {idp_id for _, idp_id in p.identities}),
    ("logins_count:0", lambda p: p.logins_count == 0),
    ("logins_count:[100 TO 200}", lambda p: 100 <= p.logins_count < 200),
    ("logins_count:{100 TO *]", lambda p: p.logins_count > 100),
    ("logins_count:>=300", lambda p: p.logins_count >= 300),
    ("created_at:[2019-01-01 TO 2019-12-31]", lambda p: p.created_at.year == 2019),
    ("created_at:2018", lambda p: p.created_at.year == 2018),
    (f"created_at:{SAMPLE.created_at:%Y-%m}",
     lambda p: f"{p.created_at:%Y-%m}" == f"{SAMPLE.created_at:%Y-%m}"),
    ("last_login:[* TO 2017-12]", lambda p: p.last_login and p.last_login < d(2018, 1, 1)),
    ("last_login:{2017-11 TO 2017-12]",
     lambda p: p.last_login and d(2017, 12, 1) <= p.last_login < d(2018, 1, 1)),
    ('updated_at:["2020-01-01T01:00:00+01:00" TO 2021-01-01T00:00:00Z}',
     lambda p: d(2020, 1, 1) <= p.updated_at < d(2021, 1, 1)),
    ("email_verified:true AND blocked:false", lambda p: p.email_verified and not p.blocked),
    ("NOT _exists_:last_login", lambda p: p.last_login is None),
    ("_exists_:username AND _exists_:phone_number", lambda p: bool(p.username and p.phone_number)),
    ("NOT _exists_:email_verified OR email_verified:false", lambda p: not p.email_verified),
    ("user_metadata.gender:female", um("gender", "female")),
    ("NOT user_metadata.gender:male", lambda p: not um("gender", "male")(p)),
    ("user_metadata.age:30", um("age", 30, "30")),
    ("user_metadata.age:[20 TO 40]",
     lambda p: any(20 <= n <= 40 for n in numbers(p.user_metadata, "age"))),
    ("user_metadata.interests:fitness", um("interests", "fitness")),
    ("user_metadata.interests:(chess AND music)",
     lambda p: um("interests", "chess")(p) and um("interests", "music")(p)),
    ('user_metadata.addresses.city:"Paris"', um("addresses.city", "Paris")),
    ("user_metadata.prefs.font.size:13", um("prefs.font.size", 13)),
    ("user_metadata.city:Par*", strings_in("city", lambda v: v.startswith("Par"))),
    ("user_metadata.city:*lin", strings_in("city", lambda v: v.endswith("lin"))),
    ("_exists_:user_metadata.interests", lambda p: present(p.user_metadata, "interests")),
    ("NOT _exists_:user_metadata.age", lambda p: not present(p.user_metadata, "age")),
    ("_exists_:user_metadata.prefs", lambda p: present(p.user_metadata, "prefs")),
    ("user_metadata.birthdate:[1990-01-01 TO 1999-12-31]",
     strings_in("birthdate", lambda v: "1990-01-01" <= v <= "1999-12-31")),
    ('user_metadata.note:"say \\"hi\\" \\\\ 100%"', um("note", 'say "hi" \\ 100%')),
    ("user_metadata.note:*100%", strings_in("note", lambda v: v.endswith("100%"))),
    ("user_metadata.note:a.b\\(c\\)\\[d\\]\\**", strings_in("note", lambda v: v[:4] == "a.b(")),
    ('user_metadata.note:"Grüße 😀" OR user_metadata.note:Grü*', um("note", "Grüße 😀")),
    ("app_metadata.plan:pro OR app_metadata.plan:enterprise", am("plan", "pro", "enterprise")),
    ("app_metadata.score:[0.5 TO *]",
     lambda p: any(n >= 0.5 for n in numbers(p.app_metadata, "score"))),
    ("app_metadata.score:{0.25 TO 0.5}",
     lambda p: any(0.25 < n < 0.5 for n in numbers(p.app_metadata, "score"))),
    ("app_metadata.score:0.25", am("score", 0.25)),
    ("app_metadata.beta:true", am("beta", True, "true")),
    ('app_metadata.subscription.plan:"gold"', am("subscription.plan", "gold")),
    ("(name:a* OR name:b*) AND NOT blocked:true AND logins_count:[1 TO *]",
     lambda p: ci(p.name)[:1] in ("a", "b") and not p.blocked and p.logins_count >= 1),
    ("-blocked:true +email_verified:true", lambda p: not p.blocked and p.email_verified),
    ("user_id:auth0*", lambda p: p.user_id.startswith("auth0|")),
    (f'user_id:"{SAMPLE.user_id}"', lambda p: p.user_id == SAMPLE.user_id),
    ("phone_number:*", lambda p: p.phone_number is not None),
    ("*", lambda p: True),
]  # fmt: skip
ALWAYS_OR_NEVER = {"*", "username:JANE_*"}


@pytest.mark.parametrize(("query", "check"), CASES, ids=[query for query, _ in CASES])
async def test_search_matches_the_python_oracle(
    container: Container, query: str, check: Check
) -> None:
    expected = {p.user_id for p in PEOPLE if check(p)}
    if query not in ALWAYS_OR_NEVER:
        assert 0 < len(expected) < COUNT, "the data does not exercise this query"
    await seed(container)
    found = await search(container, query)
    assert len(found) == len(set(found))
    missing, unexpected = sorted(expected - set(found)), sorted(set(found) - expected)
    assert not missing and not unexpected, f"missing {missing[:5]}, unexpected {unexpected[:5]}"


async def test_sort_is_stable_with_missing_values_last(container: Container) -> None:
    await seed(container)
    by_created = sorted(PEOPLE, key=lambda p: (p.created_at, p.user_id), reverse=True)
    assert await search(container, "*", "created_at:-1") == [p.user_id for p in by_created]
    logged = sorted((p for p in PEOPLE if p.last_login), key=lambda p: (p.last_login, p.user_id))
    never = sorted(p.user_id for p in PEOPLE if p.last_login is None)
    assert await search(container, "*", "last_login:1") == [p.user_id for p in logged] + never


def largest(make: Callable[[int], str]) -> str:
    """The query `make(n)` for the largest n the limits accept."""
    size = 1
    while True:
        try:
            parse_user_query(make(size + 1))
        except InvalidQuery:
            return make(size)
        size += 1


LEAVES = [
    "user_metadata.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p:x*y", "jo*", "NOT identities.user_id:1",
    "created_at:[2017 TO *]", "user_metadata.age:[1 TO 2]", "_exists_:app_metadata.x",
]  # fmt: skip


def alternating(depth: int) -> str:
    query = LEAVES[0]
    for level in range(depth):
        query = f"{LEAVES[level % len(LEAVES)]} {('OR', 'AND')[level % 2]} ({query})"
    return query


@pytest.mark.parametrize(
    "query",
    [
        largest(alternating),
        largest(lambda n: "NOT (" * n + LEAVES[0] + ")" * n),
        largest(lambda n: " OR ".join(f"w{i}*" for i in range(n))),
        largest(lambda n: " ".join(f"user_metadata.x:[{i} TO *]" for i in range(n))),
        largest(lambda n: "user_metadata.a.b:(" + " OR ".join(map(str, range(n))) + ")"),
    ],
    ids=["alternating", "not", "bare", "metadata", "field-group"],
)
async def test_the_largest_accepted_queries_run(container: Container, query: str) -> None:
    assert await search(container, query) == []
