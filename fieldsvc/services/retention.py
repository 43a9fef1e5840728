"""Retention: delete what has expired, kind by kind, in small batches.

Each kind keeps its rows for a configured number of days (`RETENTION_DAYS`, from
FIELDSVC_RETENTION_<KIND>_DAYS; 0 keeps them forever):

    tokens        API and console tokens expired (or revoked) that long ago
    pings         technicians' location pings received that long ago
    changes       the phones' job change feed (a phone further behind re-reads its day)
    idempotency   the phones' Idempotency-Key records (never fewer than 7 days)
    audit         audit log entries
    run_payloads  the input and result of optimization runs finished that long ago (the
                  run row and its figures stay; only the payload goes)
    events        outbox events that happened that long ago, with their deliveries, once
                  none of those is pending; the latest event of each aggregate stays, so
                  its events go on numbering from there
    links         customers' self-service links that expired (or were withdrawn) that long
                  ago; such a link still answers "expired", from its signed date

A batch is one DELETE (or UPDATE) of at most `batch` rows chosen by id, so no statement
holds many locks; the caller commits between batches (`purge_batch` answers how many rows
it touched, 0 when a kind is done).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, null, or_, select, update
from sqlalchemy.orm import Session, aliased

from fieldsvc.config import KINDS, retention_days  # noqa: F401 - the kinds live there
from fieldsvc.events.models import DeliveryStatus, EventDelivery, OutboxEvent
from fieldsvc.models import AuthToken, OptimizationRun
from fieldsvc.models.audit import AuditEntry
from fieldsvc.selfservice.models import SelfServiceLink
from mobile_api.models import IdempotencyKey, JobChange, LocationPing


def _ids(session: Session, column, condition, batch: int) -> list[int]:
    return list(session.scalars(select(column).where(condition).order_by(column).limit(batch)))


def purge_batch(session: Session, kind: str, cutoff: datetime, batch: int) -> int:
    """Delete (or empty) at most `batch` expired rows of `kind`; how many it touched."""
    if kind == "events":
        return _purge_events(session, cutoff, batch)
    if kind == "run_payloads":
        ids = _ids(session, OptimizationRun.id, (
            (OptimizationRun.finished_at < cutoff)
            & or_(OptimizationRun.result.is_not(None),
                  OptimizationRun.input_snapshot.is_not(None))), batch)
        if ids:
            # Core UPDATE: the payloads are not copied into the audit log on their way out.
            session.execute(update(OptimizationRun).where(OptimizationRun.id.in_(ids))
                            .values(result=null(), input_snapshot=null())
                            .execution_options(synchronize_session=False))
        return len(ids)
    model, condition = {
        "tokens": (AuthToken, or_(AuthToken.expires_at < cutoff,
                                  AuthToken.revoked_at < cutoff)),
        "pings": (LocationPing, LocationPing.received_at < cutoff),
        "changes": (JobChange, JobChange.created_at < cutoff),
        "idempotency": (IdempotencyKey, IdempotencyKey.created_at < cutoff),
        "audit": (AuditEntry, AuditEntry.at < cutoff),
        "links": (SelfServiceLink, or_(SelfServiceLink.expires_at < cutoff,
                                       SelfServiceLink.revoked_at < cutoff)),
    }[kind]
    ids = _ids(session, model.id, condition, batch)
    if ids:
        session.execute(delete(model).where(model.id.in_(ids))
                        .execution_options(synchronize_session=False))
    return len(ids)


def _purge_events(session: Session, cutoff: datetime, batch: int) -> int:
    later = aliased(OutboxEvent)
    ids = _ids(session, OutboxEvent.id, (
        (OutboxEvent.occurred_at < cutoff) & OutboxEvent.fanned_out_at.is_not(None)
        & ~exists().where(EventDelivery.event_id == OutboxEvent.id,
                          EventDelivery.status == DeliveryStatus.PENDING)
        & exists().where(later.aggregate_type == OutboxEvent.aggregate_type,
                         later.aggregate_id == OutboxEvent.aggregate_id,
                         later.sequence > OutboxEvent.sequence)), batch)
    if ids:
        session.execute(delete(EventDelivery).where(EventDelivery.event_id.in_(ids))
                        .execution_options(synchronize_session=False))
        session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids))
                        .execution_options(synchronize_session=False))
    return len(ids)


@dataclass
class RetentionReport:
    purged: dict[str, int] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)  # kinds left for the next run

    def summary(self) -> str:
        done = ", ".join(f"{n} {kind}" for kind, n in self.purged.items() if n) or "nothing"
        rest = f"; left for next time: {', '.join(self.unfinished)}" if self.unfinished else ""
        return f"purged {done}{rest}"


def cutoffs(days: Mapping[str, int], now: datetime) -> dict[str, datetime]:
    """The expiry moment of every kind that is purged at all."""
    return {kind: now - timedelta(days=n) for kind, n in days.items() if n > 0}
