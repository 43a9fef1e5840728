"""The insertion offer that comes with a P1 event: a work order created as P1, or raised to P1.

When such an event happens the emergency insertion (`insertion.propose_insertion`) is
tried at once for the published plan of the work order's territory and day (the day of its
first time window not yet over, else today), so the client, the console or the dispatcher
gets the proposal (stored, acceptable as any other) or the reason there is none, without
asking for it. The attempt runs in a savepoint: whatever goes wrong there is rolled back
and reported as the reason, and the create or escalation that triggered it goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.dispatch.insertion import propose_insertion
from fieldsvc.models import InsertionProposal, OptimizationRun, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import Problem

log = logging.getLogger(__name__)

EMERGENCY = 1  # the priority whose creation or escalation asks for an insertion


@dataclass(frozen=True)
class Offer:
    """A stored proposal, or the reason no insertion could be proposed."""

    work_order_id: int
    proposal: InsertionProposal | None = None
    reason: str | None = None

    @property
    def offered(self) -> bool:
        return self.proposal is not None


def became_emergency(old_priority: int | None, new_priority: int) -> bool:
    """True when a work order is created as P1 (old None) or raised to P1."""
    return new_priority == EMERGENCY and (old_priority is None or old_priority > EMERGENCY)


def offer_day(work_order: WorkOrder, timezone: str, now: datetime) -> date:
    """The day to insert into: that of the work order's first time window not yet over
    (from now at the earliest), or today."""
    first = min((w.starts_at for w in work_order.time_windows if w.ends_at > now),
                default=now)
    return max(first, now).astimezone(ZoneInfo(timezone)).date()


def offer_insertion(session: Session, work_order: WorkOrder, actor: Actor, *,
                    timezone: str, now: datetime | None = None) -> Offer:
    """Propose the work order's insertion into its day's published plan; never raises."""
    now = now or utcnow()
    session.flush()
    try:
        with session.begin_nested():
            proposal = propose_insertion(session, work_order, actor,
                                         plan_date=offer_day(work_order, timezone, now),
                                         timezone=timezone, now=now)
    except Problem as refusal:
        return Offer(work_order.id, reason=refusal.detail or refusal.title)
    except Exception:  # a failure to propose must not fail the event that asked for it
        log.exception("insertion offer for work order %s failed", work_order.id)
        return Offer(work_order.id, reason="The insertion could not be computed (internal "
                                            "error, logged); ask for one from the dispatch "
                                            "board or POST …/insertion.")
    return Offer(work_order.id, proposal=proposal)


def offer_if_emergency(session: Session, work_order: WorkOrder, old_priority: int | None,
                       actor: Actor, *, timezone: str, now: datetime | None = None
                       ) -> Offer | None:
    """The insertion offer when `work_order` was just created as P1 (`old_priority` None)
    or raised to P1; None for any other create or change."""
    if not became_emergency(old_priority, work_order.priority):
        return None
    return offer_insertion(session, work_order, actor, timezone=timezone, now=now)


def waiting_offers(session: Session, run: OptimizationRun) -> list[InsertionProposal]:
    """The run's proposals still worth a look: not accepted, made after the last accepted one
    (older ones can no longer be applied), for work orders still new; latest per work order,
    most urgent first."""
    last_accepted = session.scalar(
        select(func.max(InsertionProposal.accepted_at)).where(InsertionProposal.run_id == run.id))
    stmt = (select(InsertionProposal).join(WorkOrder,
                                           WorkOrder.id == InsertionProposal.work_order_id)
            .where(InsertionProposal.run_id == run.id, InsertionProposal.accepted_at.is_(None),
                   WorkOrder.status == WorkOrderStatus.NEW)
            .order_by(WorkOrder.priority, InsertionProposal.id.desc()))
    if last_accepted is not None:
        stmt = stmt.where(InsertionProposal.created_at > last_accepted)
    latest: dict[int, InsertionProposal] = {}
    for proposal in session.scalars(stmt):
        latest.setdefault(proposal.work_order_id, proposal)
    return list(latest.values())
