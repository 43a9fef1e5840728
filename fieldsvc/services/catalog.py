"""Products, installed assets and their meter readings.

Also home of the small checks every catalog-like service shares: unique codes give a 409
that names the value, and rows still referenced elsewhere refuse deletion with a 409 that
says by what.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from fieldsvc.context import Actor
from fieldsvc.dates import add_months
from fieldsvc.models import (
    Asset,
    AssetContract,
    MeterReading,
    PmPlanAsset,
    Product,
    ProductSkill,
    Site,
    Skill,
    Ticket,
    WorkOrder,
    WorkOrderSkill,
)
from fieldsvc.problems import Conflict, InvalidInput
from fieldsvc.recall.models import (
    CampaignVin,
    RecallAppointment,
    RecallCampaign,
    RecallCampaignProduct,
)

# Phone clocks drift; a reading stamped a little ahead of the server is still "now".
CLOCK_SKEW = timedelta(minutes=5)

# --- shared helpers -------------------------------------------------------------------------


def ensure_unique(session: Session, column: InstrumentedAttribute, value: Any, *,
                  field: str, label: str, exclude_id: int | None = None) -> None:
    """Raise 409 when another row already holds `value` in a unique column."""
    if value is None:
        return
    model = column.class_
    stmt = select(model.id).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    other = session.scalar(stmt.limit(1))
    if other is not None:
        raise Conflict(f"{label} {field} '{value}' is already used by {label} {other}.",
                       field=field, existing_id=other)


def refuse_if_referenced(session: Session, label: str, ident: int,
                         references: Iterable[tuple[str, InstrumentedAttribute]]) -> None:
    """Raise 409 naming every kind of row that still refers to the one being deleted."""
    found = []
    for what, column in references:
        count = session.scalar(select(func.count()).select_from(column.class_)
                               .where(column == ident))
        if count:
            found.append(f"{count} {what}")
    if found:
        raise Conflict(f"The {label} {ident} is still referenced by " + ", ".join(found)
                       + "; remove those references first.", referenced_by=found)


def check_ids(session: Session, model: type, key: str, field: str,
              rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Errors for a list of rows naming `model` ids under `key`: an id that does not
    exist, or one listed twice, keyed by the row's index under `field` (empty: all good)."""
    errors: dict[str, Any] = {}
    seen: set[int] = set()
    ids = {r[key] for r in rows}
    found = set(session.scalars(select(model.id).where(model.id.in_(ids)))) if ids else set()
    for i, row in enumerate(rows):
        if row[key] not in found:
            label = model.__tablename__.replace("_", " ")
            errors[str(i)] = {key: [f"No {label} with id {row[key]}."]}
        elif row[key] in seen:
            errors[str(i)] = {key: ["Listed twice."]}
        seen.add(row[key])
    return {field: errors} if errors else {}


# --- products -------------------------------------------------------------------------------


def _check_skills(session: Session, data: dict[str, Any]) -> None:
    if data.get("skills") is not None:
        errors = check_ids(session, Skill, "skill_id", "skills", data["skills"])
        if errors:
            raise InvalidInput(errors)


def _set_skills(session: Session, product: Product, skills: list[dict[str, Any]]) -> None:
    """Replace the product's skill list as a whole."""
    if product.id is not None and product.skills:
        # The new list may name a skill of the old one again: delete the old rows first.
        product.skills = []
        session.flush()
    product.skills = [ProductSkill(skill_id=s["skill_id"], min_level=s.get("min_level", 1))
                      for s in skills]


def create_product(session: Session, data: dict[str, Any], actor: Actor) -> Product:
    data = dict(data)
    _check_skills(session, data)
    ensure_unique(session, Product.code, data["code"], field="code", label="product")
    skills = data.pop("skills", None) or []
    product = Product(**data)
    _set_skills(session, product, skills)
    session.add(product)
    return product


def update_product(session: Session, product: Product, data: dict[str, Any],
                   actor: Actor) -> Product:
    data = dict(data)
    _check_skills(session, data)
    if "code" in data:
        ensure_unique(session, Product.code, data["code"], field="code", label="product",
                      exclude_id=product.id)
    if "skills" in data:
        _set_skills(session, product, data.pop("skills") or [])
    for key, value in data.items():
        setattr(product, key, value)
    return product


def delete_product(session: Session, product: Product, actor: Actor) -> None:
    refuse_if_referenced(session, "product", product.id, [
        ("assets", Asset.product_id),
        ("tickets", Ticket.product_id),
        ("recall campaigns", RecallCampaignProduct.product_id),
    ])
    session.delete(product)


def declared_skills(session: Session, product_id: int) -> list[dict[str, int]]:
    """The skills the product declares, as work-order requirements {skill_id, min_level}."""
    rows = session.execute(
        select(ProductSkill.skill_id, ProductSkill.min_level)
        .where(ProductSkill.product_id == product_id).order_by(ProductSkill.skill_id))
    return [{"skill_id": skill_id, "min_level": level} for skill_id, level in rows]


# --- assets ---------------------------------------------------------------------------------


def products_skills(session: Session, product_ids: Collection[int]
                    ) -> dict[int, list[tuple[str, int]]]:
    """`product_skills` of several products: the declared skills of all of them in one
    query, the guess only for those that declare none."""
    declared: dict[int, list[tuple[str, int]]] = {}
    wanted = sorted(set(product_ids))
    for i in range(0, len(wanted), 500):
        for product_id, code, level in session.execute(
                select(ProductSkill.product_id, Skill.code, ProductSkill.min_level)
                .join(Skill, Skill.id == ProductSkill.skill_id)
                .where(ProductSkill.product_id.in_(wanted[i:i + 500]))
                .order_by(ProductSkill.product_id, Skill.code)):
            declared.setdefault(product_id, []).append((code, level))
    return {p: declared[p] if p in declared else _guessed_skills(session, p) for p in wanted}


def product_skills(session: Session, product_id: int) -> list[tuple[str, int]]:
    """The skills (code, minimum level) a job on this product needs: those the product
    declares; when it declares none, a guess from what the catalogue knows of it: the
    skills of the latest work order on a unit of the product that listed skills, else
    those of the recall campaigns covering the product (level 1).
    """
    declared = session.execute(
        select(Skill.code, ProductSkill.min_level)
        .join(Skill, Skill.id == ProductSkill.skill_id)
        .where(ProductSkill.product_id == product_id).order_by(Skill.code)).all()
    if declared:
        return [(code, level) for code, level in declared]
    return _guessed_skills(session, product_id)


def _guessed_skills(session: Session, product_id: int) -> list[tuple[str, int]]:
    """A product's skills when it declares none (see `product_skills`)."""
    latest = session.scalar(
        select(WorkOrder.id).join(Asset, Asset.id == WorkOrder.asset_id)
        .where(Asset.product_id == product_id,
               select(WorkOrderSkill.id).where(WorkOrderSkill.work_order_id == WorkOrder.id)
               .exists())
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(1))
    if latest is not None:
        rows = session.execute(
            select(Skill.code, WorkOrderSkill.min_level)
            .join(Skill, Skill.id == WorkOrderSkill.skill_id)
            .where(WorkOrderSkill.work_order_id == latest).order_by(Skill.code))
        return [(code, level) for code, level in rows]
    codes = session.scalars(
        select(Skill.code).join(RecallCampaign, RecallCampaign.skill_id == Skill.id)
        .join(RecallCampaignProduct, RecallCampaignProduct.campaign_id == RecallCampaign.id)
        .where(RecallCampaignProduct.product_id == product_id).distinct().order_by(Skill.code))
    return [(code, 1) for code in codes]


def under_warranty(asset: Asset, today: date) -> bool:
    """Whether the asset's warranty covers `today` (a local date: fieldsvc.dates)."""
    return asset.warranty_end is not None and today <= asset.warranty_end


def contract_ids(session: Session, asset_id: int) -> list[int]:
    return list(session.scalars(
        select(AssetContract.contract_id).where(AssetContract.asset_id == asset_id)
        .order_by(AssetContract.contract_id)
    ))


_ASSET_FIELDS = ("product_id", "customer_id", "site_id", "serial_number", "vin",
                 "install_date", "warranty_end", "notes")


def _check_asset(session: Session, values: dict[str, Any], asset_id: int | None,
                 changed: set[str]) -> None:
    """Cross-field rules on the asset as it would be after the change."""
    errors: dict[str, list[str]] = {}
    if not values.get("serial_number") and not values.get("vin"):
        errors["serial_number"] = ["Give a serial_number or a vin (or both)."]
    site_id = values.get("site_id")
    if site_id is not None and changed & {"site_id", "customer_id"}:
        site = session.get(Site, site_id)
        if site is not None and site.customer_id != values["customer_id"]:
            errors["site_id"] = [f"Site {site_id} belongs to customer {site.customer_id}, "
                                 f"not to customer {values['customer_id']}."]
    install, end = values.get("install_date"), values.get("warranty_end")
    if install and end and end < install:
        errors["warranty_end"] = ["Must not be before install_date."]
    if errors:
        raise InvalidInput(errors)
    if "serial_number" in changed:
        ensure_unique(session, Asset.serial_number, values.get("serial_number"),
                      field="serial_number", label="asset", exclude_id=asset_id)
    if "vin" in changed:
        ensure_unique(session, Asset.vin, values.get("vin"), field="vin", label="asset",
                      exclude_id=asset_id)


def _default_warranty(session: Session, values: dict[str, Any]) -> None:
    """No warranty end given: install date plus the product's warranty months."""
    if values.get("warranty_end") is not None or values.get("install_date") is None:
        return
    product = session.get(Product, values["product_id"])
    if product is not None and product.warranty_months:
        values["warranty_end"] = add_months(values["install_date"], product.warranty_months)


def create_asset(session: Session, data: dict[str, Any], actor: Actor) -> Asset:
    values = dict(data)
    if "warranty_end" not in data:
        _default_warranty(session, values)
    _check_asset(session, values, None, set(_ASSET_FIELDS))
    asset = Asset(**values)
    session.add(asset)
    return asset


def update_asset(session: Session, asset: Asset, data: dict[str, Any], actor: Actor) -> Asset:
    values = {key: getattr(asset, key) for key in _ASSET_FIELDS} | data
    _check_asset(session, values, asset.id, set(data))
    if "customer_id" in data and data["customer_id"] != asset.customer_id:
        covered = contract_ids(session, asset.id)
        if covered:
            raise Conflict(f"Asset {asset.id} is covered by contracts {covered} of its current "
                           "customer; take it off those contracts before changing its customer.")
    for key, value in data.items():
        setattr(asset, key, value)
    return asset


def delete_asset(session: Session, asset: Asset, actor: Actor) -> None:
    refuse_if_referenced(session, "asset", asset.id, [
        ("contracts", AssetContract.asset_id),
        ("work orders", WorkOrder.asset_id),
        ("tickets", Ticket.asset_id),
        ("preventive maintenance plans", PmPlanAsset.asset_id),
        ("recall VIN entries", CampaignVin.asset_id),
        ("recall appointments", RecallAppointment.asset_id),
    ])
    session.execute(MeterReading.__table__.delete().where(MeterReading.asset_id == asset.id))
    session.delete(asset)


# --- meter readings -------------------------------------------------------------------------


def readings_query(asset: Asset):
    return (select(MeterReading).where(MeterReading.asset_id == asset.id)
            .order_by(MeterReading.read_at.desc(), MeterReading.id.desc()))


def add_reading(session: Session, asset: Asset, data: dict[str, Any],
                actor: Actor) -> MeterReading:
    """Record a reading; counters only go up unless the reading says the meter was reset."""
    now = datetime.now(UTC)
    read_at = data.get("read_at") or now
    unit = data.get("unit") or asset.product.meter_unit
    errors: dict[str, list[str]] = {}
    if not unit:
        errors["unit"] = ["Give the unit: the product has no default meter unit."]
    if read_at > now + CLOCK_SKEW:
        errors["read_at"] = ["Must not be in the future."]
    if errors:
        raise InvalidInput(errors)
    previous = session.scalar(
        select(MeterReading)
        .where(MeterReading.asset_id == asset.id, MeterReading.unit == unit,
               MeterReading.read_at <= read_at)
        .order_by(MeterReading.read_at.desc(), MeterReading.id.desc()).limit(1)
    )
    if previous is not None and data["value"] < previous.value and not data.get("reset"):
        raise InvalidInput(
            {"value": [f"Lower than the previous reading ({previous.value:g} {unit} at "
                       f"{previous.read_at.isoformat()}); send reset: true if the meter "
                       "was reset or replaced."]},
            previous_reading_id=previous.id,
        )
    reading = MeterReading(asset_id=asset.id, read_at=read_at, value=data["value"], unit=unit,
                           source=data.get("source"))
    session.add(reading)
    return reading
