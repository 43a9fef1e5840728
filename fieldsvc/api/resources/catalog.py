"""/api/v1/products and /api/v1/assets (with their meter readings)."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, fields
from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from fieldsvc.api import API_PREFIX
from fieldsvc.api.crud import Resource, get_or_404, paginate, register_crud
from fieldsvc.context import current_actor
from fieldsvc.dates import local_today
from fieldsvc.extensions import db
from fieldsvc.models import Asset, MeterReading, Product
from fieldsvc.models.enums import ProductKind
from fieldsvc.schemas.catalog import (
    AssetSchema,
    IdArg,
    MeterReadingSchema,
    ProductSchema,
    Vin,
)
from fieldsvc.schemas.common import ListArgs, page_schema
from fieldsvc.services import catalog as service


class ProductListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in code, name, manufacturer"})
    kind = fields.Enum(ProductKind, by_value=True)
    manufacturer = fields.String()


products_blp = Blueprint("products", __name__, url_prefix=f"{API_PREFIX}/products",
                         description="Catalog products (models)")
register_crud(
    products_blp,
    Resource(
        name="products",
        model=Product,
        schema=ProductSchema,
        list_args=ProductListArgs,
        filters={"kind": Product.kind, "manufacturer": Product.manufacturer},
        sortable={"id": Product.id, "code": Product.code, "name": Product.name,
                  "created_at": Product.created_at},
        default_sort=(Product.code,),
        search=(Product.code, Product.name, Product.manufacturer),
        # The skills the schema shows, loaded for the whole page at once.
        options=(selectinload(Product.skills),),
        create=service.create_product,
        update=service.update_product,
        delete=service.delete_product,
    ),
)


class AssetListArgs(ListArgs):
    q = fields.String(metadata={"description": "Search in serial number, VIN, notes"})
    customer_id = IdArg()
    site_id = IdArg()
    product_id = IdArg()
    serial_number = fields.String()
    vin = Vin()
    under_warranty = fields.Boolean()


def _under_warranty(stmt, value: bool):
    today = local_today()
    if value:
        return stmt.where(Asset.warranty_end >= today)
    return stmt.where(or_(Asset.warranty_end.is_(None), Asset.warranty_end < today))


assets_blp = Blueprint("assets", __name__, url_prefix=f"{API_PREFIX}/assets",
                       description="Installed units: serial number or VIN, warranty, meters")
assets = Resource(
    name="assets",
    model=Asset,
    schema=AssetSchema,
    list_args=AssetListArgs,
    filters={"customer_id": Asset.customer_id, "site_id": Asset.site_id,
             "product_id": Asset.product_id, "serial_number": Asset.serial_number,
             "vin": Asset.vin, "under_warranty": _under_warranty},
    sortable={"id": Asset.id, "serial_number": Asset.serial_number, "vin": Asset.vin,
              "install_date": Asset.install_date, "warranty_end": Asset.warranty_end,
              "created_at": Asset.created_at},
    search=(Asset.serial_number, Asset.vin, Asset.notes),
    # The contract ids the schema shows, loaded for the whole page at once.
    options=(selectinload(Asset.contract_links),),
    create=service.create_asset,
    update=service.update_asset,
    delete=service.delete_asset,
)
register_crud(assets_blp, assets)


class MeterReadingListArgs(ListArgs):
    """Newest first, always: no sort parameter."""

    class Meta(ListArgs.Meta):
        exclude = ("sort",)

    unit = fields.String()


@assets_blp.route("/<int:ident>/meter-readings", endpoint="assets_meter_readings")
class AssetMeterReadings(MethodView):
    @assets_blp.arguments(MeterReadingListArgs, location="query", unknown=RAISE)
    @assets_blp.response(200, page_schema(MeterReadingSchema))
    @assets_blp.doc(summary="List an asset's meter readings, newest first")
    def get(self, args, ident):
        asset = get_or_404(assets, ident)
        stmt = service.readings_query(asset)
        if args.get("unit"):
            stmt = stmt.where(MeterReading.unit == args["unit"])
        return paginate(stmt, args)

    @assets_blp.arguments(MeterReadingSchema)
    @assets_blp.response(201, MeterReadingSchema)
    @assets_blp.doc(summary="Record a meter reading")
    def post(self, data, ident):
        asset = get_or_404(assets, ident)
        reading = service.add_reading(db.session, asset, data, current_actor())
        db.session.flush()
        return reading


blueprints = [products_blp, assets_blp]
