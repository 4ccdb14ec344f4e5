"""Geo-IP from a generated MaxMind-format database; user agents → browser, OS, device type."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from identa.enrichment.geoip import GeoIp
from identa.enrichment.useragent import describe

LONDON = {
    "continent": {"code": "EU"},
    "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
    "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
    "city": {"names": {"en": "London"}},
    "location": {"latitude": 51.5142, "longitude": -0.0931, "time_zone": "Europe/London"},
}


def write_city_database(path: Path) -> Path:
    """A tiny GeoIP2-City style database: 81.2.69.0/24 is London."""
    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(IPSet(["81.2.69.0/24"]), LONDON)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return write_city_database(tmp_path / "city.mmdb")


def test_locates_an_address(city_db: Path) -> None:
    place = GeoIp(city_db).locate("81.2.69.160")
    assert place is not None
    assert (place.country_code, place.region, place.city_name) == ("GB", "England", "London")
    assert place.latitude == pytest.approx(51.5142)
    assert place.as_location_info()["time_zone"] == "Europe/London"


def test_unknown_private_or_missing_database_is_skipped(city_db: Path, tmp_path: Path) -> None:
    assert GeoIp(city_db).locate("8.8.8.8") is None
    assert GeoIp(city_db).locate("10.0.0.1") is None
    assert GeoIp(city_db).locate("not an ip") is None
    assert GeoIp(None).locate("81.2.69.160") is None
    assert GeoIp(tmp_path / "absent.mmdb").locate("81.2.69.160") is None


@pytest.mark.parametrize(
    ("agent", "browser", "os", "kind"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Mobile Safari", "iOS", "mobile"),
        ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
         " Version/17.1 Mobile/15E148 Safari/604.1", "Mobile Safari", "iOS", "tablet"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/130.0.0.0 Safari/537.36", "Chrome", "Windows", "desktop"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
         "Googlebot", "Other", "bot"),
    ],
)  # fmt: skip
def test_user_agents(agent: str, browser: str, os: str, kind: str) -> None:
    found = describe(agent)
    assert found is not None
    assert (found.browser, found.os, found.device_type) == (browser, os, kind)


def test_no_user_agent() -> None:
    assert describe(None) is None
