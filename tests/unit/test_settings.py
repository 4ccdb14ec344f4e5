"""Settings from the environment, with secrets from *_FILE."""

from __future__ import annotations

from pathlib import Path

import pytest

from identa.settings import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IDENTA_DATA_DIR", "IDENTA_DATABASE_URL", "IDENTA_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.data_dir == Path(".identa")
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("/.identa/identa.db")
    assert settings.public_url == "http://127.0.0.1:3000"
    assert settings.issuer == "http://127.0.0.1:3000/"
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 3000)
    assert not settings.secure_cookies


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IDENTA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IDENTA_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("IDENTA_PUBLIC_URL", "https://id.example.com/")
    monkeypatch.setenv("IDENTA_PASSWORD_HASH__TIME_COST", "3")
    monkeypatch.setenv("IDENTA_MAIL__PROVIDER", "smtp")
    settings = Settings()
    assert settings.resolved_database_url == "postgresql+asyncpg://u@h/db"
    assert settings.public_url == "https://id.example.com"
    assert settings.issuer == "https://id.example.com/"
    assert settings.listen_port == 443 and settings.secure_cookies
    assert settings.password_hash.time_cost == 3
    assert settings.mail.provider == "smtp"


def test_secrets_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    (tmp_path / "smtp").write_text("smtp-pass")
    (tmp_path / "db").write_text("postgresql+asyncpg://file@h/db")
    monkeypatch.setenv("IDENTA_SECRET_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("IDENTA_MAIL__SMTP_PASSWORD_FILE", str(tmp_path / "smtp"))
    monkeypatch.setenv("IDENTA_DATABASE_URL_FILE", str(tmp_path / "db"))
    settings = Settings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "from-a-file"
    assert settings.mail.smtp_password is not None
    assert settings.mail.smtp_password.get_secret_value() == "smtp-pass"
    assert settings.database_url == "postgresql+asyncpg://file@h/db"


def test_public_url_must_be_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTA_PUBLIC_URL", "identa.local")
    with pytest.raises(ValueError, match="IDENTA_PUBLIC_URL"):
        Settings()
