"""Helpers for RMA tests: stock set-up and read-back straight from the ledger tables."""

from __future__ import annotations

import pytest

from fieldsvc.context import SYSTEM
from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement
from fieldsvc.services import stock as stock_service
from rma.models import Rma


class Kit:
    def __init__(self, app, client):
        self.app, self.client = app, client

    def receive(self, part_id: int, warehouse_id: int, quantity: int = 1, serial=None):
        with self.app.app_context():
            stock_service.receive(db.session, part_id, quantity, warehouse_id, SYSTEM,
                                  serial_number=serial)
            db.session.commit()

    def level(self, warehouse_id: int, part_id: int) -> tuple[int, int]:
        """(on_hand, reserved); (0, 0) when the warehouse never held the part."""
        with self.app.app_context():
            row = db.session.scalar(db.select(StockLevel).where(
                StockLevel.warehouse_id == warehouse_id, StockLevel.part_id == part_id))
            return (row.on_hand, row.reserved) if row else (0, 0)

    def ledger(self, rma_id: int) -> list[tuple]:
        """The RMA's movements: (kind, from, to, serial), oldest first."""
        with self.app.app_context():
            rows = db.session.scalars(db.select(StockMovement).where(
                StockMovement.rma_id == rma_id).order_by(StockMovement.id))
            return [(m.kind.value, m.from_warehouse_id, m.to_warehouse_id, m.serial_number)
                    for m in rows]

    def rma(self, rma_id: int) -> Rma:
        with self.app.app_context():
            row = db.session.get(Rma, rma_id)
            db.session.expunge(row)
            return row

    def create(self, client=None, **body):
        body.setdefault("failure_description", "Fuser overheats")
        body.setdefault("failure_code", "E-301")
        response = (client or self.client).post("/api/v1/rmas", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def move(self, rma_id: int, client=None, **body):
        return (client or self.client).post(f"/api/v1/rmas/{rma_id}/transitions", json=body)


@pytest.fixture
def kit(app, client):
    return Kit(app, client)
