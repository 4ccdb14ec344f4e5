"""The server-side HTTP client behind `api.http`, `request` and `fetch` in rules.

Each hop (redirects included) is checked against the allowlist, its name resolved here and the
connection made to the checked address, so DNS cannot be re-pointed between check and connect.
"""

from __future__ import annotations

import ssl
import threading
from collections import OrderedDict
from typing import Any

import httpx

from identa.rules.runtime.allowlist import HostPolicy, HostRefused

MAX_RESPONSE = 1024 * 1024
MAX_REDIRECTS = 5
DEFAULT_PORTS = {"http": 80, "https": 443}


class PinnedTransport(httpx.BaseTransport):
    """Connects to an address the policy checked; TLS still verifies the original host name."""

    def __init__(self, policy: HostPolicy, ssl_context: ssl.SSLContext) -> None:
        self.policy = policy
        self.ssl_context = ssl_context
        self._lock = threading.Lock()
        # One pool per (scheme, host): a TLS connection is never reused for another name.
        self._inner: OrderedDict[tuple[str, str], httpx.HTTPTransport] = OrderedDict()

    def _transport(self, scheme: str, host: str) -> httpx.HTTPTransport:
        with self._lock:
            key = (scheme, host)
            transport = self._inner.get(key)
            if transport is None:
                transport = httpx.HTTPTransport(verify=self.ssl_context, retries=0)
                self._inner[key] = transport
                while len(self._inner) > 32:
                    _, old = self._inner.popitem(last=False)
                    old.close()
            else:
                self._inner.move_to_end(key)
            return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        scheme = request.url.scheme
        if scheme not in DEFAULT_PORTS:
            raise HostRefused(f"scheme {scheme!r} is not allowed (http and https only)")
        host = request.url.host
        port = request.url.port or DEFAULT_PORTS[scheme]
        address = self.policy.resolve(host, port)[0]
        original_url, original_extensions = request.url, request.extensions
        request.url = request.url.copy_with(host=str(address))
        if scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        try:
            return self._transport(scheme, host).handle_request(request)
        finally:
            # Redirects and the rule see the name, not the address.
            request.url, request.extensions = original_url, original_extensions

    def close(self) -> None:
        with self._lock:
            for transport in self._inner.values():
                transport.close()
            self._inner.clear()


class HttpGateway:
    """Performs rule requests for one allowlist; thread-safe, used from the pool's threads."""

    def __init__(
        self,
        allowed_hosts: list[str] | None,
        *,
        ssl_context: ssl.SSLContext,
        default_timeout: float = 10.0,
        user_agent: str = "identa-rules",
    ) -> None:
        self.policy = HostPolicy(allowed_hosts)
        self.default_timeout = default_timeout
        self._transport = PinnedTransport(self.policy, ssl_context)
        self._client = httpx.Client(
            transport=self._transport,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"user-agent": user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def perform(self, request: dict[str, Any], time_left: float) -> dict[str, Any]:
        """The rule-facing result: {status, reason, headers, text, url} or {error}."""
        try:
            return self._perform(request, time_left)
        except HostRefused as exc:
            return {"error": f"request refused: {exc}"}
        except httpx.TimeoutException:
            return {"error": f"request to {request.get('url')} timed out"}
        except httpx.TooManyRedirects:
            return {"error": f"request to {request.get('url')} redirected too many times"}
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError) as exc:
            return {"error": f"request to {request.get('url')} failed: {exc}"}

    def _perform(self, request: dict[str, Any], time_left: float) -> dict[str, Any]:
        wanted = request.get("timeout")
        timeout = min(
            float(wanted) if isinstance(wanted, int | float) and wanted > 0 else 1e9,
            self.default_timeout,
            max(time_left, 0.05),
        )
        options: dict[str, Any] = {
            "headers": request.get("headers") or {},
            "params": request.get("params") or None,
            "timeout": httpx.Timeout(timeout),
        }
        if "json" in request:
            options["json"] = request["json"]
        elif "form" in request:
            options["data"] = {str(k): str(v) for k, v in dict(request["form"]).items()}
        elif "body" in request:
            options["content"] = str(request["body"]).encode()
        method = str(request.get("method", "GET")).upper()
        with self._client.stream(method, str(request["url"]), **options) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE:
                    return {"error": f"the response from {request['url']} exceeds 1 MiB"}
                chunks.append(chunk)
            body = b"".join(chunks)
            return {
                "status": response.status_code,
                "reason": response.reason_phrase,
                "headers": {k.lower(): v for k, v in response.headers.items()},
                "text": body.decode(response.encoding or "utf-8", errors="replace"),
                "url": str(response.request.url),
            }
