"""Which hosts a rule may reach: `rules_allowed_hosts` patterns and public-address checks.

A pattern is `host[:port]`: `*` is any public host, `*.example.com` any subdomain of example.com,
`[::1]:8080` an IPv6 literal. Loopback, private, link-local and other non-public addresses are
reached only through a pattern that names the host itself (not through `*`).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PATTERNS = ("*",)


class HostRefused(Exception):
    """A rule's request goes to a host or address the allowlist does not allow."""


@dataclass(frozen=True)
class Pattern:
    host: str  # "*", "*.suffix" or an exact name / address (lower case, no brackets)
    port: int | None

    @classmethod
    def parse(cls, text: str) -> Pattern:
        text = text.strip().lower()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
        elif text.count(":") == 1:
            host, port_text = text.split(":")
        else:
            host, port_text = text, ""
        if not host:
            raise ValueError(f"empty host in allowed host pattern {text!r}")
        port = int(port_text) if port_text and port_text != "*" else None
        return cls(host.rstrip("."), port)

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host == "*":
            return True
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host

    @property
    def explicit(self) -> bool:
        """Names a host, so it may lead to a non-public address."""
        return self.host != "*"


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class HostPolicy:
    def __init__(self, patterns: list[str] | tuple[str, ...] | None = None) -> None:
        source = DEFAULT_PATTERNS if patterns is None else patterns
        self.patterns = [Pattern.parse(p) for p in source if p and p.strip()]

    def check_name(self, host: str, port: int) -> bool:
        """Whether the host may be contacted; True when a pattern names it explicitly."""
        host = host.lower().rstrip(".").strip("[]")
        matched = [p for p in self.patterns if p.matches(host, port)]
        if not matched:
            raise HostRefused(f"{host}:{port} is not in rules_allowed_hosts")
        return any(p.explicit for p in matched)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, every one checked; refuses when none is allowed."""
        explicit = self.check_name(host, port)
        bare = host.strip("[]")
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(bare)]
        except ValueError:
            try:
                infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise HostRefused(f"{host} cannot be resolved: {exc}") from None
            addresses = []
            for info in infos:
                address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
                if address not in addresses:
                    addresses.append(address)
        if explicit:
            return addresses
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise HostRefused(
                f"{host} resolves to the non-public address {refused[0]}; rules reach loopback, "
                "private and link-local addresses only when rules_allowed_hosts lists the host"
            )
        return addresses
