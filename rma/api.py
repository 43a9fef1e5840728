"""/api/v1/rmas: return material authorizations."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models.enums import Entitlement, RmaStatus, RmaType
from fieldsvc.schemas.common import ListArgs
from rma import services
from rma.models import Rma
from rma.schemas import RmaInputSchema, RmaSchema


class RmaListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in number and failure code"})
    customer_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.Enum(RmaStatus, by_value=True)
    type = fields.Enum(RmaType, by_value=True)
    entitlement = fields.Enum(Entitlement, by_value=True)
    asset_id = fields.Integer(validate=validate.Range(min=1))
    work_order_id = fields.Integer(validate=validate.Range(min=1))
    number = fields.String(validate=validate.Length(min=1, max=20))


rmas_blp = Blueprint("rmas", __name__, url_prefix=f"{API_PREFIX}/rmas",
                     description="Return material authorizations")
register_crud(
    rmas_blp,
    Resource(
        name="rmas",
        model=Rma,
        schema=RmaSchema,
        create_schema=RmaInputSchema,
        list_args=RmaListArgs,
        filters={
            "customer_id": Rma.customer_id, "status": Rma.status, "type": Rma.type,
            "entitlement": Rma.entitlement, "asset_id": Rma.asset_id,
            "work_order_id": Rma.work_order_id,
            "number": lambda stmt, v: stmt.where(Rma.number == v.strip().upper()),
        },
        sortable={"id": Rma.id, "number": Rma.number, "created_at": Rma.created_at,
                  "status": Rma.status},
        default_sort=(Rma.id.desc(),),
        search=(Rma.number, Rma.failure_code),
        create=services.create_rma,
        actions=frozenset({"list", "get", "create"}),
        label="RMA",
    ),
)

blueprints = [rmas_blp]
