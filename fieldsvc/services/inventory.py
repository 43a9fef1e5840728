"""Parts and warehouses as catalog entries; their stock belongs to services.stock.

References from the RMA package are left to the database (fieldsvc does not import rma);
they still end in a 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import (
    Part,
    PmPlanPart,
    StockLevel,
    StockMovement,
    Technician,
    Warehouse,
    WorkOrderPart,
)
from fieldsvc.models.enums import WarehouseKind
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.recall.models import CampaignPart
from fieldsvc.services.catalog import ensure_unique, refuse_if_referenced

# --- parts ----------------------------------------------------------------------------------


def create_part(session: Session, data: dict[str, Any], actor: Actor) -> Part:
    ensure_unique(session, Part.sku, data["sku"], field="sku", label="part")
    part = Part(**data)
    session.add(part)
    return part


def update_part(session: Session, part: Part, data: dict[str, Any], actor: Actor) -> Part:
    if "sku" in data:
        ensure_unique(session, Part.sku, data["sku"], field="sku", label="part",
                      exclude_id=part.id)
    for key, value in data.items():
        setattr(part, key, value)
    return part


def delete_part(session: Session, part: Part, actor: Actor) -> None:
    refuse_if_referenced(session, "part", part.id, [
        ("stock levels", StockLevel.part_id),
        ("stock movements", StockMovement.part_id),
        ("work orders", WorkOrderPart.part_id),
        ("preventive maintenance plans", PmPlanPart.part_id),
        ("recall campaigns", CampaignPart.part_id),
    ])
    session.delete(part)


# --- warehouses -----------------------------------------------------------------------------


def van_holder(session: Session, warehouse_id: int) -> int | None:
    return session.scalar(select(Technician.id).where(Technician.van_warehouse_id == warehouse_id))


def _check_place(values: dict[str, Any]) -> None:
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        raise InvalidInput({"longitude": ["Give latitude and longitude together, or neither."]})


def create_warehouse(session: Session, data: dict[str, Any], actor: Actor) -> Warehouse:
    _check_place(data)
    ensure_unique(session, Warehouse.code, data["code"], field="code", label="warehouse")
    warehouse = Warehouse(**data)
    session.add(warehouse)
    return warehouse


def update_warehouse(session: Session, warehouse: Warehouse, data: dict[str, Any],
                     actor: Actor) -> Warehouse:
    _check_place({"latitude": warehouse.latitude, "longitude": warehouse.longitude} | data)
    if "code" in data:
        ensure_unique(session, Warehouse.code, data["code"], field="code", label="warehouse",
                      exclude_id=warehouse.id)
    if data.get("kind", WarehouseKind.VAN) != WarehouseKind.VAN:
        holder = van_holder(session, warehouse.id)
        if holder is not None:
            raise Conflict(f"Warehouse {warehouse.id} is the van of technician {holder}; give "
                           "the technician another van before changing its kind.")
    for key, value in data.items():
        setattr(warehouse, key, value)
    return warehouse


def delete_warehouse(session: Session, warehouse: Warehouse, actor: Actor) -> None:
    refuse_if_referenced(session, "warehouse", warehouse.id, [
        ("technicians (as their van)", Technician.van_warehouse_id),
        ("stock levels", StockLevel.warehouse_id),
        ("stock movements (from)", StockMovement.from_warehouse_id),
        ("stock movements (to)", StockMovement.to_warehouse_id),
        ("work order part reservations", WorkOrderPart.reserved_warehouse_id),
    ])
    session.delete(warehouse)
