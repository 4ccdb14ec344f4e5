"""Geo-IP from a MaxMind-format (GeoLite2/GeoIP2 City) database read with `maxminddb`.

The database is opened once, lazily; without a configured path, or when the file is missing,
unreadable or the address is private, a lookup returns None and the login carries no place.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import maxminddb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    country_code: str | None
    country_name: str | None
    region: str | None
    city_name: str | None
    latitude: float | None
    longitude: float | None
    time_zone: str | None
    continent_code: str | None

    def as_location_info(self) -> dict[str, Any]:
        """Auth0's `location_info` of a log event (plus `region`)."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def _name(node: Any) -> str | None:
    if isinstance(node, dict):
        names = node.get("names")
        if isinstance(names, dict):
            value = names.get("en")
            return value if isinstance(value, str) else None
    return None


def place_from_record(record: Any) -> Place | None:
    if not isinstance(record, dict):
        return None
    country = record.get("country") or record.get("registered_country") or {}
    subdivisions = record.get("subdivisions") or []
    location = record.get("location") or {}
    continent = record.get("continent") or {}
    region = _name(subdivisions[0]) if subdivisions else None
    lat, lon = location.get("latitude"), location.get("longitude")
    return Place(
        country_code=country.get("iso_code"),
        country_name=_name(country),
        region=region,
        city_name=_name(record.get("city")),
        latitude=float(lat) if isinstance(lat, int | float) else None,
        longitude=float(lon) if isinstance(lon, int | float) else None,
        time_zone=location.get("time_zone"),
        continent_code=continent.get("code"),
    )


class GeoIp:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._reader: Any = None
        self._failed = False
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._reader is not None or self._failed or self._path is None:
            return self._reader
        with self._lock:
            if self._reader is None and not self._failed:
                try:
                    self._reader = maxminddb.open_database(str(self._path))
                except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                    log.warning("geo-IP database %s unusable: %s", self._path, exc)
                    self._failed = True
        return self._reader

    def locate(self, ip: str | None) -> Place | None:
        if not ip:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if address.is_private or address.is_loopback:
            return None
        reader = self._open()
        if reader is None:
            return None
        try:
            return place_from_record(reader.get(str(address)))
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
