"""Optimization runs: input snapshot, parameters, status and result."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from fieldsvc.models.base import Base, TimestampMixin, str_enum
from fieldsvc.models.enums import RunStatus


class OptimizationRun(TimestampMixin, Base):
    __tablename__ = "optimization_run"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        CheckConstraint("horizon_days BETWEEN 1 AND 14", name="horizon"),
        CheckConstraint("publish_status IS NULL OR publish_status IN ('queued', 'running', "
                        "'done', 'failed')", name="publish_status"),
        # At most one queued or running run per territory and day, whoever asks.
        Index(
            "uq_optimization_run_active",
            "plan_date",
            func.coalesce(text("territory"), ""),
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[RunStatus] = mapped_column(
        str_enum(RunStatus, "run_status"), default=RunStatus.QUEUED, index=True
    )
    plan_date: Mapped[date] = mapped_column(index=True)
    horizon_days: Mapped[int] = mapped_column(default=1)
    territory: Mapped[str | None] = mapped_column(String(80), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    input_snapshot: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    objective: Mapped[dict[str, Any] | None]
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str | None] = mapped_column(String(400))
    error: Mapped[str | None] = mapped_column(Text)
    solve_seconds: Mapped[float | None]
    assigned_count: Mapped[int | None]
    unassigned_count: Mapped[int | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # Publishing is a job of its own (fieldsvc.dispatch.publish): NULL until asked for, then
    # queued, running, done or failed, with its progress and what it did.
    publish_status: Mapped[str | None] = mapped_column(String(12))
    publish_progress: Mapped[float | None]
    publish_message: Mapped[str | None] = mapped_column(String(400))
    publish_report: Mapped[dict[str, Any] | None]
    publish_started_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
