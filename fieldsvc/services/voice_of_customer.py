"""Voice of the customer: tickets per month by category, topic, product model and region,
with each group's share and the month-over-month trend; recurring faults per product model
from work-order resolution codes and RMA failure codes (SPEC §1, §6 Reports).

Months are calendar months of the local time zone a ticket was opened in. Groups nest in
the order asked (`category,region`: a category, then the regions within it); each row's
`share` is of its parent (the month for the first key; "31 % of complaints came from the
capital"), `share_of_month` of the whole month ("24 % complaints"). `previous` is the same
group's count in the month before (null for the period's first month), `change` the
difference.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsvc.csvfile import dicts_to_csv
from fieldsvc.hooks import Hooks
from fieldsvc.models import Asset, Product, Ticket, WorkOrder
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.problems import InvalidInput
from fieldsvc.services.kpis import Period, check_period

GROUPS = ("category", "topic", "product", "region")
DEFAULT_TOP = 10
MAX_TOP = 100

def parse_groups(raw: str | None) -> list[str]:
    """`category,region` → ["category", "region"] in the order given; 422 when unknown or
    repeated."""
    keys = [k.strip() for k in ("category" if raw is None else raw).split(",") if k.strip()]
    unknown = [k for k in keys if k not in GROUPS]
    if not keys or unknown or len(set(keys)) != len(keys):
        raise InvalidInput({"group": [f"Give one or more of {', '.join(GROUPS)}, "
                                      "comma-separated, each once."]})
    return keys


def _month(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m")


def _months(start: date, end: date) -> list[str]:
    out, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def ticket_rows(session: Session, period: Period, groups: list[str]) -> dict[str, Any]:
    """Per month: total tickets and the nested group rows (see the module docstring)."""
    tz = period.tz
    stmt = (select(Ticket.created_at, Ticket.category, Ticket.topic, Product.code,
                   Ticket.region)
            .outerjoin(Product, Product.id == Ticket.product_id)
            .where(Ticket.created_at >= period.start_at, Ticket.created_at < period.end_at))
    if period.territory is not None:
        stmt = stmt.where(Ticket.region == period.territory)
    # counts[level][(month, key tuple)] for each prefix length of the grouping.
    counts: list[Counter] = [Counter() for _ in groups]
    totals: Counter = Counter()
    for created_at, category, topic, product_code, region in session.execute(stmt):
        values = {"category": category.value if category is not None else None,
                  "topic": topic, "product": product_code, "region": region}
        month = _month(created_at, tz)
        totals[month] += 1
        path = tuple(values[g] for g in groups)
        for level in range(len(groups)):
            counts[level][(month, path[:level + 1])] += 1

    months = _months(period.start, period.end)
    previous_of = {m: (months[i - 1] if i else None) for i, m in enumerate(months)}
    items: list[dict[str, Any]] = []
    for month in months:
        month_rows = []
        for level in range(len(groups)):
            for (m, path), n in counts[level].items():
                if m != month:
                    continue
                parent = (totals[month] if level == 0
                          else counts[level - 1][(month, path[:-1])])
                before = previous_of[month]
                prev = counts[level][(before, path)] if before else None
                row = {"month": month, "level": level + 1,
                       **{g: (path[i] if i < len(path) else None)
                          for i, g in enumerate(groups)},
                       "tickets": n, "share": round(n / parent, 4),
                       "share_of_month": round(n / totals[month], 4),
                       "previous": prev, "change": (n - prev) if prev is not None else None}
                month_rows.append((path, row))
        # Parents before their children, biggest first within a parent.
        month_rows.sort(key=lambda pr: _sort_key(pr[0], counts, month))
        items.extend(row for _, row in month_rows)
    month_totals = []
    for month in months:
        before = previous_of[month]
        prev = totals[before] if before else None
        month_totals.append({"month": month, "tickets": totals[month], "previous": prev,
                             "change": (totals[month] - prev) if prev is not None else None})
    return {"months": month_totals, "items": items}


def _sort_key(path: tuple, counts: list[Counter], month: str) -> tuple:
    key: list[Any] = []
    for level in range(len(path)):
        prefix = path[:level + 1]
        key.extend([-counts[level][(month, prefix)], str(prefix[-1])])
    return tuple(key)


def recurring_faults(session: Session, period: Period, hooks: Hooks, top: int = DEFAULT_TOP
                     ) -> list[dict[str, Any]]:
    """The `top` (product model, code) pairs by count: resolution codes of work orders
    completed in the period plus failure codes (confirmed at inspection, else reported) of
    RMAs opened in it, as the rma plugin counts them (`hooks.rma_faults`); ties by product
    code and code."""
    found: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: {"work_orders": 0,
                                                                        "rmas": 0})
    wo_stmt = (select(Asset.product_id, WorkOrder.resolution_code, func.count())
               .join(Asset, Asset.id == WorkOrder.asset_id)
               .where(WorkOrder.status == WorkOrderStatus.COMPLETED,
                      WorkOrder.resolution_code.is_not(None),
                      WorkOrder.completed_at >= period.start_at,
                      WorkOrder.completed_at < period.end_at)
               .group_by(Asset.product_id, WorkOrder.resolution_code))
    for product_id, code, n in session.execute(wo_stmt):
        found[(product_id, code)]["work_orders"] += n
    rma_counts = hooks.rma_faults(session, period.start_at, period.end_at) \
        if hooks.rma_faults else ()
    for product_id, fault, n in rma_counts:
        found[(product_id, fault)]["rmas"] += n
    products = {p.id: p for p in session.scalars(
        select(Product).where(Product.id.in_({pid for pid, _ in found} or {0})))}
    rows = [{"product_id": pid, "product_code": products[pid].code,
             "product_name": products[pid].name, "code": fault, **n,
             "total": n["work_orders"] + n["rmas"]}
            for (pid, fault), n in found.items()]
    rows.sort(key=lambda r: (-r["total"], r["product_code"], r["code"]))
    return rows[:top]


def report(session: Session, start: date, end: date, timezone: str, groups: list[str],
           territory: str | None = None, top: int = DEFAULT_TOP, *, hooks: Hooks
           ) -> dict[str, Any]:
    """Tickets per month by the grouping, and the recurring faults per product model."""
    check_period(start, end)
    if not 1 <= top <= MAX_TOP:
        raise InvalidInput({"top": [f"Between 1 and {MAX_TOP}."]})
    period = Period(start, end, timezone, territory)
    tickets = ticket_rows(session, period, groups)
    return {"from": start, "to": end, "timezone": timezone, "group": groups,
            "region": territory, **tickets,
            "recurring_faults": recurring_faults(session, period, hooks, top)}


FAULT_COLUMNS = ("product_id", "product_code", "product_name", "code", "work_orders", "rmas",
                 "total")


def tickets_csv(data: dict[str, Any]) -> str:
    columns = ["month", "level", *data["group"], "tickets", "share", "share_of_month",
               "previous", "change"]
    return _csv(columns, data["items"])


def faults_csv(data: dict[str, Any]) -> str:
    return _csv(list(FAULT_COLUMNS), data["recurring_faults"])


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    return dicts_to_csv(columns, rows)
