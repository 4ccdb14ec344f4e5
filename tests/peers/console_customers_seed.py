"""Seeds a live server's database with customers for the console's customer pages.

Run as `python tests/peers/console_customers_seed.py DIR` with the server's environment (it
shares its database). Through the product's services it creates a few plain customers and one
rich customer: two identities (the second on a `Loyalty-Members` connection), logins from
London and Paris on two devices (enriched with a geo-IP database written into DIR), profiling
answers, mentions scored by VADER and a saved segment holding her. Prints one JSON line:
{"rich": {user_id, email, secondary_provider, secondary_id}, "plain": [emails]}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from identa.analytics import segments as saved_segments
from identa.app import create_container
from identa.core.context import SYSTEM, RequestContext
from identa.enrichment.geoip import GeoIp
from identa.events.catalog import LogType
from identa.events.service import EventSubject
from identa.identity.profile import NewDatabaseUser
from identa.settings import Settings

PASSWORD = "Correct-Horse-9"
MAIN = "Username-Password-Authentication"
LONDON_IP, PARIS_IP = "81.2.69.160", "90.84.10.20"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)


def _city(country: tuple[str, str], region: str, city: str, at: tuple[float, float]) -> Any:
    return {
        "continent": {"code": "EU"},
        "country": {"iso_code": country[0], "names": {"en": country[1]}},
        "subdivisions": [{"names": {"en": region}}],
        "city": {"names": {"en": city}},
        "location": {"latitude": at[0], "longitude": at[1], "time_zone": "Europe/London"},
    }


def write_geoip(path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    london = _city(("GB", "United Kingdom"), "England", "London", (51.51, -0.09))
    paris = _city(("FR", "France"), "Île-de-France", "Paris", (48.86, 2.35))
    writer.insert_network(IPSet(["81.2.69.0/24"]), london)
    writer.insert_network(IPSet(["90.84.0.0/16"]), paris)
    writer.to_db_file(str(path))
    return path


async def seed(workdir: Path, tag: str) -> dict[str, Any]:
    container, _ = create_container(Settings())
    container.enrichment.geoip = GeoIp(write_geoip(workdir / "cities.mmdb"))
    try:
        async with container.unit_of_work() as uow:
            db = uow.session
            main = await container.connections.by_name(db, MAIN)
            loyalty = await container.connections.create(
                db, name=f"Loyalty-{tag}", strategy="auth0"
            )
            client = await container.flows.default_client(db)

            async def register(connection: Any, email: str, **fields: Any) -> Any:
                return await container.flows.register(
                    db,
                    client=client,
                    connection=connection,
                    request=SYSTEM,
                    new=NewDatabaseUser(email=email, password=PASSWORD, **fields),
                )

            plain = []
            for n, name in enumerate(("Paul Plain", "Petra Plain", "Pia Plain")):
                email = f"plain{n}-{tag}@shop.example"
                await register(main, email, name=name, email_verified=True)
                plain.append(email)
            rich_email = f"rita-{tag}@shop.example"
            rita = await register(
                main,
                rich_email,
                name="Rita Runner",
                given_name="Rita",
                family_name="Runner",
                user_metadata={
                    "gender": "female",
                    "birthdate": "1991-06-14",
                    "interests": ["fitness", "trail running"],
                    "shoe_size": 39,
                },
                app_metadata={"tier": "gold"},
            )
            loyal = await register(
                loyalty, f"rita.loyal-{tag}@shop.example", name="Rita (loyalty card)"
            )
            await container.linker.link(db, rita, loyal)
            secondary = rita.identities[1]
            for question in (
                {"path": "shoe_size", "label": "Shoe size", "type": "number"},
                {
                    "path": "interests",
                    "label": "What do you do?",
                    "type": "multi-choice",
                    "options": ["fitness", "trail running", "hiking"],
                },
            ):
                await container.profiling.create(db, question)
            now = container.clock.now()
            for days_ago, ip, agent in (
                (40, LONDON_IP, IPHONE),
                (12, PARIS_IP, WINDOWS),
                (3, LONDON_IP, IPHONE),
                (1, PARIS_IP, WINDOWS),
            ):
                context = RequestContext(ip=ip, user_agent=agent)
                container.users.record_login(rita, ip)
                event = container.events.record(
                    db,
                    LogType.SUCCESS_LOGIN,
                    subject=EventSubject(
                        client_id=client.client_id,
                        client_name=client.name,
                        connection=MAIN,
                        user_id=rita.user_id,
                        user_name=rita.email,
                    ),
                    request=context,
                )
                event.date = now - timedelta(days=days_ago)
                await container.enrichment.on_login(db, rita, event)
            for text in (
                "Just ran my first half marathon in the InnovaShoes trail runners. Love them!",
                "Support took a week to answer about my order. Not great.",
                "The new colours are gorgeous, ordering another pair",
            ):
                await container.enrichment.add_mention(db, rita, text=text, source="twitter")
            await saved_segments.create(
                db,
                now,
                name=f"Fitness fans {tag}",
                query="user_metadata.interests:fitness",
                description="Customers who told us they like fitness",
            )
            await uow.commit()
            return {
                "rich": {
                    "user_id": rita.user_id,
                    "email": rich_email,
                    "secondary_provider": secondary.provider,
                    "secondary_id": secondary.provider_user_id,
                    "secondary_email": f"rita.loyal-{tag}@shop.example",
                },
                "plain": plain,
            }
    finally:
        await container.close()


def main() -> None:
    answer = asyncio.run(seed(Path(sys.argv[1]), sys.argv[2]))
    sys.stdout.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
