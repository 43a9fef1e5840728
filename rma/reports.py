"""Returns report: how many RMAs, and how often no fault was found, per month, product
model and failure code — the feedback to product design (SPEC §1, §6 Reports)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from fieldsvc.csvfile import dicts_to_csv
from fieldsvc.models import Asset, Product
from fieldsvc.problems import InvalidInput
from rma.models import InspectionResult, Rma

GROUPS = ("month", "product", "failure_code")
COUNTS = ("returns", "inspected", "failure_confirmed", "no_fault_found", "customer_damage")
CSV_COLUMNS = ("month", "product_id", "product_code", "failure_code", *COUNTS,
               "no_fault_found_rate")
MAX_DAYS = 3660


def parse_groups(raw: str) -> list[str]:
    """`month,product` → ["month", "product"]; 422 for an unknown or repeated key."""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    unknown = [k for k in keys if k not in GROUPS]
    if not keys or unknown or len(set(keys)) != len(keys):
        raise InvalidInput({"group": [f"Give one or more of {', '.join(GROUPS)}, "
                                      "comma-separated, each once."]})
    return [k for k in GROUPS if k in keys]


def _month(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Rma.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Rma.created_at)


def returns(session: Session, start: date, end: date, groups: list[str]) -> list[dict[str, Any]]:
    """Counts per group over RMAs opened from `start` to `end` (inclusive, UTC days).

    The failure code is the one confirmed at inspection, else the one reported. The
    no-fault-found rate is over inspected RMAs only (null when none was inspected).
    """
    if end < start:
        raise InvalidInput({"to": ["Must not be before from."]})
    if (end - start).days > MAX_DAYS:
        raise InvalidInput({"to": [f"Ask for at most {MAX_DAYS} days at a time."]})
    result = Rma.inspection_result
    keys: dict[str, Any] = {}
    if "month" in groups:
        keys["month"] = _month(session).label("month")
    if "product" in groups:
        keys["product_id"] = Product.id.label("product_id")
        keys["product_code"] = Product.code.label("product_code")
    if "failure_code" in groups:
        keys["failure_code"] = func.coalesce(Rma.inspection_failure_code,
                                             Rma.failure_code).label("failure_code")

    def count_of(value: InspectionResult):
        return func.sum(case((result == value.value, 1), else_=0))

    stmt = (
        select(*keys.values(),
               func.count(Rma.id).label("returns"),
               func.count(result).label("inspected"),
               count_of(InspectionResult.FAILURE_CONFIRMED).label("failure_confirmed"),
               count_of(InspectionResult.NO_FAULT_FOUND).label("no_fault_found"),
               count_of(InspectionResult.CUSTOMER_DAMAGE).label("customer_damage"))
        .select_from(Rma)
        .outerjoin(Asset, Asset.id == Rma.asset_id)
        .outerjoin(Product, Product.id == Asset.product_id)
        .where(Rma.created_at >= datetime.combine(start, time(0), tzinfo=UTC),
               Rma.created_at < datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC))
    )
    if keys:
        stmt = stmt.group_by(*keys.values()).order_by(*keys.values())
    rows = []
    for row in session.execute(stmt).mappings():
        item = {k: row[k] for k in keys}
        item.update({k: int(row[k] or 0) for k in COUNTS})
        item["no_fault_found_rate"] = (round(item["no_fault_found"] / item["inspected"], 4)
                                       if item["inspected"] else None)
        rows.append(item)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV, with the columns of the grouping used."""
    columns = [c for c in CSV_COLUMNS if not rows or c in rows[0]] if rows else list(CSV_COLUMNS)
    return dicts_to_csv(columns, rows)
