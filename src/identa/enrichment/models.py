"""What enrichment keeps per customer: latest place and demographics, devices, interests,
mentions with their sentiment."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, UTCDateTime


def _user_fk() -> ForeignKey:
    return ForeignKey("users.user_id", ondelete="CASCADE", onupdate="CASCADE")


class CustomerProfile(Base):
    """One row per customer who logged in (or was scored): the latest place, demographics and
    the average sentiment. Read by analytics; rebuilt at every login from the user's profile."""

    __tablename__ = "customer_profiles"

    user_id: Mapped[str] = mapped_column(String(255), _user_fk(), primary_key=True)
    country_code: Mapped[str | None] = mapped_column(String(8), index=True)
    country_name: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(128))
    city: Mapped[str | None] = mapped_column(String(128))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(16))
    birthdate: Mapped[date | None] = mapped_column(Date)
    locale: Mapped[str | None] = mapped_column(String(32))
    income_band: Mapped[str | None] = mapped_column(String(32))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_count: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerInterest(Base):
    __tablename__ = "customer_interests"
    __table_args__ = (Index("ix_customer_interests_interest", "interest"),)

    user_id: Mapped[str] = mapped_column(String(255), _user_fk(), primary_key=True)
    interest: Mapped[str] = mapped_column(String(64), primary_key=True)


class CustomerDevice(Base):
    """A browser on an OS on a kind of device a customer logged in with, first and last seen."""

    __tablename__ = "customer_devices"
    __table_args__ = (UniqueConstraint("user_id", "device_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255), _user_fk())
    device_key: Mapped[str] = mapped_column(String(255))
    device_type: Mapped[str] = mapped_column(String(16))
    browser: Mapped[str] = mapped_column(String(64))
    browser_version: Mapped[str | None] = mapped_column(String(32))
    os: Mapped[str] = mapped_column(String(64))
    os_version: Mapped[str | None] = mapped_column(String(32))
    device: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    last_ip: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    logins: Mapped[int] = mapped_column(Integer, default=0)


class CustomerMention(Base):
    """A text about the company attached to a customer (a tweet, a review), with its VADER
    scores."""

    __tablename__ = "customer_mentions"
    __table_args__ = (Index("ix_customer_mentions_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), _user_fk())
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    compound: Mapped[float] = mapped_column(Float)
    positive: Mapped[float] = mapped_column(Float)
    neutral: Mapped[float] = mapped_column(Float)
    negative: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
