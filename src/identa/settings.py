"""Typed settings for one Identa deployment, read once from the environment (prefix IDENTA_).

Every secret setting may also be given as a file: IDENTA_<NAME>_FILE=/path reads the value from it.
Settings are built once in the composition root and passed down; nothing imports a global.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "IDENTA_"


class PasswordHashSettings(BaseModel):
    """argon2id cost. The defaults are OWASP's: 19 MiB, 2 iterations, 1 lane."""

    memory_cost_kib: int = Field(default=19456, ge=8, le=4_194_304)
    time_cost: int = Field(default=2, ge=1, le=64)
    parallelism: int = Field(default=1, ge=1, le=64)


class MailSettings(BaseModel):
    """Where e-mail goes. `console` writes each message to the log; `smtp` sends it."""

    provider: Literal["console", "smtp", "none"] = "console"
    sender: str = "Identa <no-reply@identa.local>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = 10.0


class JobSettings(BaseModel):
    """Bulk users imports and exports (the Management API jobs and `identa users import|export`).

    Auth0 caps an import file at 500 KB; Identa accepts files up to `import_max_bytes` (50 MB by
    default) so that large migrations and benchmarks need not be split.
    """

    import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, le=1024**3)
    import_chunk_size: int = Field(default=2000, ge=1, le=50_000)
    export_chunk_size: int = Field(default=5000, ge=1, le=100_000)
    export_link_seconds: int = Field(default=60, ge=5, le=7 * 24 * 3600)
    retention_seconds: int = Field(default=24 * 3600, ge=60)
    lease_seconds: int = Field(default=30, ge=5, le=3600)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)


class RateLimitSettings(BaseModel):
    """Management API budget per client (the token's azp): `requests` per `window_seconds`,
    counted in fixed windows aligned to the epoch; `requests = 0` turns the limit off.

    Counts live in each process's memory: with several workers the limit applies per worker.
    """

    requests: int = Field(default=6000, ge=0)
    window_seconds: int = Field(default=60, ge=1, le=24 * 3600)


class StreamSettings(BaseModel):
    """Log streams: the outbox dispatcher (inside `identa serve` unless `run_in_serve` is off,
    and in `identa worker`) and the retention of log events."""

    run_in_serve: bool = True
    poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    batch_size: int = Field(default=200, ge=1, le=5000)
    # Failures of one batch before it is dead-lettered and the stream suspended.
    max_attempts: int = Field(default=8, ge=1, le=1000)
    backoff_base_seconds: float = Field(default=0.5, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    send_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    # A worker holds a stream this long (renewed after every batch); after a crash another
    # worker takes over once it has expired. Keep it above send_timeout_seconds.
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    # PostgreSQL: how long a hole in the outbox ids (a transaction still running, or rolled
    # back) holds a stream back before it is taken for a rollback and skipped.
    gap_grace_seconds: float = Field(default=2.0, ge=0, le=600)
    log_retention_days: int = Field(default=30, ge=0, le=36500)  # 0 keeps them forever
    retention_interval_seconds: float = Field(default=3600.0, gt=0)
    trim_interval_seconds: float = Field(default=30.0, gt=0)


class RulesSettings(BaseModel):
    """The rules pipeline: its time budget per login (all rules together) and worker pool."""

    budget_seconds: float = Field(default=20.0, gt=0, le=120)
    workers: int = Field(default=0, ge=0, le=64)  # 0: 2 to 4 by CPU count
    start_in_serve: bool = True  # start the workers with the server (else at the first login)


class EnrichmentSettings(BaseModel):
    """Geo-IP at login: a MaxMind-format City database (GeoLite2-City.mmdb); none: skipped."""

    geoip_database: Path | None = None


class AnalyticsSettings(BaseModel):
    """/api/v2/analytics: the widest date range one request may ask for, and the upkeep."""

    max_range_days: int = Field(default=366, ge=7, le=3660)
    # `identa serve` rolls up the counters and takes the segment snapshots this often (what
    # `identa analytics rollup` does from cron); 0 leaves it to cron.
    upkeep_interval_seconds: float = Field(default=3600.0, ge=0)


class FileSecretsSource(PydanticBaseSettingsSource):
    """Reads IDENTA_<NAME>_FILE (and IDENTA_<GROUP>__<NAME>_FILE) for settings given as files."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = os.environ.get(f"{ENV_PREFIX}{field_name.upper()}_FILE")
        if path:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        nested: dict[str, dict[str, str]] = {}
        marker = "_FILE"
        for env_name, path in os.environ.items():
            if not (env_name.startswith(ENV_PREFIX) and env_name.endswith(marker)):
                continue
            inner = env_name[len(ENV_PREFIX) : -len(marker)].lower()
            if "__" in inner:
                group, _, key = inner.partition("__")
                nested.setdefault(group, {})[key] = Path(path).read_text(encoding="utf-8").strip()
        for group, items in nested.items():
            values.setdefault(group, {}).update(items)
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Path("./.identa")
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:3000"
    secret_key: SecretStr | None = None
    environment: Literal["development", "production", "test"] = "development"
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    session_lifetime_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    session_idle_seconds: int = Field(default=3 * 24 * 3600, ge=60)
    verification_ticket_seconds: int = Field(default=5 * 24 * 3600, ge=60)
    reset_ticket_seconds: int = Field(default=24 * 3600, ge=60)
    password_hash: PasswordHashSettings = PasswordHashSettings()
    mail: MailSettings = MailSettings()
    management_rate_limit: RateLimitSettings = RateLimitSettings()
    # GET /api/v2/users counts matches exactly up to this many (0: always exactly); beyond it
    # `total` is this number and the X-Identa-Total-Capped header says so.
    user_search_count_limit: int = Field(default=10_000, ge=0)
    jobs: JobSettings = JobSettings()
    streams: StreamSettings = StreamSettings()
    rules: RulesSettings = RulesSettings()
    enrichment: EnrichmentSettings = EnrichmentSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    bootstrap_client_id: str | None = None
    bootstrap_client_secret: SecretStr | None = None
    trust_forwarded_headers: bool = False
    database_echo: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        assert isinstance(env_settings, EnvSettingsSource)
        return (init_settings, env_settings, FileSecretsSource(settings_cls))

    @field_validator("public_url")
    @classmethod
    def _public_url_is_absolute(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("IDENTA_PUBLIC_URL must be an absolute http(s) URL")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'identa.db').resolve()}"

    @property
    def issuer(self) -> str:
        """The OIDC issuer: the public URL with a trailing slash, as Auth0 publishes it."""
        return self.public_url + "/"

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.public_url).scheme == "https"

    @property
    def listen_host(self) -> str:
        return urlsplit(self.public_url).hostname or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        parts = urlsplit(self.public_url)
        if parts.port:
            return parts.port
        return 443 if parts.scheme == "https" else 80
