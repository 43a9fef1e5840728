"""SLA watch: flag work orders whose response or resolution is at risk or breached, and
escalate each breach exactly once.

Flags live in `WorkOrder.sla_flags`::

    {"response": {"state": "at_risk" | "breached", "at": ISO time noticed, "due_at": ...,
                  "escalated": true (breached only, once escalated)},
     "resolution": {...}}

Response is met by arrival on site, resolution by completion (as in
`fieldsvc.services.sla.breached_clause`); a met or cancelled target is left alone.

An escalation raises the priority by one level (never above P1) WITHOUT recomputing the SLA
due times (the customer's clock does not restart because we are late), and records an
outbound `notification` Interaction naming the work order and the breach.

Exactly once, by database state: each work order's change is one conditional UPDATE keyed
on its version (the optimistic-locking column). Of two watchers racing on the same work
order, the second one's UPDATE matches no row (PostgreSQL re-checks the row after the first
commits; SQLite serialises writers), so it skips that work order and writes nothing for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Interaction, WorkOrder
from fieldsvc.models.audit import AuditEntry
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import Direction, InteractionChannel, WorkOrderStatus

DEFAULT_RISK_MINUTES = 60
AT_RISK, BREACHED = "at_risk", "breached"
CLOSED = (WorkOrderStatus.COMPLETED, WorkOrderStatus.CANNOT_COMPLETE,
          WorkOrderStatus.CANCELLED)
LABELS = {"response": "response (arrival on site)", "resolution": "resolution (completion)"}


@dataclass
class WatchReport:
    at_risk: list[int] = field(default_factory=list)  # newly flagged at risk
    breached: list[int] = field(default_factory=list)  # newly flagged breached
    escalated: list[dict[str, Any]] = field(default_factory=list)  # [{work_order_id, kind,
    #                                                                  priority: [old, new]}]
    skipped: list[int] = field(default_factory=list)  # changed by someone else meanwhile

    def summary(self) -> str:
        return (f"{len(self.at_risk)} newly at risk, {len(self.breached)} newly breached, "
                f"{len(self.escalated)} escalations, {len(self.skipped)} skipped (changed "
                "meanwhile)")


def _candidates(now: datetime, margin: timedelta):
    horizon = now + margin
    return (
        select(WorkOrder)
        .where(
            WorkOrder.status.not_in(CLOSED),
            or_(
                and_(WorkOrder.response_due_at.is_not(None), WorkOrder.arrived_at.is_(None),
                     WorkOrder.response_due_at <= horizon),
                and_(WorkOrder.resolution_due_at.is_not(None),
                     WorkOrder.completed_at.is_(None), WorkOrder.resolution_due_at <= horizon),
            ),
        )
        .order_by(WorkOrder.id)
    )


def _state(due: datetime | None, settled: datetime | None, now: datetime,
           margin: timedelta) -> str | None:
    if due is None or settled is not None:
        return None
    if now > due:
        return BREACHED
    if now > due - margin:
        return AT_RISK
    return None


def assess(wo: WorkOrder, now: datetime, margin: timedelta
           ) -> tuple[dict[str, Any], list[str]]:
    """The flags `wo` should carry now, and the kinds whose breach is new (to escalate)."""
    flags = dict(wo.sla_flags or {})
    new_breaches = []
    for kind, due, settled in (("response", wo.response_due_at, wo.arrived_at),
                               ("resolution", wo.resolution_due_at, wo.completed_at)):
        state = _state(due, settled, now, margin)
        old = flags.get(kind) or {}
        if state is None or old.get("state") == state or old.get("state") == BREACHED:
            continue  # nothing new (a breach stays a breach)
        flags[kind] = {"state": state, "at": now.isoformat(), "due_at": due.isoformat()}
        if state == BREACHED:
            flags[kind]["escalated"] = True
            new_breaches.append(kind)
    return flags, new_breaches


def _notify(wo: WorkOrder, kind: str, old_priority: int, new_priority: int,
            now: datetime) -> Interaction:
    due = (wo.response_due_at if kind == "response" else wo.resolution_due_at)
    raised = (f"Priority raised from P{old_priority} to P{new_priority}."
              if new_priority != old_priority else f"Priority stays P{old_priority} (highest).")
    insertion = (f" Propose an emergency insertion: POST /api/v1/work-orders/{wo.id}/insertion."
                 if new_priority == 1 and wo.status is WorkOrderStatus.NEW else "")
    return Interaction(
        customer_id=wo.customer_id,
        channel=InteractionChannel.NOTIFICATION,
        direction=Direction.OUTBOUND,
        subject=f"SLA {kind} breached: work order {wo.id}"[:200],
        notes=(f"Work order {wo.id} ({wo.summary}) missed its {LABELS[kind]} due time "
               f"{due.isoformat()}; status {wo.status.value}. {raised}{insertion}"),
        work_order_id=wo.id,
        occurred_at=now,
    )


def watch(session: Session, actor: Actor, *, now: datetime | None = None,
          risk_minutes: int = DEFAULT_RISK_MINUTES) -> WatchReport:
    """Flag and escalate; flushes, the caller commits."""
    now = now or utcnow()
    margin = timedelta(minutes=risk_minutes)
    report = WatchReport()
    for wo in session.scalars(_candidates(now, margin)).all():
        flags, new_breaches = assess(wo, now, margin)
        if flags == (wo.sla_flags or {}):
            continue
        old_priority = wo.priority
        new_priority = max(1, old_priority - len(new_breaches))
        claimed = session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == wo.id, WorkOrder.version == wo.version)
            .values(sla_flags=flags, priority=new_priority, version=wo.version + 1,
                    updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            report.skipped.append(wo.id)
            continue
        changes: dict[str, list] = {"sla_flags": [wo.sla_flags, flags]}
        if new_priority != old_priority:
            changes["priority"] = [old_priority, new_priority]
        # A Core UPDATE passes the audit hook by; record it the way the hook would.
        session.execute(AuditEntry.__table__.insert().values(
            at=now, actor_id=actor.id, actor_name=actor.name, source=actor.source,
            action="update", entity_type="work_order", entity_id=str(wo.id), changes=changes))
        previous = {k: (v or {}).get("state") for k, v in (wo.sla_flags or {}).items()}
        for state, ids in ((BREACHED, report.breached), (AT_RISK, report.at_risk)):
            if any(previous.get(k) != f["state"] == state for k, f in flags.items()):
                ids.append(wo.id)
        priority = old_priority
        for kind in new_breaches:
            raised = max(1, priority - 1)
            session.add(_notify(wo, kind, priority, raised, now))
            report.escalated.append({"work_order_id": wo.id, "kind": kind,
                                     "priority": [priority, raised]})
            priority = raised
        session.expire(wo)
    session.flush()
    return report
