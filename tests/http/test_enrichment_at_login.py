"""Enrichment at login: place and device on the event and its outbox copy, the customer's
latest place, device list and demographics (mirrored into app_metadata)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from identa.container import Container
from identa.core.context import RequestContext
from identa.enrichment.geoip import GeoIp
from identa.events.models import LogEvent, OutboxMessage
from identa.identity.service import NewDatabaseUser
from tests.unit.enrichment.test_geoip_useragent import write_city_database

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


async def test_login_is_enriched(container: Container, tmp_path: Path) -> None:
    assert container.flows.enrichment is not None
    container.flows.enrichment.geoip = GeoIp(write_city_database(tmp_path / "city.mmdb"))
    ctx = RequestContext(ip="81.2.69.160", user_agent=IPHONE)
    async with container.unit_of_work() as uow:
        db = uow.session
        flow = await container.flows.start(db)
        view = await container.flows.view(db, flow.id)
        user = await container.flows.register(
            db,
            client=view.client,
            connection=view.connection,
            request=ctx,
            new=NewDatabaseUser(
                email="runner@example.com",
                password="Correct-Horse-9",
                user_metadata={
                    "interests": ["Fitness"],
                    "gender": "male",
                    "birthdate": "1995-04-02",
                },
            ),
        )
        await container.flows.login(
            db,
            view,
            identifier="runner@example.com",
            password="Correct-Horse-9",
            request=ctx,
            previous_session_token=None,
        )
        await uow.commit()
    async with container.unit_of_work() as uow:
        db = uow.session
        event = await db.scalar(select(LogEvent).where(LogEvent.type == "s"))
        assert event is not None
        assert event.details["location_info"]["city_name"] == "London"
        assert event.details["device"]["device_type"] == "mobile"
        message = await db.scalar(
            select(OutboxMessage).where(OutboxMessage.event_id == event.log_id)
        )
        assert (
            message is not None
            and message.payload["details"]["location_info"]["country_code"] == "GB"
        )
        assert container.enrichment is not None
        profile = await container.enrichment.profile(db, user.user_id)
        assert profile is not None
        assert (profile.country_code, profile.city, profile.gender) == ("GB", "London", "male")
        devices = await container.enrichment.devices(db, user.user_id)
        assert [(d.device_type, d.os, d.browser, d.logins) for d in devices] == [
            ("mobile", "iOS", "Mobile Safari", 1)
        ]
        stored = await container.users.find(db, user.user_id)
        assert stored is not None
        assert stored.app_metadata["demographics"] == {
            "gender": "male",
            "birthdate": "1995-04-02",
            "interests": ["fitness"],
        }
        assert stored.app_metadata["location"]["city_name"] == "London"


async def test_without_a_database_the_place_is_skipped(container: Container) -> None:
    ctx = RequestContext(ip="81.2.69.160", user_agent=IPHONE)
    async with container.unit_of_work() as uow:
        db = uow.session
        flow = await container.flows.start(db)
        view = await container.flows.view(db, flow.id)
        await container.flows.register(
            db,
            client=view.client,
            connection=view.connection,
            request=ctx,
            new=NewDatabaseUser(email="a@example.com", password="Correct-Horse-9"),
        )
        await uow.commit()
    async with container.unit_of_work() as uow:
        event = await uow.session.scalar(select(LogEvent).where(LogEvent.type == "ss"))
        assert event is not None
        assert "location_info" not in event.details
        assert event.details["device"]["os"] == "iOS"
