"""Analytics read models: one narrow row per login or sign-up, counters rolled up from them,
the rollup's progress, saved segments and their daily counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from identa.db.base import Base, UTCDateTime


class LoginFact(Base):
    """A success login (`s`) or sign-up (`ss`) log event, with the dimensions analytics groups
    by, copied from the event's enrichment and the customer's profile when it was rolled up."""

    __tablename__ = "login_facts"
    __table_args__ = (
        Index("ix_login_facts_day_kind", "day", "kind"),
        Index("ix_login_facts_user_id_day", "user_id", "day"),
    )

    log_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(4))  # s | ss
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)
    week: Mapped[date] = mapped_column(Date)  # the Monday of its ISO week
    month: Mapped[date] = mapped_column(Date)  # the first of its month
    connection: Mapped[str] = mapped_column(String(128), default="")
    country: Mapped[str] = mapped_column(String(8), default="")
    device_type: Mapped[str] = mapped_column(String(16), default="")
    browser: Mapped[str] = mapped_column(String(64), default="")
    os: Mapped[str] = mapped_column(String(64), default="")
    gender: Mapped[str] = mapped_column(String(16), default="")
    age_band: Mapped[str] = mapped_column(String(16), default="")


class Counter(Base):
    """A rolled-up figure: `metric` in `bucket` (a day, or a week's Monday, or a month's first)
    for one value of one dimension. See identa.analytics.rollups for the metrics."""

    __tablename__ = "analytics_counters"

    bucket: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class RollupState(Base):
    __tablename__ = "analytics_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    query: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentCount(Base):
    """A segment's member count on a day (the daily snapshot job, and at creation)."""

    __tablename__ = "segment_counts"

    segment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerDay(Base):
    """How many customers last logged in on `day` (kind 'login'), or never logged in and were
    created on `day` (kind 'never'). Folded from customer_day_deltas by the rollup job."""

    __tablename__ = "customer_days"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class CustomerDayDelta(Base):
    """A change to customer_days, appended by triggers on `users` (migration 0015)."""

    __tablename__ = "customer_day_deltas"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    day: Mapped[date] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)


class UserChange(Base):
    """A user inserted, updated or deleted (or one of their identities), appended by triggers
    (migration 0015); `xid` is the PostgreSQL transaction's id (None on SQLite)."""

    __tablename__ = "user_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[str] = mapped_column(String(255))
    xid: Mapped[int | None] = mapped_column(BigInteger)


class SegmentSnapshot(Base):
    """A segment's members as of `mark` (see identa.analytics.segments), and how many."""

    __tablename__ = "segment_snapshots"

    segment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mark: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMember(Base):
    __tablename__ = "segment_members"

    segment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
