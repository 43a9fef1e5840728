"""What the technician's phone writes besides the work order: idempotency keys, the job
report (checklist answers, notes, labour), attachments, location pings and the per-technician
change feed the phone follows with a cursor.

The tables join fieldsvc's metadata (the same migrations create them) when this module is
imported, which mobile_api/views.py does; the two work-order indexes below serve the phone's
reads, so they are declared here, with the tables they go with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, utcnow
from fieldsvc.models.work_order import WorkOrder

_wo = WorkOrder.__table__
# The phone's day reads a technician's work orders by start time, and each asset's last
# completed visits; at a million work orders both need their own index.
Index("ix_work_order_technician_start", _wo.c.technician_id, _wo.c.scheduled_start_at)
Index("ix_work_order_asset_completed", _wo.c.asset_id, _wo.c.completed_at)


class IdempotencyKey(Base):
    """One write a technician's phone made under an `Idempotency-Key`, and its answer.

    Unique per (technician, key) in the database, so the guarantee holds across processes.
    `state` is `in_progress` while the first request runs, then `done` with the stored
    response that every replay returns.
    """

    __tablename__ = "mobile_idempotency_key"
    __table_args__ = (
        UniqueConstraint("technician_id", "key"),
        CheckConstraint("state IN ('in_progress', 'done')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"))
    key: Mapped[str] = mapped_column(String(200))
    # Method, path and a digest of the body: the same key with another request is refused.
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(400))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12), default="in_progress")
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None]
    response_etag: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    completed_at: Mapped[datetime | None]


class JobReport(Base):
    """The technician's notes and labour minutes for one job (checklist answers live on the
    work order's own checklist)."""

    __tablename__ = "mobile_job_report"
    __table_args__ = (CheckConstraint("labor_minutes IS NULL OR labor_minutes >= 0",
                                      name="labor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), unique=True)
    notes: Mapped[str | None] = mapped_column(Text)
    labor_minutes: Mapped[int | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Attachment(Base):
    """A signature, photo or document uploaded for a job; the bytes live in `Storage`."""

    __tablename__ = "mobile_attachment"
    __table_args__ = (
        CheckConstraint("kind IN ('signature', 'photo', 'document')", name="kind"),
        CheckConstraint("size_bytes > 0", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    content_type: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    taken_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocationPing(Base):
    """Where a technician's phone was, and when."""

    __tablename__ = "mobile_location_ping"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
        Index("ix_mobile_location_ping_tech_at", "technician_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"))
    at: Mapped[datetime]
    latitude: Mapped[float]
    longitude: Mapped[float]
    accuracy_m: Mapped[float | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobChange(Base):
    """Append-only feed: a work order was assigned to, taken from, or changed for a
    technician. The phone follows it with `GET changes?cursor=<id>`."""

    __tablename__ = "mobile_job_change"
    __table_args__ = (
        CheckConstraint("kind IN ('assigned', 'unassigned', 'updated')", name="kind"),
        Index("ix_mobile_job_change_tech_id", "technician_id", "id"),
        Index("ix_mobile_job_change_tech_wo", "technician_id", "work_order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: a log entry must never stop a dispatcher deleting what it mentions.
    technician_id: Mapped[int]
    work_order_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DayVersion(Base):
    """Write counters behind the cached day answer (`mobile_api.day_cache`).

    Database triggers (migration 0015) bump a row here in every transaction that writes a
    table the technician's day is read from, whichever path writes it (ORM, Core, SQL by
    hand). The version of the data is the sum of the rows; `generation` is random for each
    row inserted, so emptying the table never brings an old version back. On PostgreSQL a
    transaction marks itself once (a row of its own in `mobile_day_bump`, a table of the
    migration only) and a deferred trigger bumps one of 16 rows (chosen by its transaction
    id) at COMMIT, as its last act: writers never deadlock on the counter and wait for each
    other only while committing. SQLite has one writer at a time and one row.
    """

    __tablename__ = "mobile_day_version"

    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(BigInteger)


class DayTechVersion(Base):
    """A technician's own write counter behind their cached day (migration 0021).

    Triggers on the tables of a technician's own work (their work orders and what hangs on
    them, their attachments, change feed and technician row) bump the counters of the
    technicians a write concerns, at COMMIT on PostgreSQL; `DayVersion` still versions the
    tables shared by many days. No foreign key: a counter outlives nothing it must protect.
    """

    __tablename__ = "mobile_day_tech_version"

    technician_id: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                               autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(BigInteger)
