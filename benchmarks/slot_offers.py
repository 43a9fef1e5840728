"""Slot finder latency end to end: what POST /api/v1/work-orders/{id}/slot-offers does.

    python benchmarks/slot_offers.py --world demo --days 3 --searches 20
    python benchmarks/slot_offers.py --world generated --jobs 1000 --techs 120 --days 3

`demo` seeds the demo data set and publishes an optimized plan for its next working day
(all territories); `generated` builds one territory with --jobs work orders and --techs
technicians around Tehran and publishes its plan. Then, for each of --searches new work
orders, `find_slots` is timed over --days days from the published day (snapshot of each
published day from the database, the plan in force, the search, the stored offers). Each
search is rolled back, so every one meets the same published plan. SQLite file unless
DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time as clock
from datetime import date, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CENTER = (35.70, 51.40)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", choices=("demo", "generated"), default="demo")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--techs", type=int, default=120)
    ap.add_argument("--solve-time", type=float, default=30.0)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--searches", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import select

    from fieldsvc import create_app
    from fieldsvc.context import Actor, acting_as
    from fieldsvc.demo.generator import seed_demo
    from fieldsvc.dispatch.publish import publish_run
    from fieldsvc.dispatch.runs import execute_run, request_run
    from fieldsvc.dispatch.slots import find_slots
    from fieldsvc.extensions import db
    from fieldsvc.models import (
        Customer,
        Shift,
        Site,
        Skill,
        Technician,
        TechnicianSkill,
        WorkOrder,
        WorkOrderSkill,
    )
    from fieldsvc.models.enums import WorkOrderType

    url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + tempfile.mkdtemp(prefix="fieldsvc-bench-") + "/bench.sqlite3"
    )
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    tz = app.config["DEFAULT_TIMEZONE"]
    rng = random.Random(args.seed)
    actor = Actor(id=None, name="bench", source="cli")
    with app.app_context(), acting_as(actor):
        upgrade()
        s = db.session
        s.info["audit_disabled"] = True  # seeding is not what we measure
        if args.world == "demo":
            summary = seed_demo(s, actor, seed=args.seed)
            s.commit()
            day = summary.next_working_day
            territory = None
            skills = list(s.scalars(select(Skill)))
            # New breakdowns like the demo's own: at its sites, needing its jobs' skills.
            sites = list(s.scalars(select(Site).where(Site.latitude.is_not(None))))
            needed = list(s.scalars(select(WorkOrderSkill.skill_id)))
            skills = [sk for sk in skills if sk.id in set(needed)] or skills
        else:
            day = date.today() + timedelta(days=1)
            territory = "bench"
            skills = [Skill(code=c, name=c) for c in ("hvac", "electrical", "plumbing", "network")]
            s.add_all(skills)
            s.flush()
            for k in range(args.techs):
                t = Technician(
                    code=f"B-{k}",
                    name=f"Tech {k}",
                    territory=territory,
                    home_latitude=CENTER[0] + rng.uniform(-0.2, 0.2),
                    home_longitude=CENTER[1] + rng.uniform(-0.3, 0.3),
                )
                for sk in rng.sample(skills, 2):
                    t.skills.append(TechnicianSkill(skill_id=sk.id, level=rng.randint(2, 5)))
                for wd in range(7):
                    t.shifts.append(Shift(weekday=wd, start_time=time(8), end_time=time(17)))
                s.add(t)
            s.flush()
            sites = []
        customer = Customer(name="Bench customer")
        s.add(customer)
        s.flush()

        def order(priority: int) -> WorkOrder:
            if sites:
                base = rng.choice(sites)
                lat, lon, terr = base.latitude, base.longitude, base.territory
            else:
                lat = CENTER[0] + rng.uniform(-0.2, 0.2)
                lon = CENTER[1] + rng.uniform(-0.3, 0.3)
                terr = territory
            site = Site(
                customer_id=customer.id,
                name="site",
                address="x",
                territory=terr,
                latitude=lat + rng.uniform(-0.01, 0.01),
                longitude=lon + rng.uniform(-0.01, 0.01),
            )
            s.add(site)
            s.flush()
            wo = WorkOrder(
                customer_id=customer.id,
                site_id=site.id,
                summary="job",
                type=WorkOrderType.BREAKDOWN,
                priority=priority,
                estimated_minutes=rng.choice([30, 45, 60]),
            )
            wo.skills.append(WorkOrderSkill(skill_id=rng.choice(skills).id, min_level=1))
            s.add(wo)
            return wo

        if args.world == "generated":
            for _ in range(args.jobs):
                order(rng.randint(2, 4))
        s.commit()
        run = request_run(s, actor, plan_date=day, territory=territory, time_limit=args.solve_time)
        s.commit()
        run = execute_run(s, run.id, tz)
        report = publish_run(s, run, actor)
        s.commit()
        print(
            f"{args.world}: published run {run.id} for {day}: {len(report.scheduled)} work "
            f"orders scheduled, {len(run.result['plan']['routes'])} routes, solve "
            f"{run.solve_seconds:.1f} s"
        )
        times, search, offered, why = [], [], [], {}
        for _ in range(args.searches):
            wo = order(rng.randint(2, 3))
            s.commit()
            t0 = clock.perf_counter()
            found = find_slots(s, wo, actor, days=args.days, earliest=day, timezone=tz)
            times.append(clock.perf_counter() - t0)
            offered.append(len(found.offers))
            for skipped in found.days_skipped:
                why[skipped["reason"]] = why.get(skipped["reason"], 0) + 1
            search.append(found.search_seconds)
            s.rollback()
        print("seconds per search, in order: " + " ".join(f"{t:.3f}" for t in times))
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"searches {len(times)} over {args.days} days: offers per search median "
            f"{statistics.median(offered)}, min {min(offered)}; seconds median "
            f"{statistics.median(times):.3f}, p95 {p95:.3f}, max {times[-1]:.3f}"
        )
        print(
            f"search alone median {statistics.median(search):.3f}, max {max(search):.3f}; "
            f"days skipped: {why}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
