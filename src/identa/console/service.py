"""Staff accounts, console sign-in sessions and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.console.errors import (
    InvalidStaff,
    StaffDisabled,
    StaffExists,
    StaffNotFound,
    WrongStaffCredentials,
)
from identa.console.models import ROLES, AuditEntry, StaffSession, StaffUser
from identa.console.store import AuditStore, StaffSessionStore, StaffStore
from identa.core import ids
from identa.core.clock import Clock
from identa.core.digests import token_digest
from identa.identity.errors import InvalidEmail
from identa.identity.passwords import MAX_PASSWORD_BYTES, PasswordHasher
from identa.identity.validation import normalize_email

MIN_PASSWORD_LENGTH = 12
MAX_NAME_LENGTH = 255
OUTCOMES = ("success", "failure", "denied")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidStaff(f"Role must be one of {', '.join(ROLES)}.")
    return role


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidStaff(f"A staff password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise InvalidStaff(f"A staff password may have at most {MAX_PASSWORD_BYTES} bytes.")


class StaffService:
    def __init__(self, clock: Clock, hasher: PasswordHasher) -> None:
        self._clock = clock
        self._hasher = hasher
        self._store = StaffStore()

    async def create(
        self, db: AsyncSession, *, email: str, role: str, password: str, name: str | None = None
    ) -> StaffUser:
        try:
            normalized = normalize_email(email)
        except InvalidEmail as exc:
            raise InvalidStaff(exc.message) from exc
        check_role(role)
        check_password(password)
        display = (name or "").strip() or normalized.split("@")[0]
        if len(display) > MAX_NAME_LENGTH:
            raise InvalidStaff(f"A name may have at most {MAX_NAME_LENGTH} characters.")
        if await self._store.by_email(db, normalized) is not None:
            raise StaffExists(f"A staff account with the e-mail {normalized} already exists.")
        staff = StaffUser(
            id="stf_" + ids.random_alnum(20),
            email=normalized,
            name=display,
            role=role,
            password_hash=await self._hasher.hash(password),
            created_at=self._clock.now(),
            last_login_at=None,
            disabled=False,
        )
        await self._store.add(db, staff)
        return staff

    async def get(self, db: AsyncSession, staff_id: str) -> StaffUser:
        staff = await self._store.by_id(db, staff_id)
        if staff is None:
            raise StaffNotFound("No such staff account.")
        return staff

    async def find_by_email(self, db: AsyncSession, email: str) -> StaffUser | None:
        return await self._store.by_email(db, email.strip().lower())

    async def list(self, db: AsyncSession) -> Sequence[StaffUser]:
        return await self._store.all(db)

    async def count(self, db: AsyncSession) -> int:
        return await self._store.count(db)

    async def authenticate(self, db: AsyncSession, email: str, password: str) -> StaffUser:
        """The account for these credentials; its last_login_at is set. Raises
        WrongStaffCredentials (same answer and time for an unknown e-mail) or StaffDisabled."""
        if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
            raise WrongStaffCredentials("Wrong email or password.")
        staff = await self._store.by_email(db, email.strip().lower())
        result = await self._hasher.verify(staff.password_hash if staff else None, password)
        if staff is None or not result.ok:
            raise WrongStaffCredentials("Wrong email or password.")
        if staff.disabled:
            raise StaffDisabled("This staff account is disabled.")
        if result.needs_rehash:
            staff.password_hash = await self._hasher.hash(password)
        staff.last_login_at = self._clock.now()
        return staff

    async def set_disabled(self, db: AsyncSession, staff: StaffUser, disabled: bool) -> None:
        staff.disabled = disabled
        if disabled:
            await StaffSessionStore().revoke_all_for(db, staff.id, self._clock.now())
        await db.flush()

    async def set_role(self, db: AsyncSession, staff: StaffUser, role: str) -> None:
        staff.role = check_role(role)
        await db.flush()

    async def set_password(self, db: AsyncSession, staff: StaffUser, password: str) -> None:
        check_password(password)
        staff.password_hash = await self._hasher.hash(password)
        await StaffSessionStore().revoke_all_for(db, staff.id, self._clock.now())
        await db.flush()


@dataclass(frozen=True)
class IssuedStaffSession:
    session: StaffSession
    token: str


class StaffSessions:
    """Console sessions: a fresh id at each login, idle and absolute expiry, revocable."""

    def __init__(self, clock: Clock, *, lifetime_seconds: int, idle_seconds: int) -> None:
        self._clock = clock
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._idle = timedelta(seconds=idle_seconds)
        self._store = StaffSessionStore()

    @property
    def lifetime_seconds(self) -> int:
        return int(self._lifetime.total_seconds())

    async def start(
        self,
        db: AsyncSession,
        staff: StaffUser,
        *,
        ip: str | None,
        user_agent: str | None,
        replaces_token: str | None = None,
    ) -> IssuedStaffSession:
        now = self._clock.now()
        if replaces_token:
            await self._store.revoke_token(db, replaces_token, now)
        token = ids.opaque_token(32)
        session = StaffSession(
            id=ids.opaque_token(12),
            token_hash=token_digest(token),
            staff_id=staff.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._lifetime,
            idle_expires_at=now + self._idle,
            revoked_at=None,
            ip=ip,
            user_agent=user_agent,
        )
        await self._store.add(db, session)
        return IssuedStaffSession(session=session, token=token)

    async def resolve(
        self, db: AsyncSession, token: str | None
    ) -> tuple[StaffSession, StaffUser] | None:
        """The live session and its (enabled) staff account for a cookie token; touches the
        session's idle expiry at most once a minute."""
        if not token or len(token) > 256:
            return None
        session = await self._store.by_token(db, token)
        now = self._clock.now()
        if session is None or session.revoked_at is not None:
            return None
        if session.expires_at <= now or session.idle_expires_at <= now:
            return None
        staff = await db.get(StaffUser, session.staff_id)
        if staff is None or staff.disabled:
            return None
        if (now - session.last_seen_at) > timedelta(minutes=1):
            session.last_seen_at = now
            session.idle_expires_at = min(now + self._idle, session.expires_at)
        return session, staff

    async def revoke_token(self, db: AsyncSession, token: str) -> None:
        await self._store.revoke_token(db, token, self._clock.now())


class AuditLog:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._store = AuditStore()

    async def record(
        self,
        db: AsyncSession,
        *,
        staff_id: str | None,
        staff_email: str,
        action: str,
        target_type: str | None = None,
        target_id: str | None = None,
        details: dict[str, Any] | None = None,
        outcome: str = "success",
        ip: str | None = None,
    ) -> AuditEntry:
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {OUTCOMES}")
        entry = AuditEntry(
            staff_id=staff_id,
            staff_email=staff_email[:320],
            action=action[:64],
            target_type=target_type[:32] if target_type else None,
            target_id=target_id[:255] if target_id else None,
            details=details or {},
            outcome=outcome,
            ip=ip[:64] if ip else None,
            at=self._clock.now(),
        )
        await self._store.add(db, entry)
        return entry

    async def page(
        self, db: AsyncSession, *, page: int, per_page: int
    ) -> tuple[Sequence[AuditEntry], int]:
        return await self._store.page(db, offset=page * per_page, limit=per_page)


SESSION_LIFETIME_SECONDS = 8 * 3600
SESSION_IDLE_SECONDS = 30 * 60


class ConsoleServices:
    """The console's services over a deployment's clock and password hasher."""

    def __init__(self, clock: Clock, hasher: PasswordHasher) -> None:
        self.staff = StaffService(clock, hasher)
        self.sessions = StaffSessions(
            clock, lifetime_seconds=SESSION_LIFETIME_SECONDS, idle_seconds=SESSION_IDLE_SECONDS
        )
        self.audit = AuditLog(clock)
