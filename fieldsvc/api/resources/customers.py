"""/api/v1/customers and /api/v1/sites."""

from flask_smorest import Blueprint
from marshmallow import fields

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, register_crud
from fieldsvc.models import Customer, Site
from fieldsvc.models.enums import CustomerTier
from fieldsvc.schemas.common import ListArgs
from fieldsvc.schemas.customers import CustomerSchema, SiteSchema
from fieldsvc.services import customers as service
from fieldsvc.services.phones import phone_key


class CustomerListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in name, contact, email"})
    phone = fields.String(metadata={"description": "Any phone format; matches phone or mobile"})
    tier = fields.Enum(CustomerTier, by_value=True)
    region = fields.String()


def _by_phone(stmt, value):
    key = phone_key(value) or "-"
    return stmt.where((Customer.phone_key == key) | (Customer.mobile_key == key))


customers_blp = Blueprint("customers", __name__, url_prefix=f"{API_PREFIX}/customers",
                          description="Customers")
register_crud(
    customers_blp,
    Resource(
        name="customers",
        model=Customer,
        schema=CustomerSchema,
        list_args=CustomerListArgs,
        filters={"phone": _by_phone, "tier": Customer.tier, "region": Customer.region},
        sortable={"id": Customer.id, "name": Customer.name, "created_at": Customer.created_at},
        search=(Customer.name, Customer.contact_name, Customer.email),
        create=service.create_customer,
        update=service.update_customer,
    ),
)


class SiteListArgs(ListArgs):
    q = fields.String()
    customer_id = fields.Integer()
    region = fields.String()
    territory = fields.String()


sites_blp = Blueprint("sites", __name__, url_prefix=f"{API_PREFIX}/sites",
                      description="Customer sites")
register_crud(
    sites_blp,
    Resource(
        name="sites",
        model=Site,
        schema=SiteSchema,
        list_args=SiteListArgs,
        filters={"customer_id": Site.customer_id, "region": Site.region,
                 "territory": Site.territory},
        sortable={"id": Site.id, "name": Site.name, "city": Site.city},
        search=(Site.name, Site.address, Site.city),
    ),
)

blueprints = [customers_blp, sites_blp]
