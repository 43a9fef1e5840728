"""Two generators at once (real threads, own sessions and connections) create each once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement, WorkOrder, WorkOrderTransition
from fieldsvc.models.enums import WarehouseKind
from fieldsvc.services.pm_generation import generate_due_work_orders
from tests.pm.conftest import ACTOR

NOW = datetime(2030, 1, 10, 6, 0, tzinfo=UTC)


def test_concurrent_generations_create_each_work_order_once(app, make, plan, receive,
                                                            pm_orders):
    part = make.part()
    warehouse = make.warehouse(kind=WarehouseKind.CENTRAL)
    receive(part, warehouse, 1000)
    sites = [make.site() for _ in range(3)]
    assets = [make.asset(site=sites[i % 3]) for i in range(12)]
    for i in range(6):
        plan(assets[i * 2:i * 2 + 2], rrule="FREQ=DAILY", parts={part: 2},
             dtstart=datetime(2029, 1, 1, 5 + i, tzinfo=UTC), lead_days=4)
    expected = 6 * 2 * 5  # plans × assets × days (today and four more)

    contenders = 3
    barrier = threading.Barrier(contenders)
    reports, errors = [], []
    lock = threading.Lock()

    def run() -> None:
        try:
            with app.app_context():
                session = db.session
                barrier.wait(timeout=30)
                report = generate_due_work_orders(session, now=NOW, actor=ACTOR)
                session.commit()
                session.remove()
            with lock:
                reports.append(report)
        except Exception as exc:  # surfaced by the assertion below
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=run) for _ in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert sorted(r.work_orders_created for r in reports)[-1] >= 1
    assert sum(r.work_orders_created for r in reports) == expected
    assert all(r.work_orders_created + r.already_existing == expected for r in reports)
    rows = pm_orders()
    assert len(rows) == expected == len({(p, a, d) for p, a, d, _ in rows})
    with app.app_context():
        count = db.session.scalar
        assert count(db.select(db.func.count(WorkOrderTransition.id))) == expected
        assert count(db.select(db.func.count(StockMovement.id))
                     .where(StockMovement.kind == "reserve")) == expected
        assert count(db.select(StockLevel.reserved)) == 2 * expected
        assert count(db.select(db.func.count(WorkOrder.id))) == expected
        db.session.remove()
    assert date(2030, 1, 14) in {d for _, _, d, _ in rows}
