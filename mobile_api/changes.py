"""The per-technician change feed: what happened to their jobs since a cursor.

A flush hook appends a `JobChange` row whenever a work order is assigned to a technician,
taken from one, or changed while assigned — whichever path made the change (dispatcher,
optimizer publish, the phone itself), in the same transaction as the change.

The cursor is the id of the last change the phone has seen. Ids come from a sequence, and
on PostgreSQL a transaction that took a smaller id may commit after a larger one became
visible; so the cursor handed back never passes a change younger than `SETTLE_SECONDS`:
such changes are sent again next time (delivery is at least once; applying a job twice
is harmless for the phone, missing one is not).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from fieldsvc.models import Technician, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.problems import InvalidInput
from mobile_api.day import build_jobs, job_rows
from mobile_api.models import JobChange

SETTLE_SECONDS = 5
MAX_LIMIT = 500


def _after_flush(session: Session, flush_context) -> None:
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, WorkOrder) or obj.id is None:
            continue
        hist = inspect(obj).attrs.technician_id.history
        if obj in session.new:
            if obj.technician_id is not None:
                rows.append({"technician_id": obj.technician_id, "work_order_id": obj.id,
                             "kind": "assigned", "created_at": now})
            continue
        before = hist.deleted[0] if hist.deleted else None
        after = obj.technician_id
        if hist.added and before != after:
            if before is not None:
                rows.append({"technician_id": before, "work_order_id": obj.id,
                             "kind": "unassigned", "created_at": now})
            if after is not None:
                rows.append({"technician_id": after, "work_order_id": obj.id,
                             "kind": "assigned", "created_at": now})
        elif after is not None and session.is_modified(obj, include_collections=False):
            rows.append({"technician_id": after, "work_order_id": obj.id, "kind": "updated",
                         "created_at": now})
    if rows:
        session.connection().execute(insert(JobChange.__table__), rows)


def install() -> None:
    """Attach the feed hook to every session (once)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def parse_cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput({"cursor": ["Give the cursor of your last answer (digits)."]})
    return int(raw)


def was_assigned(session: Session, technician_id: int, work_order_id: int) -> bool:
    """True when the work order was this technician's at some point."""
    return session.scalar(select(JobChange.id).where(
        JobChange.technician_id == technician_id, JobChange.work_order_id == work_order_id,
        JobChange.kind == "unassigned").limit(1)) is not None


def changes_since(session: Session, technician: Technician, cursor: int,
                  limit: int) -> dict[str, Any]:
    """Jobs changed for `technician` after `cursor`: the latest state of each, once."""
    rows = session.execute(
        select(JobChange.id, JobChange.work_order_id, JobChange.kind, JobChange.created_at)
        .where(JobChange.technician_id == technician.id, JobChange.id > cursor)
        .order_by(JobChange.id).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    settled_before = utcnow() - timedelta(seconds=SETTLE_SECONDS)
    next_cursor = cursor
    for row in rows:
        if row.created_at > settled_before:
            break
        next_cursor = row.id
    latest: dict[int, Any] = {}
    for row in rows:
        latest.pop(row.work_order_id, None)
        latest[row.work_order_id] = row  # ordered by the latest change
    current = {doc["id"]: doc for doc in build_jobs(
        session, technician, job_rows(session, technician.id, list(latest)))}
    changes = []
    for wo_id, row in latest.items():
        job = current.get(wo_id)
        kind = row.kind if job is not None else "unassigned"
        if kind == "unassigned":
            job = None
        changes.append({"job_id": wo_id, "kind": kind, "change_id": row.id,
                        "at": row.created_at.isoformat(), "job": job})
    return {"cursor": str(next_cursor), "has_more": has_more, "changes": changes}
