"""Emergency insertion end to end: database snapshot + insertion + stored proposal.

    python benchmarks/dispatch_insertion.py --jobs 500 --techs 65 --solve-time 30 --emergencies 20

Builds a SQLite database (or DATABASE_URL) with a generated day of work orders, solves and
publishes it, then asks for an insertion proposal for each of N new P1 work orders, timing
`propose_insertion` (build_snapshot from the database, the last published plan, the search,
the stored proposal) — what POST /api/v1/work-orders/{id}/insertion does. Each proposal is
rolled back, so every emergency meets the same published plan.
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
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--techs", type=int, default=65)
    ap.add_argument("--solve-time", type=float, default=30.0)
    ap.add_argument("--emergencies", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    from flask_migrate import upgrade

    from fieldsvc import create_app
    from fieldsvc.context import Actor, acting_as
    from fieldsvc.dispatch.insertion import propose_insertion
    from fieldsvc.dispatch.publish import publish_run
    from fieldsvc.dispatch.runs import execute_run, request_run
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
        "sqlite:///" + tempfile.mkdtemp(prefix="fieldsvc-bench-") + "/bench.sqlite3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    rng = random.Random(args.seed)
    day = date.today() + timedelta(days=1)
    actor = Actor(id=None, name="bench", source="cli")
    with app.app_context(), acting_as(actor):
        upgrade()
        s = db.session
        s.info["audit_disabled"] = True  # seeding is not what we measure
        skills = [Skill(code=c, name=c) for c in ("hvac", "electrical", "plumbing", "network")]
        s.add_all(skills)
        s.flush()
        for k in range(args.techs):
            t = Technician(code=f"B-{k}", name=f"Tech {k}", territory="bench",
                           home_latitude=CENTER[0] + rng.uniform(-0.2, 0.2),
                           home_longitude=CENTER[1] + rng.uniform(-0.3, 0.3))
            for sk in rng.sample(skills, 2):
                t.skills.append(TechnicianSkill(skill_id=sk.id, level=rng.randint(2, 5)))
            for wd in range(7):
                t.shifts.append(Shift(weekday=wd, start_time=time(8), end_time=time(17)))
            s.add(t)
        customer = Customer(name="Bench customer")
        s.add(customer)
        s.flush()

        def order(priority: int) -> WorkOrder:
            site = Site(customer_id=customer.id, name="site", address="x", territory="bench",
                        latitude=CENTER[0] + rng.uniform(-0.2, 0.2),
                        longitude=CENTER[1] + rng.uniform(-0.3, 0.3))
            s.add(site)
            s.flush()
            wo = WorkOrder(customer_id=customer.id, site_id=site.id, summary="job",
                           type=WorkOrderType.BREAKDOWN, priority=priority,
                           estimated_minutes=rng.choice([30, 45, 60]))
            wo.skills.append(WorkOrderSkill(skill_id=rng.choice(skills).id, min_level=1))
            s.add(wo)
            return wo

        for _ in range(args.jobs):
            order(rng.randint(2, 4))
        s.commit()
        run = request_run(s, actor, plan_date=day, territory="bench",
                          time_limit=args.solve_time)
        s.commit()
        run = execute_run(s, run.id, app.config["DEFAULT_TIMEZONE"])
        report = publish_run(s, run, actor)
        s.commit()
        print(f"published run {run.id}: {len(report.scheduled)} work orders scheduled of "
              f"{args.jobs}, {len(run.result['plan']['routes'])} routes, solve "
              f"{run.solve_seconds:.1f} s")
        times, search, moved, placed = [], [], [], 0
        for _ in range(args.emergencies):
            wo = order(1)
            s.commit()
            t0 = clock.perf_counter()
            try:
                proposal = propose_insertion(s, wo, actor, plan_date=day,
                                             timezone=app.config["DEFAULT_TIMEZONE"])
                placed += 1
                moved.append(len(proposal.proposal["eta_changes"]))
                search.append(proposal.proposal["seconds"])
            except Exception as exc:  # no room: still timed
                print(f"  work order {wo.id}: {exc}")
            times.append(clock.perf_counter() - t0)
            s.rollback()
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"emergencies {len(times)}: placed {placed}; end-to-end seconds median "
              f"{statistics.median(times):.3f}, p95 {p95:.3f}, max {times[-1]:.3f}; search "
              f"median {statistics.median(search) if search else 0:.3f}; ETA changes median "
              f"{statistics.median(moved) if moved else 0}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
