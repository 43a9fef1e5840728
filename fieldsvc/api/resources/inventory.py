"""/api/v1/parts and /api/v1/warehouses (places only; stock is under stock-movements)."""

from flask_smorest import Blueprint
from marshmallow import fields

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import Part, Warehouse
from fieldsvc.models.enums import WarehouseKind
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.inventory import PartSchema, WarehouseSchema
from fieldsvc.services import inventory as service


class PartListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in SKU and name"})
    serialized = fields.Boolean()


parts_blp = Blueprint("parts", __name__, url_prefix=f"{API_PREFIX}/parts",
                      description="Parts catalog")
register_crud(
    parts_blp,
    Resource(
        name="parts",
        model=Part,
        schema=PartSchema,
        list_args=PartListArgs,
        filters={"serialized": Part.serialized},
        sortable={"id": Part.id, "sku": Part.sku, "name": Part.name,
                  "unit_cost": Part.unit_cost},
        default_sort=(Part.sku,),
        search=(Part.sku, Part.name),
        create=service.create_part,
        update=service.update_part,
        delete=service.delete_part,
    ),
)


class WarehouseListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in code, name, address"})
    kind = fields.Enum(WarehouseKind, by_value=True)
    region = fields.String()


warehouses_blp = Blueprint("warehouses", __name__, url_prefix=f"{API_PREFIX}/warehouses",
                           description="Warehouses: central, regional, vans, quarantine")
register_crud(
    warehouses_blp,
    Resource(
        name="warehouses",
        model=Warehouse,
        schema=WarehouseSchema,
        list_args=WarehouseListArgs,
        filters={"kind": Warehouse.kind, "region": Warehouse.region},
        sortable={"id": Warehouse.id, "code": Warehouse.code, "name": Warehouse.name,
                  "region": Warehouse.region},
        default_sort=(Warehouse.code,),
        search=(Warehouse.code, Warehouse.name, Warehouse.address),
        create=service.create_warehouse,
        update=service.update_warehouse,
        delete=service.delete_warehouse,
    ),
)

blueprints = [parts_blp, warehouses_blp]
