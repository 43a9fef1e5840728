"""Audit trail written in the same transaction as the change it records.

One `before_flush` hook sees every insert, update and delete of every model, whichever
path made it (API, console, CLI, job), so nothing can write without leaving a row.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from fieldsvc.context import current_actor
from fieldsvc.models.audit import AuditEntry
from fieldsvc.models.base import utcnow

# Tables whose rows are themselves a log, or too chatty to audit row by row.
NOT_AUDITED = {"audit_log", "work_order_transition", "rma_transition", "stock_movement",
               "notification", "outbox_event", "event_delivery"}
# Never copied into the audit log.
REDACTED = {"password_hash", "secret"}  # secret: a webhook subscription's signing key
# Columns whose changes are not writes worth a row: an optimization run's progress while it
# solves (a commit every half second). A flush that changes nothing else writes none.
NOT_AUDITED_COLUMNS = {"optimization_run": {"progress", "message"}}
# Payloads too large to copy: the entry says they changed, the row itself holds them.
SUMMARISED = {"optimization_run": {"result", "input_snapshot"}}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _columns(obj) -> list:
    return list(inspect(obj).mapper.column_attrs)


def _snapshot(obj) -> dict[str, Any]:
    data = {}
    summarised = SUMMARISED.get(obj.__table__.name, ())
    for attr in _columns(obj):
        if attr.key in REDACTED or attr.key in summarised:
            continue
        data[attr.key] = _plain(getattr(obj, attr.key))
    return data


def _diff(obj) -> dict[str, list]:
    state = inspect(obj)
    changes: dict[str, list] = {}
    table = obj.__table__.name
    skipped = NOT_AUDITED_COLUMNS.get(table, ())
    summarised = SUMMARISED.get(table, ())
    for attr in state.mapper.column_attrs:
        if attr.key in skipped:
            continue
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        if attr.key in REDACTED:
            changes[attr.key] = ["***", "***"]
            continue
        if attr.key in summarised:
            changes[attr.key] = ["(stored on the row)", "(stored on the row)"]
            continue
        before = hist.deleted[0] if hist.deleted else None
        after = hist.added[0] if hist.added else None
        if before != after:
            changes[attr.key] = [_plain(before), _plain(after)]
    changes.pop("updated_at", None)
    changes.pop("version", None)
    return changes


def _entity_id(obj) -> str | None:
    ident = inspect(obj).identity
    if ident:
        return ":".join(str(i) for i in ident)
    pk = inspect(obj).mapper.primary_key
    values = [getattr(obj, c.key, None) for c in pk]
    return ":".join(str(v) for v in values) if all(v is not None for v in values) else None


def _before_flush(session: Session, flush_context, instances) -> None:
    if session.info.get("audit_disabled"):
        return
    actor = current_actor()
    pending: list[tuple[Any, str, dict | None]] = []
    for obj in session.new:
        if obj.__table__.name not in NOT_AUDITED:
            pending.append((obj, "create", None))
    for obj in session.dirty:
        if obj.__table__.name in NOT_AUDITED or not session.is_modified(obj):
            continue
        changes = _diff(obj)
        if changes:
            pending.append((obj, "update", changes))
    for obj in session.deleted:
        if obj.__table__.name not in NOT_AUDITED:
            pending.append((obj, "delete", _snapshot(obj)))
    if pending:
        session.info.setdefault("audit_pending", []).extend(
            (obj, action, changes, actor) for obj, action, changes in pending
        )


def _after_flush(session: Session, flush_context) -> None:
    # Ids of new rows are known only after the flush; write the entries now, in the same
    # transaction, without triggering another audit pass.
    pending = session.info.pop("audit_pending", None)
    if not pending:
        return
    rows = []
    for obj, action, changes, actor in pending:
        if action == "create":
            changes = {k: [None, v] for k, v in _snapshot(obj).items() if v is not None}
        rows.append(
            {
                "at": utcnow(),
                "actor_id": actor.id,
                "actor_name": actor.name,
                "source": actor.source,
                "action": action,
                "entity_type": obj.__table__.name,
                "entity_id": _entity_id(obj),
                "changes": changes,
            }
        )
    session.execute(AuditEntry.__table__.insert(), rows)


def install(session_class: type[Session]) -> None:
    """Attach the audit hooks to every session of this class (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
