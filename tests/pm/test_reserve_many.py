"""stock.reserve_many: the bulk reservation PM generation uses; same rules as reserve."""

from __future__ import annotations

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement, WorkOrderPart
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.services import stock
from fieldsvc.services.stock import ReserveLine

from .conftest import ACTOR


def _state(app, warehouse, part):
    with app.app_context():
        level = db.session.execute(db.select(StockLevel.on_hand, StockLevel.reserved).where(
            StockLevel.warehouse_id == warehouse.id, StockLevel.part_id == part.id)).one()
        lines = sorted(tuple(r) for r in db.session.execute(db.select(
            WorkOrderPart.work_order_id, WorkOrderPart.reserved,
            WorkOrderPart.reserved_warehouse_id).where(WorkOrderPart.part_id == part.id)))
        moves = db.session.scalar(db.select(db.func.count()).select_from(StockMovement).where(
            StockMovement.kind == "reserve", StockMovement.part_id == part.id))
        db.session.remove()
    return tuple(level), lines, moves


def _reserve_many(app, lines):
    with app.app_context():
        try:
            return stock.reserve_many(db.session, lines, ACTOR)
        finally:
            db.session.commit()
            db.session.remove()


def test_lines_that_fit_together_are_reserved_in_one_go(app, make, receive):
    wh, part = make.warehouse(), make.part()
    receive(part, wh, 5)
    jobs = [make.work_order() for _ in range(3)]
    done = _reserve_many(app, [ReserveLine(part.id, q, wh.id, wo.id, note="PM")
                               for wo, q in zip(jobs, (1, 2, 2), strict=True)])
    assert done == [True, True, True]
    level, lines, moves = _state(app, wh, part)
    assert level == (5, 5)
    assert lines == sorted([(jobs[0].id, 1, wh.id), (jobs[1].id, 2, wh.id),
                            (jobs[2].id, 2, wh.id)])
    assert moves == 3


def test_when_the_sum_does_not_fit_lines_are_taken_in_order_never_below_zero(
        app, make, receive):
    wh, part = make.warehouse(), make.part()
    receive(part, wh, 4)
    jobs = [make.work_order() for _ in range(4)]
    done = _reserve_many(app, [ReserveLine(part.id, q, wh.id, wo.id)
                               for wo, q in zip(jobs, (3, 2, 1, 1), strict=True)])
    assert done == [True, False, True, False]
    level, lines, moves = _state(app, wh, part)
    assert level == (4, 4) and moves == 2
    assert lines == sorted([(jobs[0].id, 3, wh.id), (jobs[2].id, 1, wh.id)])
    # Nothing left: every line is refused, nothing changes.
    assert _reserve_many(app, [ReserveLine(part.id, 1, wh.id, jobs[1].id)]) == [False]
    assert _state(app, wh, part) == (level, lines, moves)


def test_bad_lines_refuse_the_whole_call_before_anything_changes(app, make, receive):
    wh, part = make.warehouse(), make.part()
    receive(part, wh, 5)
    job, done_job = make.work_order(), make.work_order()
    with app.app_context():
        db.session.execute(db.update(done_job.__class__).where(
            done_job.__class__.id == done_job.id).values(status=WorkOrderStatus.COMPLETED))
        db.session.commit()
        db.session.remove()
    before = _state(app, wh, part)
    for bad, error in (
            ([ReserveLine(part.id, 1, wh.id, job.id), ReserveLine(part.id, 0, wh.id, job.id)],
             InvalidInput),
            ([ReserveLine(999_999, 1, wh.id, job.id)], InvalidInput),
            ([ReserveLine(part.id, 1, 999_999, job.id)], InvalidInput),
            ([ReserveLine(part.id, 1, wh.id, 999_999)], InvalidInput),
            ([ReserveLine(part.id, 1, wh.id, job.id),
              ReserveLine(part.id, 1, wh.id, done_job.id)], Conflict)):
        with pytest.raises(error):
            _reserve_many(app, bad)
        assert _state(app, wh, part) == before


def test_a_part_reserved_elsewhere_for_the_job_is_a_conflict(app, make, receive):
    here, there, part = make.warehouse(), make.warehouse(), make.part()
    receive(part, here, 5)
    receive(part, there, 5)
    job = make.work_order()
    assert _reserve_many(app, [ReserveLine(part.id, 1, there.id, job.id)]) == [True]
    with pytest.raises(Conflict):
        _reserve_many(app, [ReserveLine(part.id, 1, here.id, job.id)])
    # The same warehouse adds to the line.
    assert _reserve_many(app, [ReserveLine(part.id, 2, there.id, job.id)]) == [True]
    assert _state(app, there, part)[:2] == ((5, 3), [(job.id, 3, there.id)])
    assert _state(app, here, part)[0] == (5, 0)


def test_empty_call_does_nothing(app):
    assert _reserve_many(app, []) == []
