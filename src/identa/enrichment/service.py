"""Enrichment at login, and mentions with sentiment: the entry other packages call.

`Enrichment.on_login(db, user, event)` is called right after a flow records a success login or
sign-up. In the caller's transaction it adds the place and device to the event's details (and to
its outbox copy), keeps the customer's latest place, demographics and device list, and mirrors
them into app_metadata so user search (and so segments) can use them:

    app_metadata.location     {country_code, country_name, region, city_name}
    app_metadata.demographics {gender, birthdate, locale, interests[], income_band}
    app_metadata.sentiment    {score, mentions}   (average VADER compound of the mentions)

app_metadata is only rewritten when one of these changed.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core.clock import Clock
from identa.core.errors import InvalidInput
from identa.enrichment.demographics import Demographics, demographics_of
from identa.enrichment.geoip import GeoIp, Place
from identa.enrichment.models import (
    CustomerDevice,
    CustomerInterest,
    CustomerMention,
    CustomerProfile,
)
from identa.enrichment.sentiment import Score, SentimentScorer
from identa.enrichment.useragent import Agent, describe
from identa.events.models import LogEvent, OutboxMessage
from identa.identity.models import User

LOGIN_TYPES = ("s", "ss")
MIRRORED_PLACE = ("country_code", "country_name", "region", "city_name")
MAX_MENTION = 10_000


@dataclass(frozen=True)
class Enriched:
    place: Place | None
    agent: Agent | None
    demographics: Demographics


def demographics_document(found: Demographics) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "gender": found.gender,
        "birthdate": found.birthdate.isoformat() if found.birthdate else None,
        "locale": found.locale,
        "interests": list(found.interests) or None,
        "income_band": found.income_band,
    }
    return {key: value for key, value in doc.items() if value is not None}


@dataclass(frozen=True)
class ImportedCustomer:
    """An imported user's demographics: the app_metadata to store (with the mirror a login would
    add) and what segments and breakdowns read."""

    user_id: str
    app_metadata: dict[str, Any] | None
    demographics: Demographics


def imported_customer(
    user_id: str,
    user_metadata: dict[str, Any] | None,
    app_metadata: dict[str, Any] | None,
    now: datetime,
) -> ImportedCustomer:
    """What a bulk import stores for a new user so that segments find them before their first
    login (the same reading of the metadata as at a login)."""
    found = demographics_of(None, user_metadata, app_metadata, now.date())
    document = demographics_document(found)
    if document and (app_metadata or {}).get("demographics") != document:
        app_metadata = {**(app_metadata or {}), "demographics": document}
    return ImportedCustomer(user_id, app_metadata, found)


async def record_imported(
    db: AsyncSession, customers: Sequence[ImportedCustomer], now: datetime
) -> None:
    """The profiles and interests of newly inserted users, one statement each (the users must be
    in the transaction already)."""
    profiles = [
        {
            "user_id": c.user_id,
            "gender": c.demographics.gender,
            "birthdate": c.demographics.birthdate,
            "locale": c.demographics.locale,
            "income_band": c.demographics.income_band,
            "sentiment_count": 0,
            "updated_at": now,
        }
        for c in customers
        if demographics_document(c.demographics)
    ]
    if profiles:
        await db.execute(insert(CustomerProfile), profiles)
    interests = [
        {"user_id": c.user_id, "interest": interest}
        for c in customers
        for interest in dict.fromkeys(c.demographics.interests)
    ]
    if interests:
        await db.execute(insert(CustomerInterest), interests)


class Enrichment:
    def __init__(self, clock: Clock, geoip: GeoIp, scorer: SentimentScorer | None = None) -> None:
        self._clock = clock
        self.geoip = geoip
        self.scorer = scorer or SentimentScorer()

    def describe(self, ip: str | None, user_agent: str | None) -> tuple[Place | None, Agent | None]:
        return self.geoip.locate(ip), describe(user_agent)

    async def on_login(self, db: AsyncSession, user: User, event: LogEvent) -> Enriched:
        now = self._clock.now()
        place, agent = self.describe(event.ip, event.user_agent)
        extra: dict[str, Any] = {}
        if place is not None:
            extra["location_info"] = place.as_location_info()
        if agent is not None:
            extra["device"] = agent.as_details()
        if extra:
            _merge_details(db, event, extra)
        found = demographics_of(user.extra, user.user_metadata, user.app_metadata, now.date())
        profile = await db.get(CustomerProfile, user.user_id)
        if profile is None:
            profile = CustomerProfile(user_id=user.user_id, sentiment_count=0, updated_at=now)
            db.add(profile)
        if place is not None:
            profile.country_code = place.country_code
            profile.country_name = place.country_name
            profile.region = place.region
            profile.city = place.city_name
            profile.latitude = place.latitude
            profile.longitude = place.longitude
            profile.time_zone = place.time_zone
        _set_demographics(profile, found, now)
        if event.type == "s":
            profile.last_seen_at = now
            if agent is not None:
                await self._seen_device(db, user.user_id, agent, event, now)
        await self._set_interests(db, user.user_id, found.interests)
        mirror: dict[str, Any] = {"demographics": demographics_document(found)}
        if place is not None:
            # Where, not the coordinates: what a segment filters on, at few search terms.
            info = place.as_location_info()
            mirror["location"] = {key: info[key] for key in MIRRORED_PLACE if key in info}
        _mirror(user, mirror)
        return Enriched(place=place, agent=agent, demographics=found)

    async def refresh_demographics(self, db: AsyncSession, user: User) -> Demographics:
        """Re-reads a customer's demographics after their profile changed outside a login (the
        progressive-profiling answers), so that segments and breakdowns see them at once."""
        now = self._clock.now()
        found = demographics_of(user.extra, user.user_metadata, user.app_metadata, now.date())
        profile = await db.get(CustomerProfile, user.user_id)
        if profile is None:
            profile = CustomerProfile(user_id=user.user_id, sentiment_count=0, updated_at=now)
            db.add(profile)
        _set_demographics(profile, found, now)
        await self._set_interests(db, user.user_id, found.interests)
        _mirror(user, {"demographics": demographics_document(found)})
        return found

    async def _seen_device(
        self, db: AsyncSession, user_id: str, agent: Agent, event: LogEvent, now: datetime
    ) -> None:
        device = await db.scalar(
            select(CustomerDevice).where(
                CustomerDevice.user_id == user_id, CustomerDevice.device_key == agent.key
            )
        )
        if device is None:
            device = CustomerDevice(
                user_id=user_id,
                device_key=agent.key,
                device_type=agent.device_type,
                browser=agent.browser[:64],
                os=agent.os[:64],
                device=(agent.device or None) and agent.device[:64],
                first_seen=now,
                logins=0,
            )
            db.add(device)
        device.browser_version = agent.browser_version
        device.os_version = agent.os_version
        device.user_agent = event.user_agent
        device.last_ip = event.ip
        device.last_seen = now
        device.logins = (device.logins or 0) + 1

    async def _set_interests(
        self, db: AsyncSession, user_id: str, interests: tuple[str, ...]
    ) -> None:
        current = set(
            (
                await db.scalars(
                    select(CustomerInterest.interest).where(CustomerInterest.user_id == user_id)
                )
            ).all()
        )
        wanted = set(interests)
        if current == wanted:
            return
        if current - wanted:
            await db.execute(
                delete(CustomerInterest).where(
                    CustomerInterest.user_id == user_id,
                    CustomerInterest.interest.in_(current - wanted),
                )
            )
        for interest in wanted - current:
            db.add(CustomerInterest(user_id=user_id, interest=interest))

    # -- devices and place, for the customer-360 page ------------------------------------------

    async def devices(self, db: AsyncSession, user_id: str) -> list[CustomerDevice]:
        rows = await db.scalars(
            select(CustomerDevice)
            .where(CustomerDevice.user_id == user_id)
            .order_by(CustomerDevice.last_seen.desc())
        )
        return list(rows.all())

    async def profile(self, db: AsyncSession, user_id: str) -> CustomerProfile | None:
        return await db.get(CustomerProfile, user_id)

    # -- mentions and sentiment ----------------------------------------------------------------

    async def add_mention(
        self,
        db: AsyncSession,
        user: User,
        *,
        text: str,
        source: str,
        url: str | None = None,
        created_at: datetime | None = None,
    ) -> tuple[CustomerMention, CustomerProfile]:
        """Scores `text`, attaches it to `user` and refreshes the customer's average score.
        Rules call this too (a mention captured at login)."""
        if not text.strip():
            raise InvalidInput("'text' must not be empty.")
        if len(text) > MAX_MENTION:
            raise InvalidInput(f"'text' is longer than {MAX_MENTION} characters.")
        now = self._clock.now()
        score: Score = self.scorer.score(text)
        mention = CustomerMention(
            id="mnt_" + secrets.token_hex(12),
            user_id=user.user_id,
            text=text,
            source=source[:64],
            url=url,
            compound=score.compound,
            positive=score.positive,
            neutral=score.neutral,
            negative=score.negative,
            created_at=created_at or now,
        )
        db.add(mention)
        await db.flush()
        average, count = (
            await db.execute(
                select(func.avg(CustomerMention.compound), func.count()).where(
                    CustomerMention.user_id == user.user_id
                )
            )
        ).one()
        profile = await db.get(CustomerProfile, user.user_id)
        if profile is None:
            profile = CustomerProfile(user_id=user.user_id, sentiment_count=0, updated_at=now)
            db.add(profile)
        profile.sentiment_score = round(float(average), 4)
        profile.sentiment_count = int(count)
        profile.updated_at = now
        _mirror(user, {"sentiment": {"score": profile.sentiment_score, "mentions": int(count)}})
        return mention, profile

    async def mentions(self, db: AsyncSession, user_id: str, limit: int = 100) -> list[Any]:
        rows = await db.scalars(
            select(CustomerMention)
            .where(CustomerMention.user_id == user_id)
            .order_by(CustomerMention.created_at.desc())
            .limit(limit)
        )
        return list(rows.all())


def mention_to_dict(mention: CustomerMention) -> dict[str, Any]:
    from identa.core.clock import iso

    return {
        "id": mention.id,
        "user_id": mention.user_id,
        "text": mention.text,
        "source": mention.source,
        "url": mention.url,
        "created_at": iso(mention.created_at),
        "sentiment": {
            "compound": mention.compound,
            "positive": mention.positive,
            "neutral": mention.neutral,
            "negative": mention.negative,
        },
    }


def _merge_details(db: AsyncSession, event: LogEvent, extra: dict[str, Any]) -> None:
    """Adds `extra` to the event's details and to the outbox copy recorded with it (both are
    still pending in this transaction)."""
    event.details = {**(event.details or {}), **extra}
    candidates = list(db.new) + [obj for obj in db.identity_map.values()]
    for obj in candidates:
        if isinstance(obj, OutboxMessage) and obj.event_id == event.log_id:
            payload = copy.deepcopy(obj.payload)
            payload["details"] = {**payload.get("details", {}), **copy.deepcopy(extra)}
            obj.payload = payload
            break


def _set_demographics(profile: CustomerProfile, found: Demographics, now: datetime) -> None:
    profile.gender = found.gender
    profile.birthdate = found.birthdate
    profile.locale = found.locale
    profile.income_band = found.income_band
    profile.updated_at = now


def _mirror(user: User, parts: dict[str, Any]) -> None:
    # Nothing learned is nothing written: a customer's app_metadata only gains these keys
    # once there is something to put in them.
    parts = {key: value for key, value in parts.items() if value}
    current = user.app_metadata or {}
    if all(current.get(key) == value for key, value in parts.items()):
        return
    user.app_metadata = {**current, **parts}


async def enrich_login(
    enrichment: Enrichment | None, db: AsyncSession, user: User, event: LogEvent
) -> None:
    """What the flows call right after recording `s` or `ss` (nothing when not wired)."""
    if enrichment is not None:
        await enrichment.on_login(db, user, event)
