"""The first console administrator of a deployment (and the demo's), with a generated password
saved beside the bootstrap client in the data directory."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from identa.console.models import ADMIN
from identa.console.service import StaffService

ADMIN_FILE = "console-admin.json"
DEMO_ADMIN_FILE = "console-demo-admin.json"
FIRST_ADMIN_EMAIL = "admin@identa.example"
DEMO_ADMIN_EMAIL = "admin@innovashoes.example"


@dataclass(frozen=True)
class AdminCredentials:
    email: str
    password: str | None  # None when the account exists but its password file is gone
    created: bool
    path: Path


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write(path: Path, email: str, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"email": email, "password": password}, handle)


async def ensure_admin(
    db: AsyncSession,
    staff: StaffService,
    *,
    email: str,
    name: str,
    path: Path,
    only_if_no_staff: bool,
) -> AdminCredentials | None:
    """Creates the admin `email` with a random password written to `path` (0600), unless it
    exists (or, with only_if_no_staff, any staff account exists). None when nothing applies."""
    existing = await staff.find_by_email(db, email)
    if existing is None and only_if_no_staff and await staff.count(db) > 0:
        return None
    if existing is not None:
        saved = _read(path)
        password = saved.get("password") if saved.get("email") == email else None
        return AdminCredentials(email=email, password=password, created=False, path=path)
    password = secrets.token_urlsafe(18)
    await staff.create(db, email=email, role=ADMIN, password=password, name=name)
    _write(path, email, password)
    return AdminCredentials(email=email, password=password, created=True, path=path)
