"""Preventive maintenance generation at scale: 100,000 plans, the next 30 days, twice.

    python benchmarks/pm_generation.py                       # SQLite in a temporary file
    python benchmarks/pm_generation.py --database-url postgresql://postgres@127.0.0.1/bench

Builds a fresh database through the migrations (on PostgreSQL the public schema of the
given database is DROPPED first), inserts the fixture rows in bulk (customers with sites in
four regions, one asset per plan and three for one plan in ten, calendar plans with a mix of
weekly/monthly/quarterly/yearly/fortnightly rules started at random days of the last two
years in five time zones, meter plans with readings, skills, parts for a few plans, stock in
regional and central warehouses, customer contracts), then runs
`generate_due_work_orders(now, horizon_days=30)` and commits, timed, and runs it again to
show that the second run creates nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402

from fieldsvc import create_app  # noqa: E402
from fieldsvc.context import Actor  # noqa: E402
from fieldsvc.extensions import db  # noqa: E402
from fieldsvc.models import (  # noqa: E402
    Asset,
    Customer,
    MeterReading,
    Part,
    PmPlan,
    PmPlanAsset,
    PmPlanPart,
    PmPlanSkill,
    Product,
    ServiceContract,
    Site,
    Skill,
    SlaTarget,
    StockLevel,
    Warehouse,
    WorkOrder,
)
from fieldsvc.services.pm_generation import generate_due_work_orders  # noqa: E402

ACTOR = Actor(id=None, name="benchmark", source="cli")
REGIONS = {"Tehran": (35.70, 51.40), "Karaj": (35.83, 50.97), "Isfahan": (32.65, 51.67),
           "Shiraz": (29.61, 52.53)}
ZONES = ["Asia/Tehran"] * 6 + ["Asia/Dubai", "Europe/Istanbul", "America/New_York", "UTC"]
RULES = [  # (rule, weight)
    ("FREQ=WEEKLY;BYDAY={wd}", 20),
    ("FREQ=MONTHLY;BYMONTHDAY={md}", 25),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", 5),
    ("FREQ=MONTHLY;INTERVAL=3;BYDAY=SA;BYSETPOS=1", 15),
    ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15", 10),
    ("FREQ=YEARLY;BYMONTH={mo};BYMONTHDAY={md}", 10),
    ("FREQ=DAILY;INTERVAL=14", 5),
]
METER_SHARE = 0.10
PARTS_SHARE = 0.01
MULTI_ASSET_SHARE = 0.10
CHUNK = 5000


def insert_rows(session, model, rows) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(rows), CHUNK):
        stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
        ids += list(session.scalars(stmt, rows[i:i + CHUNK]))
    return ids


def add_rows(session, model, rows) -> None:
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[i:i + CHUNK])


def build(session, n_plans: int, now: datetime, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    stamp = {"created_at": now, "updated_at": now}
    skills = insert_rows(session, Skill, [{"code": f"skill-{i}", "name": f"Skill {i}"}
                                          for i in range(6)])
    products = insert_rows(session, Product, [
        {"code": f"PRD-{i}", "name": f"Product {i}", "kind": "printer", **stamp}
        for i in range(10)])
    parts = insert_rows(session, Part, [{"sku": f"PART-{i}", "name": f"Part {i}",
                                         "serialized": False, **stamp} for i in range(20)])
    warehouses = insert_rows(session, Warehouse, [
        {"code": f"WH-{name}", "name": f"{name} regional", "kind": "regional", "region": name,
         "latitude": lat, "longitude": lon, **stamp} for name, (lat, lon) in REGIONS.items()
    ] + [{"code": "WH-CENTRAL", "name": "Central", "kind": "central", "region": "Tehran",
          "latitude": 35.69, "longitude": 51.39, **stamp}])
    # Enough stock for most parts, none of the last three: some work orders miss parts.
    add_rows(session, StockLevel, [
        {"warehouse_id": wh, "part_id": p, "on_hand": 0 if i >= 17 else 400, "reserved": 0}
        for wh in warehouses for i, p in enumerate(parts)])

    n_customers = max(1, n_plans // 50)
    customers = insert_rows(session, Customer, [
        {"name": f"Customer {i}", "tier": "standard", "consent_marketing": False, **stamp}
        for i in range(n_customers)])
    site_rows, site_customer = [], []
    for c in customers:
        for _ in range(2):
            region = rng.choice(list(REGIONS))
            lat, lon = REGIONS[region]
            site_rows.append({"customer_id": c, "name": f"Site of {c}", "region": region,
                              "latitude": lat + rng.uniform(-0.2, 0.2),
                              "longitude": lon + rng.uniform(-0.2, 0.2), **stamp})
            site_customer.append(c)
    sites = insert_rows(session, Site, site_rows)
    contracts = insert_rows(session, ServiceContract, [
        {"customer_id": c, "number": f"C-{c}", "name": "Care", "starts_on": now.date()
         - timedelta(days=200), "ends_on": now.date() + timedelta(days=400),
         "timezone": "Asia/Tehran", "coverage_24x7": False, "coverage_days": "012345",
         "coverage_start": datetime(2000, 1, 1, 8).time(),
         "coverage_end": datetime(2000, 1, 1, 17).time(), **stamp}
        for c in customers[::3]])
    add_rows(session, SlaTarget, [
        {"contract_id": k, "priority": p, "response_minutes": 60 * 8 * p,
         "resolution_minutes": 60 * 24 * p} for k in contracts for p in (1, 2, 3, 4)])

    plan_assets: list[list[int]] = []
    asset_rows = []
    for _ in range(n_plans):
        count = 3 if rng.random() < MULTI_ASSET_SHARE else 1
        first = len(asset_rows)
        for _ in range(count):
            s = rng.randrange(len(sites))
            asset_rows.append({"product_id": rng.choice(products),
                               "customer_id": site_customer[s], "site_id": sites[s],
                               "serial_number": f"SN{len(asset_rows):09d}", **stamp})
        plan_assets.append(list(range(first, first + count)))
    assets = insert_rows(session, Asset, asset_rows)

    weights = [w for _, w in RULES]
    plan_rows, meter_assets = [], []
    for i in range(n_plans):
        tz_name = rng.choice(ZONES)
        if rng.random() < METER_SHARE:
            plan_rows.append({"name": f"Meter plan {i}", "rrule": None, "dtstart": None,
                              "timezone": tz_name, "meter_interval": 10000.0,
                              "meter_unit": "km", "lead_days": 7, "estimated_minutes": 90,
                              "priority": 4, "checklist": ["Oil", "Filters"], "active": True,
                              **stamp})
            meter_assets += plan_assets[i]
            continue
        pattern = rng.choices([r for r, _ in RULES], weights)[0]
        rule = pattern.format(wd=rng.choice(["MO", "TU", "WE", "TH", "SA", "SU"]),
                              md=rng.randint(1, 28), mo=rng.randint(1, 12))
        day = now.date() - timedelta(days=rng.randint(0, 730))
        start = datetime(day.year, day.month, day.day, rng.choice([8, 9, 10]),
                         tzinfo=ZoneInfo(tz_name)).astimezone(UTC)
        plan_rows.append({"name": f"Plan {i}", "description": "Routine maintenance.",
                          "rrule": rule, "dtstart": start, "timezone": tz_name,
                          "meter_interval": None, "meter_unit": None,
                          "lead_days": rng.choice([7, 14, 21]), "estimated_minutes": 60,
                          "priority": rng.choice([3, 4]),
                          "checklist": ["Inspect", "Clean", "Test"],
                          "active": rng.random() > 0.02, **stamp})
    plans = insert_rows(session, PmPlan, plan_rows)
    add_rows(session, PmPlanAsset, [{"pm_plan_id": p, "asset_id": assets[a]}
                                    for p, idx in zip(plans, plan_assets, strict=True)
                                    for a in idx])
    add_rows(session, PmPlanSkill, [{"pm_plan_id": p, "skill_id": rng.choice(skills),
                                     "min_level": rng.randint(1, 3)} for p in plans])
    with_parts = [p for p in plans if rng.random() < PARTS_SHARE]
    add_rows(session, PmPlanPart, [{"pm_plan_id": p, "part_id": part, "quantity": 1}
                                   for p in with_parts for part in rng.sample(parts, 2)])
    readings = []
    for a in meter_assets:
        value = rng.uniform(0, 60000)
        for k in range(3):  # three readings a week apart; many cross 10,000 km
            value += rng.uniform(0, 3000)
            readings.append({"asset_id": assets[a], "value": round(value, 1), "unit": "km",
                             "read_at": now - timedelta(days=14 - 7 * k, hours=1)})
    add_rows(session, MeterReading, readings)
    return {"customers": len(customers), "sites": len(sites), "assets": len(assets),
            "plans": len(plans), "meter plans": sum(1 for p in plan_rows if p["meter_unit"]),
            "plans with parts": len(with_parts), "readings": len(readings),
            "contracts": len(contracts)}


def run(app, now: datetime, days: int, label: str):
    with app.app_context():
        started, cpu = time.perf_counter(), time.process_time()
        report = generate_due_work_orders(db.session, now=now, horizon_days=days, actor=ACTOR)
        db.session.commit()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.session.remove()
    # On a shared machine wall time includes waiting for a core; CPU time is this process's
    # own work (with SQLite, the database's work too; not a PostgreSQL server's).
    print(f"\n{label}: {elapsed:.1f} s wall, {cpu:.1f} s CPU (" + ", ".join(
        f"{k} {v:.1f} s" for k, v in report.timings.items()) + ")")
    for line in report.lines()[1:]:
        if not line.startswith(("    work order", "    …")):
            print(line)
    return report, elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plans", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", help="default: SQLite in a temporary directory; a "
                    "PostgreSQL database's public schema is dropped and rebuilt")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="pm-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tmp,
                      "SECRET_KEY": "benchmark"})
    from flask_migrate import upgrade

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        dialect = db.engine.dialect.name
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        counts = build(db.session, args.plans, now, args.seed)
        db.session.commit()
        db.session.remove()
    print(f"{dialect}: fixture built in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{v} {k}" for k, v in counts.items()))

    first, t1 = run(app, now, args.days, f"first run (next {args.days} days)")
    second, t2 = run(app, now, args.days, "second run")
    with app.app_context():
        total = db.session.scalar(select(func.count(WorkOrder.id)))
        distinct = db.session.scalar(select(func.count()).select_from(
            select(WorkOrder.pm_plan_id, WorkOrder.asset_id, WorkOrder.pm_due_on)
            .distinct().subquery()))
    print(f"\nwork orders in the database: {total} ({distinct} distinct plan/asset/day)")
    ok = second.work_orders_created == 0 and total == distinct == first.work_orders_created
    print(f"first run {t1:.1f} s (target < 60 s), second run {t2:.1f} s, "
          f"second run created {second.work_orders_created}: {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
