"""Python rules inside a worker: checked source, restricted builtins and imports, a narrow `api`.

This layer only keeps honest rules from wandering; the worker process (no environment, temporary
root, resource limits, killed on timeout) is the real boundary. See runtime/README.md.
"""

from __future__ import annotations

import ast
import base64
import collections
import copy
import datetime
import decimal
import functools
import hashlib
import hmac
import importlib
import inspect
import ipaddress
import itertools
import json
import math
import random
import re
import statistics
import string
import time
import types
import unicodedata
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

# Attributes that reach interpreter internals without a leading underscore.
FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running",
        "cr_frame", "cr_code", "cr_await", "cr_origin",
        "ag_frame", "ag_code", "ag_await",
        "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "f_trace",
        "tb_frame", "tb_next", "co_code", "co_consts", "func_globals", "mro",
    }
)  # fmt: skip
FORBIDDEN_NAMES = frozenset({"globals", "locals", "vars", "dir", "eval", "exec", "compile"})

SAFE_MODULE_NAMES = (
    "base64", "collections", "copy", "datetime", "decimal", "functools", "hashlib", "hmac",
    "ipaddress", "itertools", "json", "math", "random", "re", "statistics", "string", "time",
    "unicodedata", "urllib", "urllib.parse", "uuid", "logging",
)  # fmt: skip
# Public functions that would reach the operating system from an otherwise safe module.
MODULE_EXCLUSIONS = {"uuid": {"getnode", "uuid1"}, "time": {"pthread_getcpuclockid"}}


class RuleSourceError(Exception):
    """The rule's source is not acceptable (syntax, forbidden construct, no `rule`)."""


class RuleTimeout(BaseException):
    """Raised by the worker's alarm when a rule runs past its time budget."""


class UnauthorizedError(Exception):
    """Raised by a rule to deny the login; its message reaches the application."""


class HttpError(Exception):
    """A request through `api.http` failed or was refused by the allowlist."""


class Console:
    """Collects what one rule prints, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False

    def write(self, text: str) -> None:
        if self.size >= self.limit:
            self.truncated = True
            return
        room = self.limit - self.size
        if len(text) > room:
            text = text[:room]
            self.truncated = True
        self.parts.append(text)
        self.size += len(text)

    def text(self) -> str:
        return "".join(self.parts)


class ConsoleSlot:
    """The console of the rule running now; builtins and the logging shim write through it."""

    current: Console | None = None


def _console_write(text: str) -> None:
    if ConsoleSlot.current is not None:
        ConsoleSlot.current.write(text)


def _print(*args: object, sep: str | None = " ", end: str | None = "\n", **_: object) -> None:
    _console_write((sep if sep is not None else " ").join(str(a) for a in args) + (end or ""))


class _Logger:
    def __init__(self, name: str) -> None:
        self.name = name

    def _log(self, level: str, message: object, *args: object) -> None:
        text = str(message) % args if args else str(message)
        _console_write(f"{level}:{self.name}:{text}\n")

    def debug(self, message: object, *args: object) -> None:
        self._log("DEBUG", message, *args)

    def info(self, message: object, *args: object) -> None:
        self._log("INFO", message, *args)

    def warning(self, message: object, *args: object) -> None:
        self._log("WARNING", message, *args)

    def error(self, message: object, *args: object) -> None:
        self._log("ERROR", message, *args)

    def exception(self, message: object, *args: object) -> None:
        self._log("ERROR", message, *args)

    warn = warning
    critical = error


def _logging_module() -> types.SimpleNamespace:
    root = _Logger("root")
    return types.SimpleNamespace(
        getLogger=lambda name="rule": _Logger(str(name)),
        debug=root.debug,
        info=root.info,
        warning=root.warning,
        warn=root.warning,
        error=root.error,
        exception=root.exception,
        critical=root.error,
        DEBUG=10,
        INFO=20,
        WARNING=30,
        ERROR=40,
        CRITICAL=50,
    )


def _public_view(module: types.ModuleType, name: str) -> types.SimpleNamespace:
    """A copy of a module's public, non-module attributes (no `json.decoder.sys`-style paths)."""
    excluded = MODULE_EXCLUSIONS.get(name, set())
    attributes = {
        key: value
        for key, value in vars(module).items()
        if not key.startswith("_") and not inspect.ismodule(value) and key not in excluded
    }
    return types.SimpleNamespace(**attributes)


def _build_safe_modules() -> dict[str, types.SimpleNamespace]:
    real: dict[str, types.ModuleType] = {
        "base64": base64, "collections": collections, "copy": copy, "datetime": datetime,
        "decimal": decimal, "functools": functools, "hashlib": hashlib, "hmac": hmac,
        "ipaddress": ipaddress, "itertools": itertools, "json": json, "math": math,
        "random": random, "re": re, "statistics": statistics, "string": string, "time": time,
        "unicodedata": unicodedata, "uuid": uuid, "urllib.parse": urllib.parse,
    }  # fmt: skip
    views = {name: _public_view(module, name) for name, module in real.items()}
    views["urllib"] = types.SimpleNamespace(parse=views["urllib.parse"])
    views["logging"] = _logging_module()
    return views


SAFE_MODULES = _build_safe_modules()


# Imported by the interpreter's own C code (datetime.strptime); a rule's source cannot name them.
INTERNAL_MODULES: dict[str, types.ModuleType] = {"_strptime": importlib.import_module("_strptime")}


def _safe_import(
    name: str,
    globals_: object = None,
    locals_: object = None,
    fromlist: tuple[str, ...] | None = (),
    level: int = 0,
) -> types.SimpleNamespace | types.ModuleType:
    if level == 0 and name in INTERNAL_MODULES:
        return INTERNAL_MODULES[name]
    if level != 0 or name not in SAFE_MODULES:
        allowed = ", ".join(sorted(SAFE_MODULES))
        raise ImportError(f"import of '{name}' is not allowed in rules (allowed: {allowed})")
    if fromlist or "." not in name:
        return SAFE_MODULES[name]
    return SAFE_MODULES[name.split(".", 1)[0]]


def _check_attribute_name(name: str) -> None:
    if not isinstance(name, str) or name.startswith("_") or name in FORBIDDEN_ATTRIBUTES:
        raise AttributeError(f"attribute '{name}' is not available to rules")


_MISSING = object()


def _safe_getattr(obj: object, name: str, default: object = _MISSING) -> object:
    _check_attribute_name(name)
    if default is _MISSING:
        return getattr(obj, name)
    return getattr(obj, name, default)


def _safe_hasattr(obj: object, name: str) -> bool:
    _check_attribute_name(name)
    return hasattr(obj, name)


def _forbidden(name: str) -> Callable[..., Any]:
    def refuse(*_: object, **__: object) -> None:
        if name == "open":
            raise PermissionError("rules cannot open files")
        raise PermissionError(f"{name}() is not available to rules")

    return refuse


def _build_builtins() -> dict[str, object]:
    import builtins

    names = (  # noqa: SIM905 - a word list reads better
        "abs all any ascii bin bool bytearray bytes callable chr classmethod complex dict "
        "divmod enumerate filter float format frozenset hash hex int isinstance issubclass "
        "iter len list map max min next object oct ord pow property range repr reversed round "
        "set slice sorted staticmethod str sum super tuple type zip ArithmeticError "
        "AssertionError AttributeError BaseException Exception IndexError KeyError "
        "LookupError MemoryError NameError NotImplementedError OverflowError RecursionError "
        "RuntimeError StopIteration TypeError UnicodeDecodeError UnicodeEncodeError "
        "ValueError ZeroDivisionError ImportError PermissionError NotImplemented Ellipsis "
        "None True False"
    ).split()
    table: dict[str, object] = {name: getattr(builtins, name) for name in names}
    table.update(
        __build_class__=builtins.__build_class__,
        __import__=_safe_import,
        __name__="rule",
        print=_print,
        getattr=_safe_getattr,
        hasattr=_safe_hasattr,
    )
    for name in ("open", "input", "breakpoint", "help", "exit", "quit", "memoryview"):
        table[name] = _forbidden(name)
    return table


SAFE_BUILTINS = _build_builtins()


class _Checker(ast.NodeVisitor):
    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES:
            raise RuleSourceError(
                f"line {node.lineno}: attribute '{node.attr}' is not available to rules"
            )
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("__") or node.id in FORBIDDEN_NAMES:
            raise RuleSourceError(f"line {node.lineno}: '{node.id}' is not available to rules")
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._check_module(node.module or "", node.lineno)
        for alias in node.names:
            if alias.name.startswith("_"):
                raise RuleSourceError(f"line {node.lineno}: '{alias.name}' cannot be imported")

    def _check_module(self, module: str, line: int) -> None:
        if any(part.startswith("_") for part in module.split(".")):
            raise RuleSourceError(f"line {line}: import of '{module}' is not allowed in rules")


def compile_rule(source: str, name: str) -> Callable[..., Any]:
    """The rule's `rule` function, compiled in its own restricted namespace."""
    try:
        tree = ast.parse(source, filename=f"<rule {name}>")
    except SyntaxError as exc:
        raise RuleSourceError(f"SyntaxError: {exc.msg} (line {exc.lineno})") from None
    _Checker().visit(tree)
    code = compile(tree, f"<rule {name}>", "exec")
    namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, "__name__": "rule"}
    exec(code, namespace)  # noqa: S102 - restricted namespace inside the worker process
    rule = namespace.get("rule")
    if not callable(rule):
        raise RuleSourceError("a Python rule must define rule(user, context, configuration, api)")
    return rule  # type: ignore[no-any-return]


class HttpResponse:
    """What `api.http` returns; usable directly or with `await`."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.status: int = result["status"]
        self.status_code = self.status
        self.reason: str = result.get("reason", "")
        self.headers: dict[str, str] = result.get("headers", {})
        self.text: str = result.get("text", "")
        self.url: str = result.get("url", "")
        self.ok = 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.text)

    def __await__(self) -> Any:
        return self
        yield  # pragma: no cover - makes this a generator


class _Awaitable:
    def __init__(self, value: object) -> None:
        self._value = value

    def __await__(self) -> Any:
        return self._value
        yield  # pragma: no cover


HostCall = Callable[[dict[str, Any]], dict[str, Any]]


class HttpApi:
    def __init__(self, host_call: HostCall) -> None:
        self._host_call = host_call

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        json: Any = _MISSING,
        data: str | dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        request: dict[str, Any] = {"method": str(method).upper(), "url": str(url)}
        if params:
            request["params"] = {str(k): v for k, v in params.items()}
        if headers:
            request["headers"] = {str(k): str(v) for k, v in headers.items()}
        if json is not _MISSING:
            request["json"] = json
        if isinstance(data, dict):
            request["form"] = {str(k): str(v) for k, v in data.items()}
        elif data is not None:
            request["body"] = str(data)
        if timeout is not None:
            request["timeout"] = float(timeout)
        result = self._host_call(request)
        if "error" in result:
            raise HttpError(result["error"])
        return HttpResponse(result)

    def get(self, url: str, **options: Any) -> HttpResponse:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> HttpResponse:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> HttpResponse:
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> HttpResponse:
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> HttpResponse:
        return self.request("DELETE", url, **options)


class UsersApi:
    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self._updates = updates

    def _record(self, kind: str, user_id: object, metadata: object) -> _Awaitable:
        if not isinstance(metadata, dict):
            raise TypeError(f"{kind} must be a dict")
        value = json.loads(json.dumps(metadata))
        self._updates.append({"user_id": str(user_id), "kind": kind, "value": value})
        return _Awaitable(None)

    def update_user_metadata(self, user_id: str, metadata: dict[str, Any]) -> _Awaitable:
        return self._record("user_metadata", user_id, metadata)

    def update_app_metadata(self, user_id: str, metadata: dict[str, Any]) -> _Awaitable:
        return self._record("app_metadata", user_id, metadata)


MAX_MENTION_TEXT = 10_000
MAX_MENTION_SOURCE = 64
MAX_MENTION_URL = 2048


class MentionsApi:
    """`api.mentions.add(user_id, text, source="rule", url=None)`: the server scores the text
    (VADER) and updates the customer's sentiment in the login's transaction, after the rules."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self._updates = updates

    def add(
        self, user_id: str, text: str, source: str = "rule", url: str | None = None
    ) -> _Awaitable:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a mention's text must be a non-empty string")
        if len(text) > MAX_MENTION_TEXT:
            raise ValueError(f"a mention's text is longer than {MAX_MENTION_TEXT} characters")
        if not isinstance(source, str) or not source or len(source) > MAX_MENTION_SOURCE:
            raise ValueError(f"a mention's source must be 1 to {MAX_MENTION_SOURCE} characters")
        if url is not None and (not isinstance(url, str) or len(url) > MAX_MENTION_URL):
            raise ValueError(f"a mention's url must be a string of at most {MAX_MENTION_URL}")
        value = {"text": text, "source": source, "url": url}
        self._updates.append({"user_id": str(user_id), "kind": "mention", "value": value})
        return _Awaitable(None)


class Api:
    """The `api` argument of a Python rule."""

    UnauthorizedError = UnauthorizedError
    HttpError = HttpError

    def __init__(self, host_call: HostCall, updates: list[dict[str, Any]]) -> None:
        self.users = UsersApi(updates)
        self.http = HttpApi(host_call)
        self.mentions = MentionsApi(updates)


def call_rule(
    rule: Callable[..., Any],
    user: dict[str, Any],
    context: dict[str, Any],
    configuration: dict[str, Any],
    api: Api,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one rule; an `async def` rule is driven without an event loop (api calls never wait)."""
    result = rule(user, context, configuration, api)
    if inspect.iscoroutine(result):
        try:
            result.send(None)
        except StopIteration as stop:
            result = stop.value
        else:
            result.close()
            raise RuntimeError("an async rule may only await api calls")
    if isinstance(result, tuple) and len(result) == 2:
        new_user, new_context = result
        if isinstance(new_user, dict) and isinstance(new_context, dict):
            return new_user, new_context
    return user, context
