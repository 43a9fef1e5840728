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
outbound `notification` Interaction naming the work order and the breach. An escalation
that makes a new work order P1 comes with its emergency insertion offer
(`fieldsvc.dispatch.offer`, when a `timezone` is given, as the scheduler and the CLI do):
the proposal is stored (the dispatch board lists it for acceptance) and the notification
names it, or says why none could be made.

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
from fieldsvc.dispatch.offer import Offer, offer_if_emergency
from fieldsvc.events import work_orders as work_order_events
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
    offers: list[Offer] = field(default_factory=list)  # insertion offers of new P1s
    last_id: int | None = None  # the last work order looked at (a batch's cursor)
    more: bool = False  # a batch stopped at its limit: candidates after last_id remain

    @classmethod
    def combine(cls, reports: list[WatchReport]) -> WatchReport:
        """One report of several batches."""
        total = cls()
        for r in reports:
            for name in ("at_risk", "breached", "escalated", "skipped", "offers"):
                getattr(total, name).extend(getattr(r, name))
            total.last_id, total.more = r.last_id, r.more
        return total

    def summary(self) -> str:
        text = (f"{len(self.at_risk)} newly at risk, {len(self.breached)} newly breached, "
                f"{len(self.escalated)} escalations, {len(self.skipped)} skipped (changed "
                "meanwhile)")
        if self.offers:
            text += (f", {sum(o.offered for o in self.offers)} of {len(self.offers)} new P1s "
                     "with an insertion proposal")
        return text


def _candidates(now: datetime, margin: timedelta, after_id: int = 0):
    horizon = now + margin
    return (
        select(WorkOrder)
        .where(
            WorkOrder.id > after_id,
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


def _insertion_note(wo: WorkOrder, new_priority: int, offer: Offer | None) -> str:
    if offer is not None and offer.proposal is not None:
        data = offer.proposal.proposal
        return (f" Emergency insertion proposal {offer.proposal.id}: technician "
                f"{offer.proposal.technician_id}, ETA {data['eta']}, "
                f"{len(data['eta_changes'])} ETAs change; accept it on the dispatch board or "
                f"POST /api/v1/work-orders/{wo.id}/insertion/accept.")
    if offer is not None:
        return f" No emergency insertion proposed: {offer.reason}"
    if new_priority == 1 and wo.status is WorkOrderStatus.NEW:
        return f" Propose an emergency insertion: POST /api/v1/work-orders/{wo.id}/insertion."
    return ""


def _notify(wo: WorkOrder, kind: str, old_priority: int, new_priority: int,
            now: datetime, offer: Offer | None = None) -> Interaction:
    due = (wo.response_due_at if kind == "response" else wo.resolution_due_at)
    raised = (f"Priority raised from P{old_priority} to P{new_priority}."
              if new_priority != old_priority else f"Priority stays P{old_priority} (highest).")
    insertion = _insertion_note(wo, new_priority, offer)
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
          risk_minutes: int = DEFAULT_RISK_MINUTES, timezone: str | None = None,
          after_id: int = 0, limit: int | None = None) -> WatchReport:
    """Flag and escalate; flushes, the caller commits. With `timezone` (the dispatch day's),
    a new work order escalated to P1 gets its insertion offer.

    With `limit`, one batch: at most that many candidates with an id above `after_id`; the
    report's `last_id` and `more` say where the next batch starts (the scheduler commits
    after each, so no transaction holds many work orders).
    """
    now = now or utcnow()
    margin = timedelta(minutes=risk_minutes)
    report = WatchReport()
    query = _candidates(now, margin, after_id)
    if limit is not None:
        query = query.limit(limit)
    candidates = session.scalars(query).all()
    if candidates:
        report.last_id = candidates[-1].id
        report.more = limit is not None and len(candidates) == limit
    for wo in candidates:
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
        # Read the work order as updated (priority, version) before anything uses it.
        session.expire(wo)
        offer = None
        if timezone is not None and new_breaches and wo.status is WorkOrderStatus.NEW:
            offer = offer_if_emergency(session, wo, old_priority, actor, timezone=timezone,
                                       now=now)
            if offer is not None:
                report.offers.append(offer)
        priority = old_priority
        for kind in new_breaches:
            raised = max(1, priority - 1)
            session.add(_notify(wo, kind, priority, raised, now,
                                offer if raised == 1 and priority > 1 else None))
            report.escalated.append({"work_order_id": wo.id, "kind": kind,
                                     "priority": [priority, raised]})
            priority = raised
            work_order_events.sla_breached(session, wo, kind,
                                           datetime.fromisoformat(flags[kind]["due_at"]))
    session.flush()
    return report
