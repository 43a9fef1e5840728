"""/api/v1/stock-movements: the stock ledger (append-only) and the stock levels it keeps."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, apply_sort, paginate, register_crud
from fieldsvc.models import StockLevel, StockMovement
from fieldsvc.schemas.common import page_schema
from fieldsvc.schemas.stock import (
    StockLevelListArgs,
    StockLevelSchema,
    StockMovementListArgs,
    StockMovementSchema,
)
from fieldsvc.services import stock as service


def _by_warehouse(stmt, value):
    return stmt.where((StockMovement.from_warehouse_id == value)
                      | (StockMovement.to_warehouse_id == value))


RESOURCE = Resource(
    name="stock-movements",
    label="stock movement",
    model=StockMovement,
    schema=StockMovementSchema,
    list_args=StockMovementListArgs,
    filters={"kind": StockMovement.kind, "part_id": StockMovement.part_id,
             "warehouse_id": _by_warehouse, "work_order_id": StockMovement.work_order_id,
             "rma_id": StockMovement.rma_id},
    sortable={"id": StockMovement.id, "created_at": StockMovement.created_at},
    create=service.record_movement,
    # The ledger is append-only: no PATCH, no DELETE.
    actions=frozenset({"list", "get", "create"}),
)

LEVELS = Resource(
    name="stock-levels",
    label="stock level",
    model=StockLevel,
    schema=StockLevelSchema,
    sortable={"id": StockLevel.id, "warehouse_id": StockLevel.warehouse_id,
              "part_id": StockLevel.part_id, "on_hand": StockLevel.on_hand},
    default_sort=(StockLevel.warehouse_id, StockLevel.part_id),
)

blp = Blueprint("stock_movements", __name__, url_prefix=f"{API_PREFIX}/stock-movements",
                description="Stock ledger: receive, reserve, release, issue, return, transfer, "
                            "scrap")


@blp.route("/levels")
class StockLevels(MethodView):
    @blp.arguments(StockLevelListArgs, location="query", unknown=RAISE)
    @blp.response(200, page_schema(StockLevelSchema))
    @blp.doc(summary="Stock levels (on hand, reserved, available) by warehouse and part")
    def get(self, args):
        stmt = service.stock_levels_query(args.get("warehouse_id"), args.get("part_id"))
        if args.get("available_below") is not None:
            stmt = stmt.where(StockLevel.on_hand - StockLevel.reserved < args["available_below"])
        if args.get("sort"):
            stmt = apply_sort(stmt.order_by(None), args["sort"], LEVELS)
        return paginate(stmt, args)


register_crud(blp, RESOURCE)

blueprints = [blp]
