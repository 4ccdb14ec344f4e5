"""What a stream may be configured with: its type, its sink (Auth0's camelCase keys) and filters.

Everything is checked when a stream is created or changed, so that the dispatcher only ever sees
a configuration it can use; whether the host is reachable is learnt by delivering, and shown in
the stream's status.
"""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from identa.core.errors import InvalidInput
from identa.events.catalog import LogType

TYPES = ("http", "rabbitmq", "nats", "kafka", "file")
HTTP_FORMATS = ("JSONARRAY", "JSONLINES", "JSONOBJECT")
STATUSES = ("active", "paused", "suspended")
LIFECYCLE_CATEGORY = "user.lifecycle"
USER_EVENT_TYPES = (
    "user.created",
    "user.updated",
    "user.deleted",
    "user.linked",
    "user.unlinked",
    "user.blocked",
    "user.unblocked",
)

# Auth0's log stream filter categories and the codes each covers (auth0-interfaces.md §6.3).
CATEGORIES: dict[str, frozenset[str]] = {
    "auth.login.success": frozenset({"s", "scoa", "sens", "sdel"}),
    "auth.login.fail": frozenset({"f", "fp", "fu", "fcoa", "fens"}),
    "auth.login.notification": frozenset({"w", "scv"}),
    "auth.logout.success": frozenset(
        {"slo", "oidc_backchannel_logout_succeeded", "universal_logout_succeeded"}
    ),
    "auth.logout.fail": frozenset({"flo"}),
    "auth.signup.success": frozenset({"ss"}),
    "auth.signup.fail": frozenset({"fs"}),
    "auth.silent_auth.success": frozenset({"ssa"}),
    "auth.silent_auth.fail": frozenset({"fsa"}),
    "auth.token_exchange.success": frozenset(
        {"seacft", "seccft", "sepft", "sertft", "seotpft", "seoobft", "sercft", "sede"}
    ),
    "auth.token_exchange.fail": frozenset(
        {"feacft", "feccft", "fepft", "fertft", "feotpft", "feoobft", "fercft", "fede"}
    ),
    "management.success": frozenset({"sapi", "mgmt_api_read"}),
    "management.fail": frozenset({"fapi"}),
    "user.success": frozenset(
        {"scp", "scpr", "sce", "scu", "scpn", "sv", "svr", "sdu", "sui", "srrt", "sd"}
    ),
    "user.fail": frozenset({"fcp", "fcpr", "fce", "fcu", "fcpn", "fv", "fvr", "fdu", "fn", "fd"}),
    "user.notification": frozenset({"cs", "gd_enrollment_complete", "ublkdu"}),
    "system.notification": frozenset(
        {"limit_wc", "limit_mu", "api_limit", "api_limit_warning", "depnote", "fui"}
    ),
    "scim.event": frozenset(),
    "actions": frozenset({"actions_execution_failed"}),
    "other": frozenset(
        {"cls", "fco", "mfar", "pwd_leak", "signup_pwd_leak", "reset_pwd_leak", "limit_sul"}
    ),
    # Identa: the user lifecycle events, which are not Auth0 log events.
    LIFECYCLE_CATEGORY: frozenset(USER_EVENT_TYPES),
}
KNOWN_TYPES = frozenset({t.value for t in LogType}) | frozenset(USER_EVENT_TYPES)

REQUIRED: dict[str, tuple[str, ...]] = {
    "http": ("httpEndpoint",),
    "rabbitmq": ("rabbitmqUrl",),
    "nats": ("natsUrl", "natsSubject"),
    "kafka": ("kafkaBootstrapServers", "kafkaTopic"),
    "file": (),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "http": (
        "httpContentType",
        "httpContentFormat",
        "httpAuthorization",
        "httpCustomHeaders",
        "httpSigningSecret",
        "httpBatchSize",
    ),
    "rabbitmq": ("rabbitmqExchange", "rabbitmqRoutingKey"),
    "nats": ("natsStream",),
    "kafka": (),
    "file": ("filePath", "fileMaxBytes", "fileBackups"),
}


class InvalidStreamConfig(InvalidInput):
    code = "invalid_body"


def new_signing_secret() -> str:
    return secrets.token_urlsafe(32)


def check_type(value: Any) -> str:
    if value not in TYPES:
        raise InvalidStreamConfig(
            f"Payload validation error: 'type' must be one of {', '.join(TYPES)} (got {value!r})."
        )
    return str(value)


def check_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise InvalidStreamConfig(
            "Payload validation error: 'name' must be a non-empty string of at most 255 characters."
        )
    return value.strip()


def check_status(value: Any) -> str:
    if value not in STATUSES:
        raise InvalidStreamConfig(
            f"Payload validation error: 'status' must be one of {', '.join(STATUSES)}."
        )
    return str(value)


def check_filters(value: Any) -> list[dict[str, str]]:
    """[{type: "category", name: "auth.login.success"}, {type: "type", name: "s"}, …]."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 100:
        raise InvalidStreamConfig("Payload validation error: 'filters' must be an array.")
    out: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"type", "name"}:
            raise InvalidStreamConfig(
                "Payload validation error: each filter is {type, name}, e.g. "
                '{"type": "category", "name": "auth.login.success"}.'
            )
        kind, name = item.get("type"), item.get("name")
        if kind == "category":
            if name not in CATEGORIES:
                raise InvalidStreamConfig(
                    f"Payload validation error: unknown filter category {name!r}."
                )
        elif kind == "type":
            if name not in KNOWN_TYPES:
                raise InvalidStreamConfig(f"Payload validation error: unknown event type {name!r}.")
        else:
            raise InvalidStreamConfig(
                "Payload validation error: a filter's type is 'category' or 'type'."
            )
        out.append({"type": str(kind), "name": str(name)})
    return out


def matcher(filters: list[dict[str, Any]]) -> frozenset[str] | None:
    """The event types a stream takes, or None for every event (no filters)."""
    if not filters:
        return None
    types: set[str] = set()
    for item in filters:
        if item.get("type") == "category":
            types |= CATEGORIES.get(str(item.get("name")), frozenset())
        else:
            types.add(str(item.get("name")))
    return frozenset(types)


def _url(sink: dict[str, Any], key: str, schemes: tuple[str, ...]) -> str:
    value = sink.get(key)
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidStreamConfig(f"Payload validation error: '{key}' must be a URL string.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise InvalidStreamConfig(f"Payload validation error: '{key}' is not a valid URL.") from exc
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidStreamConfig(
            f"Payload validation error: '{key}' must be an absolute "
            f"{' or '.join(s + '://' for s in schemes)} URL with a host."
        )
    return value


def _text(sink: dict[str, Any], key: str, *, limit: int = 255, empty: bool = False) -> str:
    value = sink.get(key)
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        raise InvalidStreamConfig(
            f"Payload validation error: '{key}' must be a "
            f"{'' if empty else 'non-empty '}string of at most {limit} characters."
        )
    return value


def _int(sink: dict[str, Any], key: str, low: int, high: int) -> int:
    value = sink.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidStreamConfig(
            f"Payload validation error: '{key}' must be an integer from {low} to {high}."
        )
    return value


def check_sink(type_: str, value: Any) -> dict[str, Any]:
    """The sink with defaults filled in; refuses unknown or missing keys and bad values."""
    if not isinstance(value, dict):
        raise InvalidStreamConfig("Payload validation error: 'sink' must be an object.")
    sink = dict(value)
    unknown = sorted(set(sink) - set(REQUIRED[type_]) - set(OPTIONAL[type_]))
    if unknown:
        raise InvalidStreamConfig(
            f"Payload validation error: Additional properties not allowed in a {type_} sink: "
            f"{', '.join(unknown)}."
        )
    missing = [key for key in REQUIRED[type_] if sink.get(key) in (None, "")]
    if missing:
        raise InvalidStreamConfig(
            f"Payload validation error: Missing required properties in a {type_} sink: "
            f"{', '.join(missing)}."
        )
    return _CHECKS[type_](sink)


def _http(sink: dict[str, Any]) -> dict[str, Any]:
    _url(sink, "httpEndpoint", ("http", "https"))
    sink.setdefault("httpContentType", "application/json")
    _text(sink, "httpContentType")
    sink.setdefault("httpContentFormat", "JSONLINES")
    if sink["httpContentFormat"] not in HTTP_FORMATS:
        raise InvalidStreamConfig(
            f"Payload validation error: 'httpContentFormat' must be one of "
            f"{', '.join(HTTP_FORMATS)}."
        )
    if sink.get("httpAuthorization") is not None:
        _text(sink, "httpAuthorization", limit=4096, empty=True)
    headers = sink.setdefault("httpCustomHeaders", [])
    if not isinstance(headers, list) or len(headers) > 50:
        raise InvalidStreamConfig(
            "Payload validation error: 'httpCustomHeaders' must be an array of {header, value}."
        )
    for item in headers:
        if (
            not isinstance(item, dict)
            or set(item) != {"header", "value"}
            or not isinstance(item["header"], str)
            or not isinstance(item["value"], str)
            or not item["header"]
            or any(ch in item["header"] + item["value"] for ch in "\r\n")
        ):
            raise InvalidStreamConfig(
                "Payload validation error: each of 'httpCustomHeaders' is {header, value}, "
                "two strings without line breaks."
            )
    if sink.get("httpSigningSecret") is not None:
        _text(sink, "httpSigningSecret", limit=128)
    sink.setdefault("httpBatchSize", 100)
    _int(sink, "httpBatchSize", 1, 1000)
    return sink


def _rabbitmq(sink: dict[str, Any]) -> dict[str, Any]:
    _url(sink, "rabbitmqUrl", ("amqp", "amqps"))
    sink.setdefault("rabbitmqExchange", "")
    _text(sink, "rabbitmqExchange", empty=True)
    sink.setdefault("rabbitmqRoutingKey", "")
    _text(sink, "rabbitmqRoutingKey", empty=True)
    if not sink["rabbitmqExchange"] and not sink["rabbitmqRoutingKey"]:
        raise InvalidStreamConfig(
            "Payload validation error: 'rabbitmqRoutingKey' is required without "
            "'rabbitmqExchange': it names the durable queue the events go to."
        )
    return sink


def _nats(sink: dict[str, Any]) -> dict[str, Any]:
    _url(sink, "natsUrl", ("nats", "tls"))
    subject = _text(sink, "natsSubject")
    if any(ch.isspace() for ch in subject) or "*" in subject or ">" in subject:
        raise InvalidStreamConfig(
            "Payload validation error: 'natsSubject' must be a subject without spaces or wildcards."
        )
    if sink.get("natsStream") is not None:
        stream = _text(sink, "natsStream")
        if any(ch in stream for ch in " .*>/\\"):
            raise InvalidStreamConfig(
                "Payload validation error: 'natsStream' must be a JetStream stream name "
                "(no spaces, dots, wildcards or slashes)."
            )
    return sink


def _kafka(sink: dict[str, Any]) -> dict[str, Any]:
    servers = _text(sink, "kafkaBootstrapServers", limit=2048)
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidStreamConfig(
                "Payload validation error: 'kafkaBootstrapServers' must be host:port[,host:port…]."
            )
    topic = _text(sink, "kafkaTopic", limit=249)
    if not all(ch.isalnum() or ch in "._-" for ch in topic):
        raise InvalidStreamConfig(
            "Payload validation error: 'kafkaTopic' may hold letters, digits, '.', '_' and '-'."
        )
    return sink


def _file(sink: dict[str, Any]) -> dict[str, Any]:
    if sink.get("filePath") is not None:
        path = PurePosixPath(_text(sink, "filePath", limit=255))
        if path.is_absolute() or ".." in path.parts or "\\" in str(path):
            raise InvalidStreamConfig(
                "Payload validation error: 'filePath' is relative to the streams directory "
                "(<data dir>/streams) and may not leave it."
            )
    sink.setdefault("fileMaxBytes", 10 * 1024 * 1024)
    _int(sink, "fileMaxBytes", 1024, 1024**4)
    sink.setdefault("fileBackups", 5)
    _int(sink, "fileBackups", 0, 1000)
    return sink


_CHECKS = {"http": _http, "rabbitmq": _rabbitmq, "nats": _nats, "kafka": _kafka, "file": _file}
