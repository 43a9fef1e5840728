"""Write domain events into the outbox, in the caller's transaction.

`emit()` inserts an `OutboxEvent` in the session's transaction: it commits with the change that caused it or
rolls back with it, so a committed change always has its event and a failed one never does.
Delivery (fieldsvc.events.dispatcher) reads the outbox later, from another process.

Each aggregate (a work order, an appointment, ...) numbers its events 1, 2, 3: the next
number is computed by the INSERT itself, and a unique constraint on (aggregate, number) turns
two concurrent writers of one aggregate into a conflict (409) instead of two events with
one number. Writers of one work order already conflict on its version column.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from fieldsvc.events.models import OutboxEvent
from fieldsvc.models.base import utcnow

# Every event type, `<resource>.<event>`, with what causes it (README: event catalogue).
CATALOGUE: dict[str, str] = {
    "work_order.created": "a work order was created",
    "work_order.assigned": "a work order got a technician, or another one",
    "work_order.status_changed": "a work order moved to another status",
    "work_order.completed": "a work order was completed",
    "work_order.eta_changed": "a published plan moved a work order's ETA by more than "
    "FIELDSVC_EVENTS_ETA_MINUTES",
    "work_order.p1_created": "a work order of priority 1 was created",
    "work_order.sla_breached": "a work order's response or resolution SLA was breached",
    "recall_appointment.booked": "a recall appointment was booked",
    "recall_appointment.rescheduled": "a recall appointment moved to another slot",
    "recall_appointment.cancelled": "a recall appointment was cancelled",
    "recall_appointment.no_show": "the owner did not come to a recall appointment",
    "recall_invitation.issued": "an allocation invited an owner to book a recall appointment",
    "rma.status_changed": "an RMA moved to another status",
    "optimization_run.published": "a dispatcher published an optimization run's plan",
}
WILDCARD = "*"


def plain(value: Any) -> Any:
    """A JSON-ready copy: enums by value, times in ISO 8601, decimals as strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _insert_statement():
    """INSERT of one event whose number is the aggregate's next, computed in the statement;
    built once (a fresh statement per event costs more CPU than the round trip)."""
    table = cast(Table, OutboxEvent.__table__)
    next_number = (
        select(func.coalesce(func.max(table.c.sequence), 0) + 1)
        .where(
            table.c.aggregate_type == bindparam("e_aggregate_type"),
            table.c.aggregate_id == bindparam("e_aggregate_id"),
        )
        .scalar_subquery()
    )
    return insert(table).values(
        type=bindparam("e_type"),
        aggregate_type=bindparam("e_aggregate_type"),
        aggregate_id=bindparam("e_aggregate_id"),
        sequence=next_number,
        data=bindparam("e_data", type_=table.c.data.type),
        occurred_at=bindparam("e_occurred_at", type_=table.c.occurred_at.type),
    )


INSERT_EVENT = _insert_statement()


def emit(
    session: Session,
    event_type: str,
    aggregate_type: str,
    aggregate_id: int,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> None:
    """Insert the event `event_type` of one aggregate in the session's transaction.

    One statement, on the session's connection (so in its transaction): the aggregate's
    next number is computed inside the INSERT, so an event costs one round trip."""
    if event_type not in CATALOGUE:
        raise ValueError(f"unknown event type {event_type!r}")
    session.connection().execute(
        INSERT_EVENT,
        {
            "e_type": event_type,
            "e_aggregate_type": aggregate_type,
            "e_aggregate_id": aggregate_id,
            "e_data": plain(data),
            "e_occurred_at": at or utcnow(),
        },
    )


def emit_for_new(
    session: Session,
    aggregate_type: str,
    events: list[tuple[int, list[tuple[str, dict[str, Any]]]]],
    *,
    at: datetime | None = None,
) -> None:
    """Insert the first events of aggregates created in this transaction, in one statement.

    `events`: (aggregate id, [(event type, data), ...]); a new aggregate has no events yet,
    so they are numbered 1, 2, ... without a look-up (bulk writers such as PM generation)."""
    moment = at or utcnow()
    rows = []
    for aggregate_id, items in events:
        for number, (event_type, data) in enumerate(items, start=1):
            if event_type not in CATALOGUE:
                raise ValueError(f"unknown event type {event_type!r}")
            rows.append(
                {
                    "type": event_type,
                    "aggregate_type": aggregate_type,
                    "aggregate_id": aggregate_id,
                    "sequence": number,
                    "data": plain(data),
                    "occurred_at": moment,
                }
            )
    if rows:
        session.execute(insert(OutboxEvent), rows)
