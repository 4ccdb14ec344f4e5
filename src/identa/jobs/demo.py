"""`identa demo`: the InnovaShoes data set — customers across connections, genders, ages,
countries and interests, a year of logins (log events with IPs, user agents and places), some
who never came back, and Twitter mentions scored for sentiment.

Everything is written with Core executemany in one transaction, then the analytics counters are
rebuilt from the login facts in SQL. The demo refuses to run twice (its customers' ids are
`<provider>|demo…`); it never streams: its events are not put in the outbox.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.analytics import rollups
from identa.analytics.models import LoginFact
from identa.analytics.periods import month_of, week_of
from identa.connections.models import Connection
from identa.connections.service import ConnectionService
from identa.enrichment.demographics import age_band, age_on, demographics_of
from identa.enrichment.models import (
    CustomerDevice,
    CustomerInterest,
    CustomerMention,
    CustomerProfile,
)
from identa.enrichment.sentiment import SentimentScorer
from identa.enrichment.service import MIRRORED_PLACE, demographics_document
from identa.enrichment.useragent import describe
from identa.events.catalog import strategy_type
from identa.events.models import LogEvent
from identa.identity.models import Identity, User
from identa.jobs.rawrows import RawRows
from identa.search.index import insert_terms_paused

CONNECTIONS = (  # name, strategy, provider, share
    ("Username-Password-Authentication", "auth0", "auth0", 0.45),
    ("google-oauth2", "google-oauth2", "google-oauth2", 0.25),
    ("facebook", "facebook", "facebook", 0.20),
    ("twitter", "twitter", "twitter", 0.10),
)
PLACES = (  # country code, country, region, city, lat, lon, time zone, weight, ip prefix
    ("US", "United States", "California", "San Francisco", 37.77, -122.42, "America/Los_Angeles", 22, "8.20"),  # noqa: E501
    ("US", "United States", "New York", "New York", 40.71, -74.01, "America/New_York", 14, "8.21"),
    ("GB", "United Kingdom", "England", "London", 51.51, -0.13, "Europe/London", 10, "81.2"),
    ("DE", "Germany", "Berlin", "Berlin", 52.52, 13.40, "Europe/Berlin", 8, "85.1"),
    ("FR", "France", "Île-de-France", "Paris", 48.86, 2.35, "Europe/Paris", 8, "90.1"),
    ("ES", "Spain", "Madrid", "Madrid", 40.42, -3.70, "Europe/Madrid", 6, "83.3"),
    ("BR", "Brazil", "São Paulo", "São Paulo", -23.55, -46.63, "America/Sao_Paulo", 8, "177.1"),
    ("IN", "India", "Maharashtra", "Mumbai", 19.08, 72.88, "Asia/Kolkata", 9, "49.3"),
    ("JP", "Japan", "Tokyo", "Tokyo", 35.68, 139.69, "Asia/Tokyo", 6, "126.1"),
    ("CA", "Canada", "Ontario", "Toronto", 43.65, -79.38, "America/Toronto", 5, "99.2"),
    ("AU", "Australia", "New South Wales", "Sydney", -33.87, 151.21, "Australia/Sydney", 4, "1.12"),
)  # fmt: skip
USER_AGENTS = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36", 30),  # noqa: E501
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", 12),  # noqa: E501
    ("Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", 5),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", 25),  # noqa: E501
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36", 20),  # noqa: E501
    ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", 5),  # noqa: E501
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0", 3),  # noqa: E501
)  # fmt: skip
INTERESTS = ("fitness", "running", "fashion", "travel", "music", "technology", "football",
             "yoga", "outdoors", "gaming", "basketball", "cooking")  # fmt: skip
TWEETS = (
    "Love my new @InnovaShoes runners, best purchase this year!",
    "@InnovaShoes delivery was fast and the shoes are great",
    "Ran my first half marathon in @InnovaShoes, amazing comfort",
    "@InnovaShoes the sole came apart after two weeks. Terrible quality.",
    "Still waiting for my @InnovaShoes refund, awful customer service",
    "@InnovaShoes shoes are ok I guess",
    "Saw the @InnovaShoes ad today",
)
FIRST = ("Alex", "Sam", "Maria", "John", "Li", "Fatima", "Lucas", "Emma", "Noah", "Aisha", "Yuki",
         "Carlos", "Olivia", "Ravi", "Chloe", "Tom")  # fmt: skip
LAST = ("Smith", "Garcia", "Müller", "Martin", "Tanaka", "Silva", "Khan", "Brown", "Rossi", "Kim")


class DemoAlreadyLoaded(Exception):
    pass


@dataclass(frozen=True)
class DemoReport:
    customers: int
    events: int
    mentions: int
    seconds: float


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


async def _connections(db: AsyncSession, connections: ConnectionService) -> dict[str, Connection]:
    found: dict[str, Connection] = {}
    for name, strategy, _provider, _share in CONNECTIONS:
        existing = await db.scalar(select(Connection).where(Connection.name == name))
        found[name] = existing or await connections.create(db, name=name, strategy=strategy)
    return found


def _log_id(at: datetime, rng: random.Random) -> str:
    return f"900{int(at.timestamp() * 1e9):020d}{rng.randrange(10**33):033d}"


async def build_demo(
    db: AsyncSession,
    connections: ConnectionService,
    *,
    customers: int,
    now: datetime,
    seed: int = 2016,
    facts: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DemoReport:
    """Writes the data set in the caller's transaction (the caller commits). With `facts`
    False only the log events are written and the analytics rollup counts them later."""
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    if await db.scalar(select(func.count()).select_from(User).where(User.user_id.like("%|demo%"))):
        raise DemoAlreadyLoaded("the demo data set is already loaded (customers named *|demo*)")
    rng = random.Random(seed)
    by_name = await _connections(db, connections)
    agents = [(ua, describe(ua)) for ua, _w in USER_AGENTS]
    agent_weights = [w for _ua, w in USER_AGENTS]
    place_weights = [p[7] for p in PLACES]
    conn_weights = [c[3] for c in CONNECTIONS]
    scorer = SentimentScorer()
    today = now.date()
    users: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    fact_rows: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    interests_rows: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    for i in range(customers):
        name, strategy, provider, _ = rng.choices(CONNECTIONS, conn_weights)[0]
        connection = by_name[name]
        local = f"demo{i:07d}"
        user_id = f"{provider}|{local}"
        gender = rng.choices(("male", "female", "other"), (48, 48, 4))[0]
        born = date(today.year - rng.randint(16, 72), rng.randint(1, 12), rng.randint(1, 28))
        likes = rng.sample(INTERESTS, rng.randint(0, 4))
        if gender == "male" and rng.random() < 0.3 and "fitness" not in likes:
            likes.append("fitness")
        place = rng.choices(PLACES, place_weights)[0]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{last.lower()}.{i}@example.com"
        extra: dict[str, Any] = {}
        user_metadata: dict[str, Any] = {}
        if provider == "facebook":
            extra = {"gender": gender, "birthday": born.strftime("%m/%d/%Y"), "interests": likes}
        elif provider == "google-oauth2":
            extra = {"gender": gender, "locale": "en"}
            user_metadata = {"interests": likes, "birthdate": born.isoformat()}
        elif provider == "twitter":
            extra = {"screen_name": f"{first.lower()}{i}"}
            user_metadata = {"interests": likes, "gender": gender, "birthdate": born.isoformat()}
        else:
            user_metadata = {"interests": likes, "gender": gender, "birthdate": born.isoformat()}
        if rng.random() < 0.2:
            user_metadata["income"] = rng.choice((18_000, 42_000, 75_000, 130_000, 260_000))
        found = demographics_of(extra, user_metadata, {}, today)
        location = {
            "country_code": place[0], "country_name": place[1], "region": place[2],
            "city_name": place[3], "latitude": place[4], "longitude": place[5],
            "time_zone": place[6],
        }  # fmt: skip
        created = now - timedelta(seconds=rng.randint(3600, 365 * 86400))
        # A quarter never come back after signing up; the others log in now and then.
        returns = 0 if rng.random() < 0.25 else min(int(rng.expovariate(1 / 5)) + 1, 60)
        span = (now - created).total_seconds()
        times = sorted(created + timedelta(seconds=rng.random() * span) for _ in range(returns))
        logins = [created + timedelta(seconds=5), *times]
        ip = f"{place[8]}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        user_agent, agent = rng.choices(agents, agent_weights)[0]
        app_metadata: dict[str, Any] = {
            "demographics": demographics_document(found),
            "location": {k: location[k] for k in MIRRORED_PLACE},
        }
        subject = {
            "client_id": None, "client_name": "InnovaShoes Store", "connection": name,
            "connection_id": connection.id, "strategy": strategy,
            "strategy_type": strategy_type(strategy), "user_id": user_id, "user_name": email,
            "ip": ip, "user_agent": user_agent, "hostname": "innovashoes.example",
        }  # fmt: skip
        enrichment = {"location_info": location, "device": agent.as_details() if agent else {}}
        for n, at in enumerate([created, *logins]):
            kind = "ss" if n == 0 else "s"
            details = {**enrichment}
            if kind == "s":
                details["stats"] = {"loginsCount": n}
            log_id = _log_id(at, rng)
            events.append({
                "log_id": log_id, "date": at, "type": kind,
                "description": "Success Signup" if kind == "ss" else "Success Login",
                **subject, "details": details,
            })  # fmt: skip
            if facts:
                day = at.date()
                birth = found.birthdate
                fact_rows.append({
                    "log_id": log_id, "user_id": user_id, "kind": kind, "at": at, "day": day,
                    "week": week_of(day), "month": month_of(day), "connection": name,
                    "country": place[0], "device_type": agent.device_type if agent else "",
                    "browser": agent.browser if agent else "", "os": agent.os if agent else "",
                    "gender": found.gender or "",
                    "age_band": age_band(age_on(birth, day)) if birth else "unknown",
                })  # fmt: skip
        sentiment: list[float] = []
        if provider == "twitter" and rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):
                text = rng.choice(TWEETS)
                score = scorer.score(text)
                sentiment.append(score.compound)
                mentions.append({
                    "id": "mnt_" + secrets.token_hex(12), "user_id": user_id, "text": text,
                    "source": "twitter", "url": None, "compound": score.compound,
                    "positive": score.positive, "neutral": score.neutral,
                    "negative": score.negative,
                    "created_at": created + timedelta(seconds=rng.random() * span),
                })  # fmt: skip
        average = round(sum(sentiment) / len(sentiment), 4) if sentiment else None
        if average is not None:
            app_metadata["sentiment"] = {"score": average, "mentions": len(sentiment)}
        users.append({
            "user_id": user_id, "email": email, "email_verified": provider != "auth0",
            "username": None, "phone_number": None, "phone_verified": False,
            "name": f"{first} {last}", "given_name": first, "family_name": last,
            "nickname": first.lower(), "picture": None, "created_at": created,
            "updated_at": logins[-1], "last_login": logins[-1], "last_ip": ip,
            "logins_count": len(logins), "last_password_reset": None, "blocked": False,
            "user_metadata": user_metadata, "app_metadata": app_metadata, "extra": extra,
        })  # fmt: skip
        identities.append({
            "user_id": user_id, "connection_id": connection.id, "connection_name": name,
            "provider": provider, "provider_user_id": local, "is_social": provider != "auth0",
            "position": 0, "profile_data": None, "created_at": created,
        })  # fmt: skip
        profiles.append({
            "user_id": user_id, "country_code": place[0], "country_name": place[1],
            "region": place[2], "city": place[3], "latitude": place[4], "longitude": place[5],
            "time_zone": place[6], "gender": found.gender, "birthdate": found.birthdate,
            "locale": found.locale, "income_band": found.income_band,
            "sentiment_score": average, "sentiment_count": len(sentiment),
            "last_seen_at": logins[-1], "updated_at": logins[-1],
        })  # fmt: skip
        interests_rows += [{"user_id": user_id, "interest": x} for x in found.interests]
        if agent is not None:
            devices.append({
                "user_id": user_id, "device_key": agent.key, "device_type": agent.device_type,
                "browser": agent.browser, "browser_version": agent.browser_version,
                "os": agent.os, "os_version": agent.os_version, "device": agent.device,
                "user_agent": user_agent, "last_ip": ip, "first_seen": logins[0],
                "last_seen": logins[-1], "logins": len(logins),
            })  # fmt: skip
    say(f"generated {customers} customers, {len(events)} events")
    driver = await db.connection()
    raw = RawRows(driver)

    async def insert_users() -> None:
        for start in range(0, len(users), 20_000):
            await raw.insert(_table(User), users[start : start + 20_000])

    await insert_terms_paused(
        driver, insert_users, ((u["user_id"], u["user_metadata"], u["app_metadata"]) for u in users)
    )
    say(f"wrote {len(users)} users")
    for model, rows in (
        (Identity, identities),
        (CustomerProfile, profiles),
        (CustomerInterest, interests_rows),
        (CustomerDevice, devices),
        (CustomerMention, mentions),
        (LogEvent, events),
        (LoginFact, fact_rows),
    ):
        for start in range(0, len(rows), 20_000):
            await raw.insert(_table(model), rows[start : start + 20_000])
        say(f"wrote {len(rows)} {_table(model).name}")
    if facts:
        interest_map: dict[str, list[str]] = {}
        for row in interests_rows:
            interest_map.setdefault(row["user_id"], []).append(row["interest"])
        await rollups.count_fresh(db, fact_rows, interest_map, now)
        say("rolled up the analytics counters")
    return DemoReport(
        customers=customers,
        events=len(events),
        mentions=len(mentions),
        seconds=round(time.perf_counter() - started, 2),
    )


__all__ = ["UTC", "DemoAlreadyLoaded", "DemoReport", "build_demo"]
