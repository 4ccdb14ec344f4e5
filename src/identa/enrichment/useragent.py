"""User agent → browser, OS and device type, with uap-python (`ua-parser` 1.x, the ua-parser
project's maintained parser, run by its Rust matcher when `ua-parser-rs` is installed).

uap-core names the browser, OS and device family; it has no device *type*, so that comes from
the device and OS families: bots, tablets, phones (mobile), otherwise desktop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

TABLET_HINTS = ("ipad", "tablet", "kindle", "silk", "playbook", "nexus 7", "nexus 9", "sm-t")
MOBILE_OS = frozenset({"Android", "iOS", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen"})


@dataclass(frozen=True)
class Agent:
    browser: str
    browser_version: str | None
    os: str
    os_version: str | None
    device_type: str  # desktop | mobile | tablet | bot | unknown
    device: str | None

    @property
    def key(self) -> str:
        """What makes two logins the same device in a customer's device list."""
        return f"{self.device_type}|{self.os}|{self.browser}|{self.device or ''}"[:255]

    def as_details(self) -> dict[str, str | None]:
        return {
            "browser": self.browser,
            "browser_version": self.browser_version,
            "os": self.os,
            "os_version": self.os_version,
            "device_type": self.device_type,
            "device": self.device,
        }


def _version(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ".".join(kept) if kept else None


@lru_cache(maxsize=4096)
def describe(user_agent: str | None) -> Agent | None:
    if not user_agent:
        return None
    result = parse(user_agent[:1024])
    ua, os_, device = result.user_agent, result.os, result.device
    browser = ua.family if ua else "Other"
    os_family = os_.family if os_ else "Other"
    device_family = device.family if device else "Other"
    lowered = user_agent.lower()
    if device_family == "Spider" or "bot" in lowered or "crawler" in lowered:
        device_type = "bot"
    elif any(hint in lowered for hint in TABLET_HINTS) or (
        os_family == "Android" and "mobile" not in lowered
    ):
        device_type = "tablet"
    elif os_family in MOBILE_OS or "mobile" in lowered:
        device_type = "mobile"
    elif os_family == "Other" and browser == "Other":
        device_type = "unknown"
    else:
        device_type = "desktop"
    return Agent(
        browser=browser,
        browser_version=_version(ua.major, ua.minor) if ua else None,
        os=os_family,
        os_version=_version(os_.major, os_.minor) if os_ else None,
        device_type=device_type,
        device=None if device_family == "Other" else device_family,
    )
