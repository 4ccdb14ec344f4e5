"""Users exports: NDJSON or CSV, read in keyset-ordered chunks (by user_id), each chunk written
as one gzip member so the stored pieces concatenate into one .gz file.

CSV cells are escaped as OWASP recommends against formula injection: every cell is quoted, inner
quotes doubled, and a cell starting with = + - @ tab or CR gets a leading apostrophe.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.identity.models import Identity, User
from identa.identity.profile import user_to_dict
from identa.jobs.errors import InvalidExportRequest

FORMATS = ("json", "csv")
MAX_CSV_FIELDS = 30
MAX_FIELDS = 200
DEFAULT_CSV_FIELDS = (
    "user_id", "email", "email_verified", "username", "phone_number", "name", "given_name",
    "family_name", "nickname", "picture", "created_at", "updated_at", "last_login", "last_ip",
    "logins_count", "blocked",
)  # fmt: skip
_PATH = re.compile(r"^[A-Za-z_$][\w\-$]*(\[\d+\])?(\.[\w\-$]+(\[\d+\])?)*$")
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
USERS = cast(Table, User.__table__)
IDENTITIES = cast(Table, Identity.__table__)


def check_fields(raw: Any, fmt: str) -> list[dict[str, str]]:
    """Auth0's `fields`: [{name, export_as?}]; names are dotted paths such as
    `user_metadata.interests` or `identities[0].connection`."""
    if fmt not in FORMATS:
        raise InvalidExportRequest("format must be json or csv", field="format")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidExportRequest("fields must be an array", field="fields")
    out: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidExportRequest("each field must be an object with a name", field="fields")
        name = item["name"]
        export_as = item.get("export_as", name)
        if not isinstance(export_as, str) or not export_as or len(export_as) > 255:
            raise InvalidExportRequest("export_as must be a non-empty string", field="fields")
        if len(name) > 255 or not _PATH.match(name):
            raise InvalidExportRequest(f"invalid field name: {name!r}", field="fields")
        if fmt == "csv" and name in ("user_metadata", "app_metadata", "identities"):
            raise InvalidExportRequest(
                f"{name} must be exported per sub-field in CSV (e.g. {name}.some_key)",
                field="fields",
            )
        out.append({"name": name, "export_as": export_as})
    limit = MAX_CSV_FIELDS if fmt == "csv" else MAX_FIELDS
    if len(out) > limit:
        raise InvalidExportRequest(f"at most {limit} fields may be exported", field="fields")
    return out


def lookup(profile: dict[str, Any], path: str) -> Any:
    value: Any = profile
    for name, index in _STEP.findall(path):
        if name:
            if not isinstance(value, dict) or name not in value:
                return None
            value = value[name]
        else:
            position = int(index)
            if not isinstance(value, list) or position >= len(value):
                return None
            value = value[position]
    return value


def csv_cell(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'


def csv_header(fields: Sequence[dict[str, str]]) -> bytes:
    names = [f["export_as"] for f in fields] if fields else list(DEFAULT_CSV_FIELDS)
    return (",".join(csv_cell(name) for name in names) + "\n").encode("utf-8")


def render(users: Sequence[Any], fmt: str, fields: Sequence[dict[str, str]]) -> bytes:
    lines: list[str] = []
    for user in users:
        profile = user_to_dict(user)
        if fmt == "json":
            if fields:
                row = {f["export_as"]: lookup(profile, f["name"]) for f in fields}
                profile = {key: value for key, value in row.items() if value is not None}
            lines.append(json.dumps(profile, ensure_ascii=False, separators=(",", ":")))
        else:
            paths = [f["name"] for f in fields] if fields else DEFAULT_CSV_FIELDS
            lines.append(",".join(csv_cell(lookup(profile, path)) for path in paths))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def compress(data: bytes) -> bytes:
    # Level 1: exports are large and read once; speed matters more than the last bytes.
    return gzip.compress(data, compresslevel=1, mtime=0)


def _scope(query: Any, connection_id: str | None) -> Any:
    if connection_id is None:
        return query
    owners = select(IDENTITIES.c.user_id).where(IDENTITIES.c.connection_id == connection_id)
    return query.where(USERS.c.user_id.in_(owners))


async def count_users(db: AsyncSession, connection_id: str | None) -> int:
    query = _scope(select(func.count()).select_from(USERS), connection_id)
    return int(await db.scalar(query) or 0)


async def next_users(
    db: AsyncSession, connection_id: str | None, after: str | None, limit: int
) -> list[Any]:
    """The next users after `after` in user_id order, with their identities: two Core queries
    per chunk, no ORM objects (the rows only need to look like User for user_to_dict)."""
    query = _scope(select(USERS), connection_id)
    if after is not None:
        query = query.where(USERS.c.user_id > after)
    rows = (await db.execute(query.order_by(USERS.c.user_id).limit(limit))).all()
    if not rows:
        return []
    identities: dict[str, list[Any]] = defaultdict(list)
    found = await db.execute(
        select(IDENTITIES)
        .where(IDENTITIES.c.user_id.in_([row.user_id for row in rows]))
        .order_by(IDENTITIES.c.user_id, IDENTITIES.c.position)
    )
    for identity in found.all():
        identities[identity.user_id].append(identity)
    return [SimpleNamespace(**row._mapping, identities=identities[row.user_id]) for row in rows]
