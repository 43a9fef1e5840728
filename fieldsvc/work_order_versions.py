"""A change to a work order's child rows is a change to the work order.

Time windows, required skills and parts live in their own tables, so changing only them
would leave the `work_order` row untouched: its `version` (the ETag phones and
dispatchers send back in If-Match) and `updated_at` would not move, the mobile change
feed would not see it and the technician's cached day would not be rendered again.

One `before_flush` hook sees every insert, update and delete of those rows, whichever
path made it (API, console, CLI, job), and touches the owning work order, so the flush
UPDATEs it: the mapper bumps the version, and the hooks that watch work orders (change
feed, day version triggers, audit) see an ordinary change. The checklist is a column of
the work order itself and moves the version on its own.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from fieldsvc.models.base import utcnow
from fieldsvc.models.work_order import WorkOrder, WorkOrderPart, WorkOrderSkill, WorkOrderWindow

CHILDREN = (WorkOrderSkill, WorkOrderPart, WorkOrderWindow)
COLLECTIONS = ("skills", "parts", "time_windows")


def _collection_changed(work_order: WorkOrder) -> bool:
    state = inspect(work_order)
    return any(state.attrs[key].history.has_changes() for key in COLLECTIONS
               if key not in state.unloaded)


def _owner(session: Session, row) -> WorkOrder | None:
    state = inspect(row)
    if "work_order" not in state.unloaded and row.work_order is not None:
        return row.work_order
    if row.work_order_id is None:
        return None
    with session.no_autoflush:
        return session.get(WorkOrder, row.work_order_id)


def _before_flush(session: Session, flush_context, instances) -> None:
    touched: dict[int, WorkOrder] = {}
    for obj in list(session.dirty):
        if isinstance(obj, WorkOrder) and _collection_changed(obj):
            touched[id(obj)] = obj
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, CHILDREN):
            continue
        if obj in session.dirty and not session.is_modified(obj):
            continue
        owner = _owner(session, obj)
        if owner is not None:
            touched[id(owner)] = owner
    for work_order in touched.values():
        state = inspect(work_order)
        # A new work order is inserted with its rows; a deleted one takes them along.
        if state.persistent and work_order not in session.deleted:
            work_order.updated_at = utcnow()


def install(session_class: type[Session]) -> None:
    """Attach the hook to every session of this class (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
