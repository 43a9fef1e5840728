"""/api/v1/contracts: service contracts with SLA targets and covered assets."""

from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import AssetContract, ServiceContract
from fieldsvc.schemas.catalog import IdArg
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.contracts import ContractSchema
from fieldsvc.services import contracts as service


class ContractListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in number and name"})
    customer_id = IdArg()
    asset_id = IdArg(metadata={"description": "Contracts covering this asset"})
    active_on = fields.Date(metadata={"description": "YYYY-MM-DD within the contract period"})
    pm_included = fields.Boolean()


def _active_on(stmt, day):
    return stmt.where(ServiceContract.starts_on <= day, ServiceContract.ends_on >= day)


def _covering(stmt, asset_id):
    covering = select(AssetContract.contract_id).where(AssetContract.asset_id == asset_id)
    return stmt.where(ServiceContract.id.in_(covering))


contracts_blp = Blueprint("contracts", __name__, url_prefix=f"{API_PREFIX}/contracts",
                          description="Service contracts: SLA targets, coverage hours")
register_crud(
    contracts_blp,
    Resource(
        name="contracts",
        model=ServiceContract,
        schema=ContractSchema,
        list_args=ContractListArgs,
        filters={"customer_id": ServiceContract.customer_id, "active_on": _active_on,
                 "asset_id": _covering, "pm_included": ServiceContract.pm_included},
        sortable={"id": ServiceContract.id, "number": ServiceContract.number,
                  "name": ServiceContract.name, "starts_on": ServiceContract.starts_on,
                  "ends_on": ServiceContract.ends_on},
        search=(ServiceContract.number, ServiceContract.name),
        # What the schema shows of each contract, loaded for the whole page at once.
        options=(selectinload(ServiceContract.targets),
                 selectinload(ServiceContract.asset_links)),
        create=service.create_contract,
        update=service.update_contract,
        delete=service.delete_contract,
        label="service contract",
    ),
)

blueprints = [contracts_blp]
