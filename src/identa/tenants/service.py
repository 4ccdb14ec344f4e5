"""Reads and changes the tenant's settings; creates them with defaults on first use."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.connections.database.policy import POLICY_LEVELS
from identa.core.clock import Clock
from identa.core.errors import InvalidInput
from identa.tenants.models import TENANT_ROW_ID, TenantSettingsRow

DEFAULT_MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class BruteForceSettings:
    enabled: bool = True
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    allowlist: tuple[str, ...] = ()


@dataclass(frozen=True)
class TenantSettings:
    friendly_name: str
    support_email: str | None
    support_url: str | None
    default_connection: str | None
    default_password_policy: str
    brute_force: BruteForceSettings
    extra: dict[str, Any] = field(default_factory=dict)


def _to_domain(row: TenantSettingsRow) -> TenantSettings:
    return TenantSettings(
        friendly_name=row.friendly_name,
        support_email=row.support_email,
        support_url=row.support_url,
        default_connection=row.default_connection,
        default_password_policy=row.default_password_policy,
        brute_force=BruteForceSettings(
            enabled=row.brute_force_enabled,
            max_attempts=row.brute_force_max_attempts,
            allowlist=tuple(row.brute_force_allowlist or ()),
        ),
        extra=dict(row.extra or {}),
    )


class TenantService:
    """Tenant settings are read on every login, so they are kept in memory for a few seconds.

    A change made through this service is seen at once in this process; other processes see it
    within `cache_seconds`.
    """

    def __init__(self, clock: Clock, *, cache_seconds: float = 5.0) -> None:
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, TenantSettings] | None = None

    async def _row(self, session: AsyncSession) -> TenantSettingsRow:
        row = await session.get(TenantSettingsRow, TENANT_ROW_ID)
        if row is None:
            row = TenantSettingsRow(
                id=TENANT_ROW_ID,
                friendly_name="Identa",
                support_email=None,
                support_url=None,
                default_connection=None,
                default_password_policy="good",
                brute_force_enabled=True,
                brute_force_max_attempts=DEFAULT_MAX_ATTEMPTS,
                brute_force_allowlist=[],
                extra={},
                updated_at=self._clock.now(),
            )
            session.add(row)
            await session.flush()
        return row

    async def get(self, session: AsyncSession) -> TenantSettings:
        cached = self._cached
        if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
            return cached[1]
        settings = _to_domain(await self._row(session))
        self._cached = (time.monotonic(), settings)
        return settings

    async def update(self, session: AsyncSession, **changes: Any) -> TenantSettings:
        row = await self._row(session)
        if "default_password_policy" in changes and (
            changes["default_password_policy"] not in POLICY_LEVELS
        ):
            raise InvalidInput(f"password policy must be one of {', '.join(POLICY_LEVELS)}")
        if "brute_force_max_attempts" in changes:
            attempts = changes["brute_force_max_attempts"]
            if not isinstance(attempts, int) or not 1 <= attempts <= 100:
                raise InvalidInput("brute-force max_attempts must be between 1 and 100")
        for key, value in changes.items():
            if not hasattr(row, key) or key in ("id", "updated_at"):
                raise InvalidInput(f"unknown tenant setting: {key}")
            setattr(row, key, value)
        row.updated_at = self._clock.now()
        await session.flush()
        self._cached = None
        return _to_domain(row)
