"""Service contracts: SLA targets per priority and the assets they cover."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from fieldsvc.context import Actor
from fieldsvc.models import Asset, AssetContract, ServiceContract, SlaTarget, WorkOrder
from fieldsvc.problems import InvalidInput
from fieldsvc.services.catalog import ensure_unique, refuse_if_referenced

_FIELDS = ("number", "customer_id", "name", "starts_on", "ends_on", "coverage_24x7",
           "coverage_days", "coverage_start", "coverage_end", "timezone", "pm_included")


def asset_ids(session: Session, contract_id: int) -> list[int]:
    return list(session.scalars(
        select(AssetContract.asset_id).where(AssetContract.contract_id == contract_id)
        .order_by(AssetContract.asset_id)
    ))


def is_active(contract: ServiceContract, today: date) -> bool:
    """Whether the contract runs on `today` (a local date: fieldsvc.dates)."""
    return contract.starts_on <= today <= contract.ends_on


def _check(session: Session, values: dict[str, Any], contract_id: int | None,
           asset_list: list[int] | None, *, check_number: bool = True) -> None:
    """Rules on the contract as it would be after the change."""
    errors: dict[str, list[str]] = {}
    if values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = ["Must not be before starts_on."]
    if not values["coverage_24x7"] and values["coverage_end"] <= values["coverage_start"]:
        errors["coverage_end"] = ["Must be after coverage_start (or set coverage_24x7)."]
    if asset_list is not None:
        rows = {a.id: a for a in session.scalars(select(Asset).where(Asset.id.in_(asset_list)))}
        problems = []
        for ident in asset_list:
            asset = rows.get(ident)
            if asset is None:
                problems.append(f"No asset with id {ident}.")
            elif asset.customer_id != values["customer_id"]:
                problems.append(f"Asset {ident} belongs to customer {asset.customer_id}, not "
                                f"to the contract's customer {values['customer_id']}.")
        if problems:
            errors["asset_ids"] = problems
    if errors:
        raise InvalidInput(errors)
    if check_number:
        ensure_unique(session, ServiceContract.number, values["number"], field="number",
                      label="contract", exclude_id=contract_id)


def _set_targets(session: Session, contract: ServiceContract, targets: list[dict]) -> None:
    if contract.targets:
        contract.targets.clear()
        # Old rows must be gone before new ones reuse their (contract, priority) keys.
        session.flush()
    for target in sorted(targets, key=lambda t: t["priority"]):
        contract.targets.append(SlaTarget(**target))


def _set_assets(session: Session, contract: ServiceContract, wanted: list[int]) -> None:
    links = session.scalars(
        select(AssetContract).where(AssetContract.contract_id == contract.id)
    ).all()
    have = {link.asset_id: link for link in links}
    for asset_id, link in have.items():
        if asset_id not in wanted:
            session.delete(link)
    for asset_id in wanted:
        if asset_id not in have:
            session.add(AssetContract(contract_id=contract.id, asset_id=asset_id))
    # The read-only link collections are reloaded on next access.
    session.flush()
    session.expire(contract, ["asset_links", "assets"])
    for asset_id in set(wanted) | set(have):
        asset = session.identity_map.get(identity_key(Asset, asset_id))
        if asset is not None:
            session.expire(asset, ["contract_links"])


def create_contract(session: Session, data: dict[str, Any], actor: Actor) -> ServiceContract:
    values = dict(data)
    targets = values.pop("targets", [])
    wanted = values.pop("asset_ids", [])
    _check(session, values, None, wanted)
    contract = ServiceContract(**values)
    session.add(contract)
    _set_targets(session, contract, targets)
    session.flush()
    _set_assets(session, contract, wanted)
    return contract


def update_contract(session: Session, contract: ServiceContract, data: dict[str, Any],
                    actor: Actor) -> ServiceContract:
    changes = dict(data)
    targets = changes.pop("targets", None)
    wanted = changes.pop("asset_ids", None)
    values = {key: getattr(contract, key) for key in _FIELDS} | changes
    if wanted is None and "customer_id" in changes:
        # The covered assets stay; they must belong to the new customer too.
        wanted_check = asset_ids(session, contract.id)
    else:
        wanted_check = wanted
    _check(session, values, contract.id, wanted_check, check_number="number" in changes)
    for key, value in changes.items():
        setattr(contract, key, value)
    if targets is not None:
        _set_targets(session, contract, targets)
    if wanted is not None:
        _set_assets(session, contract, wanted)
    return contract


def delete_contract(session: Session, contract: ServiceContract, actor: Actor) -> None:
    refuse_if_referenced(session, "contract", contract.id, [
        ("work orders", WorkOrder.contract_id),
    ])
    for link in session.scalars(
        select(AssetContract).where(AssetContract.contract_id == contract.id)
    ):
        session.delete(link)
    session.flush()
    session.delete(contract)
