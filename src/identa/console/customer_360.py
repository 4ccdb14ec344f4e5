"""What the customer-360 page shows about one customer, gathered from the domains that own it:
the profile and identities (identity), progressive-profiling answers (profiling), the login
timeline (log events with their enrichment), devices, latest place and sentiment (enrichment).

Saved segments are analytics, which only `identa.http` may read: the page adds them itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.enrichment.models import CustomerDevice, CustomerMention, CustomerProfile
from identa.enrichment.service import Enrichment
from identa.events.catalog import DESCRIPTIONS, LogType
from identa.events.models import LogEvent
from identa.identity.models import Identity, User
from identa.profiling.service import ProfilingService, read_path

TIMELINE_PER_PAGE = 20
MENTIONS_SHOWN = 50
# Never shown, wherever a provider put them: the IdP's tokens stay out of the console.
SECRET_KEYS = frozenset(
    {"access_token", "refresh_token", "id_token", "access_token_secret", "expires_in", "token"}
)


@dataclass(frozen=True)
class IdentityView:
    connection: str
    provider: str
    user_id: str
    is_social: bool
    primary: bool
    profile_data: dict[str, Any]

    @property
    def profile_json(self) -> str:
        return pretty_json(self.profile_data)


@dataclass(frozen=True)
class Answer:
    label: str
    path: str
    value: Any

    @property
    def shown(self) -> str:
        if isinstance(self.value, list):
            return ", ".join(str(item) for item in self.value)
        if isinstance(self.value, bool):
            return "yes" if self.value else "no"
        return str(self.value)


@dataclass(frozen=True)
class TimelineEntry:
    date: datetime
    type: str
    label: str
    description: str | None
    connection: str | None
    client_name: str | None
    ip: str | None
    place: str | None
    device: str | None

    @property
    def failed(self) -> bool:
        return self.type.startswith("f") or self.type.startswith("limit")


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Customer360:
    user: User
    identities: list[IdentityView]
    answers: list[Answer]
    timeline: Timeline
    devices: list[CustomerDevice]
    profile: CustomerProfile | None
    mentions: list[CustomerMention]

    @property
    def user_metadata_json(self) -> str:
        return pretty_json(self.user.user_metadata or {})

    @property
    def app_metadata_json(self) -> str:
        return pretty_json(self.user.app_metadata or {})

    @property
    def secondary_identities(self) -> list[IdentityView]:
        return [identity for identity in self.identities if not identity.primary]

    @property
    def place(self) -> str | None:
        p = self.profile
        if p is None:
            return None
        return _place_text(p.city, p.region, p.country_name or p.country_code)

    def age(self, today: date) -> int | None:
        born = self.profile.birthdate if self.profile else None
        if born is None:
            return None
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def without_secrets(value: Any) -> Any:
    """`value` with every IdP token key removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def identity_view(identity: Identity, primary: bool) -> IdentityView:
    return IdentityView(
        connection=identity.connection_name,
        provider=identity.provider,
        user_id=identity.provider_user_id,
        is_social=bool(identity.is_social),
        primary=primary,
        profile_data=without_secrets(dict(identity.profile_data or {})),
    )


def _place_text(*parts: str | None) -> str | None:
    kept: list[str] = []
    for part in parts:
        if part and part not in kept:
            kept.append(part)
    return ", ".join(kept) or None


def _event_place(details: dict[str, Any]) -> str | None:
    info = details.get("location_info")
    if not isinstance(info, dict):
        return None
    country = info.get("country_name") or info.get("country_code")
    return _place_text(info.get("city_name"), info.get("region"), country)


def _event_device(details: dict[str, Any]) -> str | None:
    device = details.get("device")
    if not isinstance(device, dict):
        return None
    browser = " ".join(str(p) for p in (device.get("browser"), device.get("browser_version")) if p)
    system = " ".join(str(p) for p in (device.get("os"), device.get("os_version")) if p)
    kind = device.get("device_type")
    if device.get("browser") in (None, "Other") and device.get("os") in (None, "Other"):
        return None  # a script or a tool, not a device worth naming
    text = " on ".join(p for p in (browser, system) if p)
    return f"{text} ({kind})" if kind and text else (text or None)


def _type_label(code: str) -> str:
    try:
        return DESCRIPTIONS.get(LogType(code), code)
    except ValueError:
        return code


async def timeline(db: AsyncSession, user_id: str, page: int) -> Timeline:
    """The customer's log events, newest first, TIMELINE_PER_PAGE at a time (page is 1-based)."""
    condition = LogEvent.user_id == user_id
    total = int(await db.scalar(select(func.count()).select_from(LogEvent).where(condition)) or 0)
    pages = max(1, -(-total // TIMELINE_PER_PAGE))
    page = min(max(1, page), pages)
    rows = await db.scalars(
        select(LogEvent)
        .where(condition)
        .order_by(LogEvent.date.desc(), LogEvent.log_id.desc())
        .offset((page - 1) * TIMELINE_PER_PAGE)
        .limit(TIMELINE_PER_PAGE)
    )
    entries = [
        TimelineEntry(
            date=row.date,
            type=row.type,
            label=_type_label(row.type),
            description=row.description,
            connection=row.connection,
            client_name=row.client_name,
            ip=row.ip,
            place=_event_place(row.details or {}),
            device=_event_device(row.details or {}),
        )
        for row in rows
    ]
    return Timeline(entries=entries, total=total, page=page, pages=pages)


async def answers(db: AsyncSession, profiling: ProfilingService, user: User) -> list[Answer]:
    """The progressive-profiling questions this customer answered, with the answers."""
    found: list[Answer] = []
    for question in await profiling.questions(db):
        value = read_path(user.user_metadata, question.path)
        if value not in (None, "", []):
            found.append(Answer(label=question.label, path=question.path, value=value))
    return found


async def customer_360(
    db: AsyncSession,
    user: User,
    *,
    enrichment: Enrichment,
    profiling: ProfilingService,
    timeline_page: int,
) -> Customer360:
    return Customer360(
        user=user,
        identities=[identity_view(i, index == 0) for index, i in enumerate(user.identities)],
        answers=await answers(db, profiling, user),
        timeline=await timeline(db, user.user_id, timeline_page),
        devices=await enrichment.devices(db, user.user_id),
        profile=await enrichment.profile(db, user.user_id),
        mentions=await enrichment.mentions(db, user.user_id, limit=MENTIONS_SHOWN),
    )
