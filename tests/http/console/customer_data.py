"""Customers for the console page tests, made through the product's services."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from identa.analytics import segments as saved_segments
from identa.console.models import AuditEntry
from identa.container import Container
from identa.core.context import SYSTEM, RequestContext
from identa.events.catalog import LogType
from identa.events.models import LogEvent
from identa.events.service import EventSubject
from identa.identity.service import NewDatabaseUser
from tests.factories import create_user

MAIN = "Username-Password-Authentication"
LOYALTY = "Loyalty-Members"
_ROW_EMAIL = re.compile(r'<a href="/console/customers/[^"]+">([^<]+@[^<]+)</a>')


def page_url(user_id: str) -> str:
    return f"/console/customers/{quote(user_id, safe='')}"


def emails_in(html: str) -> list[str]:
    """The e-mail of each result row, in order (the e-mail column comes first)."""
    return _ROW_EMAIL.findall(html)


async def make_customers(container: Container, n: int, **fields: Any) -> list[dict[str, Any]]:
    return [await create_user(container, f"c{i:02d}@shop.example", **fields) for i in range(n)]


async def rich_customer(container: Container) -> dict[str, Any]:
    """A customer with two identities, logins from two places on two devices, a profiling
    answer, two mentions and a saved segment that holds them."""
    primary = await create_user(
        container,
        "runner@shop.example",
        name="Rita Runner",
        user_metadata={"gender": "female", "birthdate": "1990-05-01", "shoe_size": 38},
    )
    async with container.unit_of_work() as uow:
        db = uow.session
        loyalty = await container.connections.create(db, name=LOYALTY, strategy="auth0")
        client = await container.flows.default_client(db)
        secondary = await container.flows.register(
            db,
            client=client,
            connection=loyalty,
            request=SYSTEM,
            new=NewDatabaseUser(email="rita.loyal@shop.example", password="Correct-Horse-9"),
        )
        user = await container.users.find(db, primary["user_id"])
        assert user is not None
        await container.linker.link(db, user, secondary)
        user.identities[1].profile_data = {
            **(user.identities[1].profile_data or {}),
            "access_token": "idp-secret-token",
        }
        await container.profiling.create(
            db, {"path": "shoe_size", "label": "Your shoe size", "type": "number"}
        )
        for ip, place, device in (
            ("81.2.69.160", {"city_name": "London", "country_name": "United Kingdom"}, "iOS"),
            ("2.2.2.2", {"city_name": "Paris", "country_name": "France"}, "Windows"),
        ):
            container.events.record(
                db,
                LogType.SUCCESS_LOGIN,
                subject=EventSubject(connection=MAIN, user_id=user.user_id, user_name=user.email),
                request=RequestContext(ip=ip),
                details={
                    "location_info": {"country_code": "XX", **place},
                    "device": {"browser": "Chrome", "os": device, "device_type": "desktop"},
                },
            )
        for text in ("I love these shoes, best purchase ever!", "Delivery was awful and late."):
            await container.enrichment.add_mention(db, user, text=text, source="twitter")
        await saved_segments.create(
            db,
            container.clock.now(),
            name="Rita fans",
            query="email:runner@shop.example",
            description=None,
        )
        await saved_segments.create(
            db,
            container.clock.now(),
            name="Nobody",
            query="email:nobody@x.example",
            description=None,
        )
        await uow.commit()
    return primary


async def audit_entries(container: Container, action: str) -> list[AuditEntry]:
    async with container.unit_of_work() as uow:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list((await uow.session.scalars(query)).all())


async def log_types_of(container: Container, user_id: str) -> list[str]:
    async with container.unit_of_work() as uow:
        query = select(LogEvent.type).where(LogEvent.user_id == user_id).order_by(LogEvent.log_id)
        return list((await uow.session.scalars(query)).all())
