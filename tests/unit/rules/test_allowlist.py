"""rules_allowed_hosts patterns, address checks and the pinned connection of the host client."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest

from identa.rules.runtime import HostPolicy, HostRefused
from identa.rules.runtime.gateway import HttpGateway
from tests.standins.server import StandinServer


def test_default_allows_public_hosts_only() -> None:
    policy = HostPolicy(None)
    assert [str(a) for a in policy.resolve("93.184.216.34", 443)] == ["93.184.216.34"]
    for address in (
        *("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254"),
        *("100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd12::1", "::ffff:10.0.0.1"),  # noqa: S104
    ):
        with pytest.raises(HostRefused, match="non-public address"):
            policy.resolve(address, 80)


@pytest.mark.parametrize(
    ("pattern", "host", "port", "allowed"),
    [
        ("api.example.com", "api.example.com", 443, True),
        ("api.example.com", "API.Example.com.", 80, True),
        ("api.example.com", "x.api.example.com", 443, False),
        ("api.example.com:8443", "api.example.com", 443, False),
        ("api.example.com:8443", "api.example.com", 8443, True),
        ("*.example.com", "a.b.example.com", 443, True),
        ("*.example.com", "badexample.com", 443, False),
        ("*", "anything.example", 80, True),
        ("[::1]:8080", "::1", 8080, True),
        ("127.0.0.1:9000", "127.0.0.1", 9001, False),
    ],
)
def test_patterns(pattern: str, host: str, port: int, allowed: bool) -> None:
    policy = HostPolicy([pattern])
    if allowed:
        policy.check_name(host, port)
    else:
        with pytest.raises(HostRefused, match="not in rules_allowed_hosts"):
            policy.check_name(host, port)


def test_explicit_pattern_allows_private_addresses() -> None:
    assert [str(a) for a in HostPolicy(["127.0.0.1:8080"]).resolve("127.0.0.1", 8080)] == [
        "127.0.0.1"
    ]
    with pytest.raises(HostRefused):
        HostPolicy(["*"]).resolve("127.0.0.1", 8080)
    with pytest.raises(HostRefused):
        HostPolicy([]).resolve("93.184.216.34", 80)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_resolving_to_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_dns(monkeypatch, {"rebind.example": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(HostRefused, match=r"non-public address 127\.0\.0\.1"):
        HostPolicy(None).resolve("rebind.example", 80)


def test_gateway_connects_to_the_checked_address_and_keeps_the_name(
    monkeypatch: pytest.MonkeyPatch, api_server: StandinServer
) -> None:
    _fake_dns(monkeypatch, {"enrich.internal": ["127.0.0.1"]})
    gateway = HttpGateway(
        [f"enrich.internal:{api_server.port}"], ssl_context=ssl.create_default_context()
    )
    try:
        url = f"http://enrich.internal:{api_server.port}/echo"
        result = gateway.perform({"method": "POST", "url": url, "json": {"a": 1}}, 5.0)
    finally:
        gateway.close()
    assert result["status"] == 201
    assert result["url"] == url
    assert result["text"] and '"host": "enrich.internal:' in result["text"]


def test_gateway_caps_the_timeout_by_the_budget(api_server: StandinServer) -> None:
    gateway = HttpGateway([api_server.host], ssl_context=ssl.create_default_context())
    try:
        result = gateway.perform({"method": "GET", "url": api_server.url + "/slow"}, 0.3)
    finally:
        gateway.close()
    assert result == {"error": f"request to {api_server.url}/slow timed out"}
