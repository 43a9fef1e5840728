"""The stock ledger: stock levels change only through movements, atomically.

Every function writes one `StockMovement` and adjusts `StockLevel` with a conditional
UPDATE whose WHERE clause carries the invariant (enough on hand, enough available, enough
reserved). The database evaluates it under its own row lock, so two concurrent requests
cannot both take the last unit — on PostgreSQL (row locks, re-checked after waiting) and
on SQLite (one writer at a time). A refused movement raises a 409 `InsufficientStock`
with the quantity that was available, and changes nothing.

Work-order bookkeeping (`WorkOrderPart.reserved` / `issued`) is updated the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Part, StockLevel, StockMovement, Warehouse, WorkOrder, WorkOrderPart
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import MovementKind, WorkOrderStatus
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.sql import insert_ignore

level_t = StockLevel.__table__
wop_t = WorkOrderPart.__table__

# Work orders in these states take no more parts (returns are still accepted). One
# exception: an issue of parts used no later than the work order's completion, booked
# after it (see `issue`'s `used_at`).
CLOSED_WORK_ORDER = {WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED,
                     WorkOrderStatus.CANNOT_COMPLETE}

# kind → (needs from_warehouse, needs to_warehouse, needs work_order)
REQUIRED: dict[MovementKind, tuple[bool, bool, bool]] = {
    MovementKind.RECEIVE: (False, True, False),
    MovementKind.RESERVE: (True, False, True),
    MovementKind.RELEASE: (True, False, True),
    MovementKind.ISSUE: (True, False, True),
    MovementKind.RETURN: (False, True, True),
    MovementKind.TRANSFER: (True, True, False),
    MovementKind.SCRAP: (True, False, False),
}


class InsufficientStock(Conflict):
    slug, title = "insufficient-stock", "Insufficient stock"


def _level(session: Session, warehouse_id: int, part_id: int) -> StockLevel | None:
    return session.scalar(
        select(StockLevel).where(StockLevel.warehouse_id == warehouse_id,
                                 StockLevel.part_id == part_id)
        .execution_options(populate_existing=True)
    )


def _ensure_level(session: Session, warehouse_id: int, part_id: int) -> None:
    """Create the (warehouse, part) level row at zero unless it exists; race-safe."""
    values = {"warehouse_id": warehouse_id, "part_id": part_id, "on_hand": 0, "reserved": 0}
    session.execute(insert_ignore(session.get_bind().dialect.name, level_t, values))


def _refuse(session: Session, warehouse_id: int, part_id: int, quantity: int,
            what: str) -> None:
    level = _level(session, warehouse_id, part_id)
    on_hand = level.on_hand if level else 0
    reserved = level.reserved if level else 0
    available = on_hand - reserved
    figure = {"available": available, "reserved": reserved}[what]
    raise InsufficientStock(
        f"Only {figure} {what} of part {part_id} in warehouse {warehouse_id}; "
        f"{quantity} requested.",
        part_id=part_id, warehouse_id=warehouse_id, requested=quantity,
        available=available, on_hand=on_hand, reserved=reserved,
    )


def _adjust(session: Session, warehouse_id: int, part_id: int, *, on_hand: int = 0,
            reserved: int = 0, need_available: int = 0, need_reserved: int = 0) -> None:
    """Add the deltas to one level row only if the guards hold; 409 otherwise."""
    cond = [level_t.c.warehouse_id == warehouse_id, level_t.c.part_id == part_id]
    if need_available:
        cond.append(level_t.c.on_hand - level_t.c.reserved >= need_available)
    if need_reserved:
        cond.append(level_t.c.reserved >= need_reserved)
    result = session.execute(
        update(level_t).where(*cond).values(
            on_hand=level_t.c.on_hand + on_hand, reserved=level_t.c.reserved + reserved
        )
    )
    if result.rowcount != 1:
        what = "available" if need_available else "reserved"
        _refuse(session, warehouse_id, part_id, need_available or need_reserved, what)
    _expire_level(session, warehouse_id, part_id)


def _expire_level(session: Session, warehouse_id: int, part_id: int) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, StockLevel) and obj.warehouse_id == warehouse_id \
                and obj.part_id == part_id:
            session.expire(obj)


def _work_order_part(session: Session, work_order: WorkOrder, part_id: int,
                     quantity: int) -> WorkOrderPart:
    """The work order's line for this part; a line is added for a part it did not list."""
    line = next((p for p in work_order.parts if p.part_id == part_id), None)
    if line is None:
        line = WorkOrderPart(part_id=part_id, quantity=quantity, reserved=0, issued=0)
        work_order.parts.append(line)
        session.flush()
    return line


def _adjust_line(session: Session, line: WorkOrderPart, *, reserved: int = 0, issued: int = 0,
                 warehouse_id: int | None = None) -> bool:
    """Add deltas to a work-order part line, guarded against going below zero."""
    cond = [wop_t.c.id == line.id, wop_t.c.reserved + reserved >= 0,
            wop_t.c.issued + issued >= 0]
    values: dict[str, Any] = {"reserved": wop_t.c.reserved + reserved,
                              "issued": wop_t.c.issued + issued}
    if warehouse_id is not None:
        values["reserved_warehouse_id"] = warehouse_id
    done = session.execute(update(wop_t).where(*cond).values(**values)).rowcount == 1
    session.expire(line)
    return done


def used_before_completion(work_order: WorkOrder, used_at: datetime | None) -> bool:
    """Whether parts used at `used_at` belong to the completed work order's visit."""
    return (work_order.status == WorkOrderStatus.COMPLETED and used_at is not None
            and work_order.completed_at is not None
            and used_at.astimezone(UTC) <= work_order.completed_at.astimezone(UTC))


def _validate(session: Session, kind: MovementKind, part_id: int, quantity: int,
              from_warehouse_id: int | None, to_warehouse_id: int | None,
              work_order_id: int | None, serial_number: str | None,
              used_at: datetime | None = None):
    errors: dict[str, list[str]] = {}
    needs_from, needs_to, needs_wo = REQUIRED[kind]
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        errors["quantity"] = ["Must be a whole number of at least 1."]
    part = session.get(Part, part_id)
    if part is None:
        errors["part_id"] = [f"No part with id {part_id}."]
    for name, value, needed in (("from_warehouse_id", from_warehouse_id, needs_from),
                                ("to_warehouse_id", to_warehouse_id, needs_to)):
        if needed and value is None:
            errors[name] = [f"Required for a {kind.value} movement."]
        elif not needed and value is not None:
            errors[name] = [f"Not used by a {kind.value} movement."]
        elif value is not None and session.get(Warehouse, value) is None:
            errors[name] = [f"No warehouse with id {value}."]
    if kind == MovementKind.TRANSFER and from_warehouse_id == to_warehouse_id \
            and from_warehouse_id is not None:
        errors["to_warehouse_id"] = ["Must differ from from_warehouse_id."]
    work_order = None
    if needs_wo and work_order_id is None:
        errors["work_order_id"] = [f"Required for a {kind.value} movement."]
    elif work_order_id is not None:
        work_order = session.get(WorkOrder, work_order_id)
        if work_order is None:
            errors["work_order_id"] = [f"No work order with id {work_order_id}."]
    if part is not None and part.serialized and kind not in (MovementKind.RESERVE,
                                                             MovementKind.RELEASE):
        if not serial_number:
            errors["serial_number"] = ["Required: this part is tracked by serial number."]
        elif quantity != 1:
            errors["quantity"] = ["A serialized part moves one unit per movement."]
    if errors:
        raise InvalidInput(errors)
    if work_order is not None and kind in (MovementKind.RESERVE, MovementKind.ISSUE) \
            and work_order.status in CLOSED_WORK_ORDER \
            and not (kind == MovementKind.ISSUE and used_before_completion(work_order, used_at)):
        raise Conflict(f"Work order {work_order.id} is {work_order.status.value}; "
                       "it takes no more parts.", current_status=work_order.status.value)
    return work_order


def record_movement(session: Session, data: dict[str, Any], actor: Actor, *,
                    used_at: datetime | None = None) -> StockMovement:
    """Apply one movement (a dict as the API accepts it) and return the ledger row.

    Keys: kind, part_id, quantity, from_warehouse_id, to_warehouse_id, work_order_id,
    rma_id, serial_number, note. Raises 422 for a malformed movement, 409 when stock (or
    the work order's reservation/issued count) does not allow it. `used_at` (an issue's
    time of use, not an API field) lets a completed work order take parts used no later
    than its completion.
    """
    kind = MovementKind(data["kind"])
    part_id = data["part_id"]
    qty = data["quantity"]
    src = data.get("from_warehouse_id")
    dst = data.get("to_warehouse_id")
    wo_id = data.get("work_order_id")
    work_order = _validate(session, kind, part_id, qty, src, dst, wo_id,
                           data.get("serial_number"), used_at)
    # Pending ORM changes go first so the guarded statements below see them.
    session.flush()

    if kind == MovementKind.RECEIVE:
        _ensure_level(session, dst, part_id)
        _adjust(session, dst, part_id, on_hand=qty)
    elif kind == MovementKind.TRANSFER:
        _adjust(session, src, part_id, on_hand=-qty, need_available=qty)
        _ensure_level(session, dst, part_id)
        _adjust(session, dst, part_id, on_hand=qty)
    elif kind == MovementKind.SCRAP:
        _adjust(session, src, part_id, on_hand=-qty, need_available=qty)
    elif kind == MovementKind.RESERVE:
        line = _work_order_part(session, work_order, part_id, qty)
        if line.reserved and line.reserved_warehouse_id not in (None, src):
            raise Conflict(
                f"Part {part_id} is already reserved for this work order in warehouse "
                f"{line.reserved_warehouse_id}; release it there first.",
                reserved_warehouse_id=line.reserved_warehouse_id,
            )
        _adjust(session, src, part_id, reserved=qty, need_available=qty)
        _adjust_line(session, line, reserved=qty, warehouse_id=src)
    elif kind == MovementKind.RELEASE:
        line = next((p for p in work_order.parts if p.part_id == part_id), None)
        held = line.reserved if line and line.reserved_warehouse_id == src else 0
        if held < qty:
            raise InsufficientStock(
                f"Work order {work_order.id} holds {held} of part {part_id} reserved in "
                f"warehouse {src}; cannot release {qty}.",
                part_id=part_id, warehouse_id=src, requested=qty, reserved=held,
            )
        if not _adjust_line(session, line, reserved=-qty):
            raise InsufficientStock("The reservation changed meanwhile; reload and retry.")
        _adjust(session, src, part_id, reserved=-qty, need_reserved=qty)
    elif kind == MovementKind.ISSUE:
        line = _work_order_part(session, work_order, part_id, qty)
        from_reservation = min(qty, line.reserved) if line.reserved_warehouse_id == src else 0
        _adjust(session, src, part_id, on_hand=-qty, reserved=-from_reservation,
                need_available=qty - from_reservation, need_reserved=from_reservation)
        if not _adjust_line(session, line, reserved=-from_reservation, issued=qty):
            raise InsufficientStock("The reservation changed meanwhile; reload and retry.")
    elif kind == MovementKind.RETURN:
        line = next((p for p in work_order.parts if p.part_id == part_id), None)
        issued = line.issued if line else 0
        if issued < qty or not _adjust_line(session, line, issued=-qty):
            raise InsufficientStock(
                f"Work order {work_order.id} was issued {issued} of part {part_id}; "
                f"cannot return {qty}.",
                part_id=part_id, requested=qty, issued=issued,
            )
        _ensure_level(session, dst, part_id)
        _adjust(session, dst, part_id, on_hand=qty)

    movement = StockMovement(
        kind=kind, part_id=part_id, quantity=qty, from_warehouse_id=src, to_warehouse_id=dst,
        work_order_id=wo_id, rma_id=data.get("rma_id"),
        serial_number=data.get("serial_number"), note=data.get("note"), actor_id=actor.id,
    )
    session.add(movement)
    session.flush()
    return movement


def _move(session: Session, actor: Actor, kind: MovementKind, *,
          used_at: datetime | None = None, **data: Any) -> StockMovement:
    data = {k: v for k, v in data.items() if v is not None}
    return record_movement(session, {"kind": kind, **data}, actor, used_at=used_at)


def receive(session: Session, part_id: int, quantity: int, to_warehouse_id: int,
            actor: Actor, **extra: Any) -> StockMovement:
    """Book goods received into a warehouse."""
    return _move(session, actor, MovementKind.RECEIVE, part_id=part_id, quantity=quantity,
                 to_warehouse_id=to_warehouse_id, **extra)


def reserve(session: Session, part_id: int, quantity: int, from_warehouse_id: int,
            work_order_id: int, actor: Actor, **extra: Any) -> StockMovement:
    """Hold available stock for a work order."""
    return _move(session, actor, MovementKind.RESERVE, part_id=part_id, quantity=quantity,
                 from_warehouse_id=from_warehouse_id, work_order_id=work_order_id, **extra)


def release(session: Session, part_id: int, quantity: int, from_warehouse_id: int,
            work_order_id: int, actor: Actor, **extra: Any) -> StockMovement:
    """Give back stock reserved for a work order."""
    return _move(session, actor, MovementKind.RELEASE, part_id=part_id, quantity=quantity,
                 from_warehouse_id=from_warehouse_id, work_order_id=work_order_id, **extra)


def issue(session: Session, part_id: int, quantity: int, from_warehouse_id: int,
          work_order_id: int, actor: Actor, *, used_at: datetime | None = None,
          **extra: Any) -> StockMovement:
    """Hand stock to a work order, using its reservation in that warehouse first.

    A closed work order takes no parts, except a completed one taking parts used at
    `used_at` no later than its completion: booked late (a technician's phone queued them
    offline and its completion arrived first), they belong to the visit.
    """
    return _move(session, actor, MovementKind.ISSUE, part_id=part_id, quantity=quantity,
                 from_warehouse_id=from_warehouse_id, work_order_id=work_order_id,
                 used_at=used_at, **extra)


def return_to_stock(session: Session, part_id: int, quantity: int, to_warehouse_id: int,
                    work_order_id: int, actor: Actor, **extra: Any) -> StockMovement:
    """Bring unused parts of a work order back into a warehouse."""
    return _move(session, actor, MovementKind.RETURN, part_id=part_id, quantity=quantity,
                 to_warehouse_id=to_warehouse_id, work_order_id=work_order_id, **extra)


def transfer(session: Session, part_id: int, quantity: int, from_warehouse_id: int,
             to_warehouse_id: int, actor: Actor, **extra: Any) -> StockMovement:
    """Move available stock between warehouses (e.g. central → van)."""
    return _move(session, actor, MovementKind.TRANSFER, part_id=part_id, quantity=quantity,
                 from_warehouse_id=from_warehouse_id, to_warehouse_id=to_warehouse_id, **extra)


def scrap(session: Session, part_id: int, quantity: int, from_warehouse_id: int,
          actor: Actor, **extra: Any) -> StockMovement:
    """Write off available stock."""
    return _move(session, actor, MovementKind.SCRAP, part_id=part_id, quantity=quantity,
                 from_warehouse_id=from_warehouse_id, **extra)


def move_without_work_order(session: Session, kind: MovementKind, part_id: int,
                            quantity: int, warehouse_id: int, actor: Actor, *, held: int = 0,
                            rma_id: int | None = None, serial_number: str | None = None,
                            note: str | None = None) -> StockMovement:
    """A movement out of `warehouse_id` against no work order: an RMA's replacement held,
    given back or shipped by courier, a repaired unit sent back to its customer.

    RESERVE holds `quantity` of the available stock; RELEASE gives back `quantity` held;
    ISSUE takes `quantity` off the shelf, `held` of them out of what was reserved. Guarded
    like every movement (409 when the stock does not allow it, nothing changed) and
    written to the ledger.
    """
    session.flush()
    if kind == MovementKind.RESERVE:
        _adjust(session, warehouse_id, part_id, reserved=quantity, need_available=quantity)
    elif kind == MovementKind.RELEASE:
        _adjust(session, warehouse_id, part_id, reserved=-quantity, need_reserved=quantity)
    elif kind == MovementKind.ISSUE:
        _adjust(session, warehouse_id, part_id, on_hand=-quantity, reserved=-held,
                need_available=quantity - held, need_reserved=held)
    else:
        raise ValueError(f"A {kind.value} movement needs a work order or a destination.")
    movement = StockMovement(kind=kind, part_id=part_id, quantity=quantity,
                             from_warehouse_id=warehouse_id, rma_id=rma_id,
                             serial_number=serial_number, note=note, actor_id=actor.id)
    session.add(movement)
    session.flush()
    return movement


def release_work_order(session: Session, work_order: WorkOrder, actor: Actor,
                       note: str | None = None) -> list[StockMovement]:
    """Release every reservation a work order holds (used when it is cancelled)."""
    movements = []
    for line in list(work_order.parts):
        if line.reserved > 0 and line.reserved_warehouse_id is not None:
            movements.append(release(session, line.part_id, line.reserved,
                                     line.reserved_warehouse_id, work_order.id, actor,
                                     note=note))
    return movements


def stock_levels_query(warehouse_id: int | None = None, part_id: int | None = None):
    """A select of stock levels, optionally for one warehouse and/or one part."""
    stmt = select(StockLevel)
    if warehouse_id is not None:
        stmt = stmt.where(StockLevel.warehouse_id == warehouse_id)
    if part_id is not None:
        stmt = stmt.where(StockLevel.part_id == part_id)
    return stmt.order_by(StockLevel.warehouse_id, StockLevel.part_id)


def stock_levels(session: Session, warehouse_id: int | None = None,
                 part_id: int | None = None) -> list[StockLevel]:
    """Stock levels (on_hand, reserved, available) filtered by warehouse and/or part."""
    return list(session.scalars(stock_levels_query(warehouse_id, part_id)))


# ---------------------------------------------------------------- bulk reservation

BULK_CHUNK = 500


@dataclass(frozen=True)
class ReserveLine:
    """One reservation of `reserve_many`: `quantity` of a part from a warehouse for a job."""

    part_id: int
    quantity: int
    warehouse_id: int
    work_order_id: int
    note: str | None = None


def reserve_many(session: Session, lines: Sequence[ReserveLine], actor: Actor) -> list[bool]:
    """Reserve many lines at once; returns, per line, whether it was reserved.

    The same rules as `reserve`, line by line, with far fewer statements: a malformed line
    (422), a closed work order or a part already reserved for the job in another warehouse
    (409) refuses the whole call before anything changes. Stock is then taken with one
    guarded UPDATE per (warehouse, part) for the summed quantity; when the sum does not fit,
    the lines that fit the available figure are taken in the given order (again guarded),
    and when that guard fails too (another transaction took stock meanwhile), line by line.
    A line without enough stock is not reserved (False) — no exception, nothing below zero.
    Each reserved line gets its ledger row and its work-order line (added when missing).
    """
    lines = list(lines)
    if not lines:
        return []
    session.flush()
    _validate_many(session, lines)
    done = [False] * len(lines)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, line in enumerate(lines):
        groups.setdefault((line.warehouse_id, line.part_id), []).append(i)
    for (wh_id, part_id), idx in groups.items():
        for i in _take(session, wh_id, part_id, [lines[i].quantity for i in idx]):
            done[idx[i]] = True
        _expire_level(session, wh_id, part_id)
    taken = [line for line, ok in zip(lines, done, strict=True) if ok]
    if taken:
        _book_lines(session, taken)
        now = utcnow()
        rows = [{"kind": MovementKind.RESERVE, "part_id": line.part_id,
                 "quantity": line.quantity, "from_warehouse_id": line.warehouse_id,
                 "to_warehouse_id": None, "work_order_id": line.work_order_id,
                 "rma_id": None, "serial_number": None, "note": line.note,
                 "actor_id": actor.id, "created_at": now} for line in taken]
        for i in range(0, len(rows), BULK_CHUNK):
            session.execute(insert(StockMovement.__table__), rows[i:i + BULK_CHUNK])
    return done


def _guarded_add(session: Session, warehouse_id: int, part_id: int, quantity: int) -> bool:
    result = session.execute(
        update(level_t).where(level_t.c.warehouse_id == warehouse_id,
                              level_t.c.part_id == part_id,
                              level_t.c.on_hand - level_t.c.reserved >= quantity)
        .values(reserved=level_t.c.reserved + quantity))
    return result.rowcount == 1


def _take(session: Session, warehouse_id: int, part_id: int, quantities: list[int]
          ) -> list[int]:
    """Reserve what fits of `quantities` in one level row; the indexes taken."""
    if _guarded_add(session, warehouse_id, part_id, sum(quantities)):
        return list(range(len(quantities)))
    row = session.execute(select(level_t.c.on_hand - level_t.c.reserved).where(
        level_t.c.warehouse_id == warehouse_id, level_t.c.part_id == part_id)).first()
    left = row[0] if row is not None else 0
    fits = []
    for i, q in enumerate(quantities):
        if q <= left:
            fits.append(i)
            left -= q
    if not fits:
        return []
    if _guarded_add(session, warehouse_id, part_id, sum(quantities[i] for i in fits)):
        return fits
    # Someone took stock between our read and our update: one guarded line at a time.
    return [i for i, q in enumerate(quantities) if _guarded_add(session, warehouse_id,
                                                                 part_id, q)]


def _validate_many(session: Session, lines: list[ReserveLine]) -> None:
    errors: dict[str, list[str]] = {}
    for n, line in enumerate(lines):
        q = line.quantity
        if not isinstance(q, int) or isinstance(q, bool) or q < 1:
            errors.setdefault("quantity", []).append(
                f"Line {n}: must be a whole number of at least 1.")
    for name, model, values in (
            ("part_id", Part, {line.part_id for line in lines}),
            ("from_warehouse_id", Warehouse, {line.warehouse_id for line in lines}),
            ("work_order_id", WorkOrder, {line.work_order_id for line in lines})):
        found = _existing_ids(session, model, values)
        for value in sorted(values - found):
            errors.setdefault(name, []).append(f"No {model.__tablename__.replace('_', ' ')} "
                                               f"with id {value}.")
    if errors:
        raise InvalidInput(errors)
    wo_ids = sorted({line.work_order_id for line in lines})
    closed = sorted(CLOSED_WORK_ORDER, key=lambda s: s.value)
    for chunk in _chunks(wo_ids):
        row = session.execute(select(WorkOrder.id, WorkOrder.status).where(
            WorkOrder.id.in_(chunk), WorkOrder.status.in_(closed)).limit(1)).first()
        if row is not None:
            raise Conflict(f"Work order {row.id} is {row.status.value}; it takes no more "
                           "parts.", current_status=row.status.value)
    wanted = {(line.work_order_id, line.part_id): line.warehouse_id for line in lines}
    for chunk in _chunks(wo_ids):
        for wo_id, part_id, wh_id in session.execute(
                select(wop_t.c.work_order_id, wop_t.c.part_id, wop_t.c.reserved_warehouse_id)
                .where(wop_t.c.work_order_id.in_(chunk), wop_t.c.reserved > 0)):
            src = wanted.get((wo_id, part_id))
            if src is not None and wh_id not in (None, src):
                raise Conflict(
                    f"Part {part_id} is already reserved for work order {wo_id} in warehouse "
                    f"{wh_id}; release it there first.", reserved_warehouse_id=wh_id)


def _chunks(values: list[int], size: int = BULK_CHUNK):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _existing_ids(session: Session, model, values: set[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(sorted(v for v in values if isinstance(v, int))):
        found.update(session.scalars(select(model.id).where(model.id.in_(chunk))))
    return found


def _book_lines(session: Session, taken: list[ReserveLine]) -> None:
    """Add the reserved quantities to the work orders' part lines (adding missing lines)."""
    wo_ids = sorted({line.work_order_id for line in taken})
    ids: dict[tuple[int, int], int] = {}
    for chunk in _chunks(wo_ids):
        for line_id, wo_id, part_id in session.execute(
                select(wop_t.c.id, wop_t.c.work_order_id, wop_t.c.part_id)
                .where(wop_t.c.work_order_id.in_(chunk))):
            ids[(wo_id, part_id)] = line_id
    new: dict[tuple[int, int], int] = {}
    for line in taken:
        key = (line.work_order_id, line.part_id)
        if key not in ids:
            new[key] = new.get(key, 0) + line.quantity
    if new:
        session.execute(insert(wop_t), [
            {"work_order_id": wo, "part_id": p, "quantity": q, "reserved": 0, "issued": 0,
             "reserved_warehouse_id": None} for (wo, p), q in new.items()])
        for chunk in _chunks(sorted({wo for wo, _ in new})):
            for line_id, wo_id, part_id in session.execute(
                    select(wop_t.c.id, wop_t.c.work_order_id, wop_t.c.part_id)
                    .where(wop_t.c.work_order_id.in_(chunk))):
                ids[(wo_id, part_id)] = line_id
    stmt = (update(wop_t).where(wop_t.c.id == bindparam("line_id"))
            .values(reserved=wop_t.c.reserved + bindparam("qty"),
                    reserved_warehouse_id=bindparam("wh_id")))
    params = [{"line_id": ids[(line.work_order_id, line.part_id)], "qty": line.quantity,
               "wh_id": line.warehouse_id} for line in taken]
    for i in range(0, len(params), BULK_CHUNK):
        session.execute(stmt, params[i:i + BULK_CHUNK])
    touched = {(line.work_order_id, line.part_id) for line in taken}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, WorkOrderPart) and (obj.work_order_id, obj.part_id) in touched:
            session.expire(obj)
        elif isinstance(obj, WorkOrder) and obj.id in {wo for wo, _ in touched}:
            session.expire(obj, ["parts"])
