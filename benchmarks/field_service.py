"""Field-service benchmark: generated days, our optimizer vs VROOM at equal time.

    python benchmarks/field_service.py --sizes 100x10 500x50 1000x100 --time 30 --peers
    python benchmarks/field_service.py --sizes 200x20 --time 10 --seeds 1 2 3 --peers
    python benchmarks/field_service.py --sizes 200x20 --curve 1 2 5 10 30 --peers

Prints per size: solve time, assigned share, objective parts and the validator's verdict;
with ``--peers`` VROOM (pyvroom) solves the same instance with the same time budget and its
solution is converted to a Plan and checked by the same validator.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler import (  # noqa: E402
    Break,
    Job,
    Location,
    Plan,
    Problem,
    Shift,
    SolveParams,
    Stop,
    Technician,
    TimeWindow,
    Unassigned,
    Warehouse,
    solve,
    validate,
)
from scheduler.instance import Instance  # noqa: E402
from scheduler.model import Route  # noqa: E402
from scheduler.objective import objective_parts  # noqa: E402
from scheduler.ruin_recreate import warm_up  # noqa: E402

SKILLS = ["hvac", "electrical", "plumbing", "printer", "network", "gas"]
PARTS = [f"P{k:02d}" for k in range(10)]
CENTER = (48.85, 2.35)  # a metropolitan area about 60 x 60 km
H = 3600


def _point(rng: random.Random, spread: float = 0.27) -> Location:
    return Location(
        round(CENTER[0] + rng.uniform(-spread, spread), 5),
        round(CENTER[1] + rng.uniform(-spread, spread) * 1.5, 5),
    )


def generate(n_jobs: int, n_techs: int, seed: int = 0, days: int = 1) -> Problem:
    """A seeded, realistic field-service horizon."""
    rng = random.Random(seed)
    techs = []
    for k in range(n_techs):
        start_h = rng.choice([7, 8, 8, 8, 9])
        shifts = []
        for d in range(days):
            base = d * 86_400
            shifts.append(
                Shift(
                    day=d,
                    start=base + start_h * H,
                    end=base + (start_h + 9) * H,
                    breaks=(Break(TimeWindow(base + 11 * H + 1800, base + 13 * H + 1800), 1800),),
                )
            )
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.choice([2, 2, 3, 4]))}
        absences = []
        if rng.random() < 0.08:
            a = rng.choice([9, 14]) * H
            absences.append(TimeWindow(a, a + 2 * H))
        techs.append(
            Technician(
                id=f"T{k:03d}",
                start=_point(rng),
                shifts=shifts,
                absences=absences,
                skills=skills,
                van_stock={p: rng.randint(0, 3) for p in rng.sample(PARTS, 4)},
                max_work=10 * H + 1800,
                overtime_allowance=H,
                overtime_cost=1.5,
            )
        )
    warehouses = [
        Warehouse(id=f"W{k}", location=_point(rng, 0.12), stock={p: 50 for p in PARTS})
        for k in range(2)
    ]
    jobs = []
    for k in range(n_jobs):
        day = rng.randrange(days)
        base = day * 86_400
        r = rng.random()
        if r < 0.45:
            windows = [TimeWindow(base + 8 * H, base + 17 * H)]
        elif r < 0.7:
            windows = [TimeWindow(base + 8 * H, base + 12 * H)]
        elif r < 0.9:
            windows = [TimeWindow(base + 13 * H, base + 17 * H)]
        else:
            s = rng.randint(8, 15) * H
            windows = [TimeWindow(base + s, base + s + 2 * H)]
        if days > 1 and rng.random() < 0.3:
            windows = [TimeWindow(8 * H, (days - 1) * 86_400 + 17 * H)]
        prio = rng.choices([1, 2, 3, 4], weights=[5, 15, 50, 30])[0]
        dur = rng.choice([20, 30, 30, 45, 45, 60, 60, 90]) * 60
        skill = rng.choice(SKILLS)
        req = {skill: rng.choices([1, 2, 3, 4], weights=[40, 30, 20, 10])[0]}
        if rng.random() < 0.1:
            req[rng.choice([s for s in SKILLS if s != skill])] = 1
        parts = {rng.choice(PARTS): 1} if rng.random() < 0.2 else {}
        sla = base + (12 if prio == 1 else 17) * H if prio <= 2 else None
        jobs.append(
            Job(
                id=f"J{k:04d}",
                location=_point(rng),
                duration=dur,
                duration_by_level={4: int(dur * 0.8)} if rng.random() < 0.5 else {},
                time_windows=windows,
                required_skills=req,
                priority=prio,
                sla_due=sla,
                parts=parts,
                customer_id=f"C{rng.randrange(n_jobs)}",
            )
        )
    origin = dt.datetime(2025, 3, 3, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    return Problem(origin=origin, technicians=techs, jobs=jobs, warehouses=warehouses)


def _parse(raw: str):
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def priority_weight(p: int) -> int:
    return 5 - p


# -- VROOM ---------------------------------------------------------------------------------


def solve_vroom(
    problem: Problem, time_limit: float, overtime: bool = False
) -> tuple[Plan, float]:
    """Solve with VROOM on the same matrix; parts are honoured by restricting jobs to vans
    that carry them (VROOM has no warehouse stops). ``overtime``: VROOM may use the
    overtime allowance too (its shift ends at the latest return, at no extra cost)."""
    import numpy as np
    import vroom

    inst = Instance(problem)
    t0 = time.monotonic()
    skill_ids: dict[tuple[str, int], int] = {}

    def sid(name: str, lvl: int) -> int:
        return skill_ids.setdefault((name, lvl), len(skill_ids) + 1)

    # Skill "s>=l" per level; a technician with level L holds s>=1..L.
    vs = vroom.Input()
    vs.set_durations_matrix("car", np.asarray(inst.dur, dtype=np.uint32))
    vehicles = {}
    vehicles_by_tech = {t.id: t for t in problem.technicians}
    for v in inst.vehicles:
        t = v.tech
        sk = {sid(s, lv) for s, lvl in t.skills.items() for lv in range(1, lvl + 1)}
        sk |= {sid("part:" + p, 1) for p, q in t.van_stock.items() if q > 0}
        sk.add(sid("vehicle", v.index))
        breaks = [
            vroom.Break(
                id=1000 * v.index + k,
                time_windows=[vroom.TimeWindow(b.window.start, b.window.end)],
                service=b.duration,
            )
            for k, b in enumerate(v.breaks)
        ]
        for k, (lo, hi) in enumerate(v.absences):
            breaks.append(
                vroom.Break(
                    id=1000 * v.index + 500 + k,
                    time_windows=[vroom.TimeWindow(lo, lo)],
                    service=hi - lo,
                )
            )
        breaks.sort(key=lambda b: (b.time_windows[0].start, b.id))
        vs.add_vehicle(
            vroom.Vehicle(
                id=v.index,
                start=v.start_point,
                end=v.end_point,
                profile="car",
                time_window=vroom.TimeWindow(
                    v.shift.start, v.latest_end if overtime else v.shift.end
                ),
                skills=sk,
                breaks=breaks,
                max_travel_time=None,
            )
        )
        vehicles[v.index] = v
    jobs_by_id = {}
    for ji, job in enumerate(problem.jobs):
        allowed = inst.allowed_vehicles(job)
        if not allowed:
            continue
        sk = {sid(s, lvl) for s, lvl in job.required_skills.items()}
        sk |= {sid("part:" + p, 1) for p in job.parts}
        windows = [vroom.TimeWindow(w.start, w.end) for w in job.time_windows]
        vs.add_job(
            vroom.Job(
                id=ji,
                location=inst.job_point[ji],
                default_service=job.duration,
                skills=sk,
                priority=[0, 100, 30, 10, 3][job.priority],
                time_windows=windows,
            )
        )
        jobs_by_id[ji] = job
    sol = vs.solve(exploration_level=5, nb_threads=1, timeout=dt.timedelta(seconds=time_limit))
    seconds = time.monotonic() - t0
    plan = Plan()
    routes = sol.routes
    served = set()
    for vid, grp in routes.groupby("vehicle_id"):
        v = vehicles[int(vid)]
        stops = []
        prev = v.start_point
        start = end = None
        for row in grp.itertuples():
            if row.type == "start":
                start = int(row.arrival)
            elif row.type == "end":
                end = int(row.arrival)
            elif row.type == "break":
                kind = "absence" if int(row.id) % 1000 >= 500 else "break"
                a = int(row.arrival) + int(row.waiting_time)
                stops.append(Stop(kind=kind, arrival=a, start=a, end=a + int(row.service)))
            elif row.type == "job":
                ji = int(row.id)
                job = problem.jobs[ji]
                pt = inst.job_point[ji]
                a = int(row.arrival)
                s = a + int(row.waiting_time)
                # VROOM planned the default (longest) duration; a level-4 technician finishes
                # earlier and then waits, which keeps VROOM's schedule valid.
                stops.append(
                    Stop(
                        kind="job",
                        job_id=job.id,
                        arrival=a,
                        start=s,
                        end=s + job.duration_for(v.tech),
                        travel_seconds=int(inst.dur[prev, pt]),
                        travel_metres=int(inst.dist[prev, pt]),
                    )
                )
                served.add(job.id)
                prev = pt
        plan.routes.append(
            Route(
                technician_id=v.tech.id,
                day=v.shift.day,
                start=start,
                end=end,
                stops=stops,
                return_travel_seconds=int(inst.dur[prev, v.end_point]),
                return_travel_metres=int(inst.dist[prev, v.end_point]),
            )
        )
    # VROOM sees van parts as skills but not as stock: drop the jobs whose part ran out.
    jobs = {j.id: j for j in problem.jobs}
    for route in plan.routes:
        stock = dict(vehicles_by_tech[route.technician_id].van_stock)
        keep = []
        for st in route.stops:
            job = jobs.get(st.job_id) if st.kind == "job" else None
            if job is not None and any(stock.get(p, 0) < q for p, q in job.parts.items()):
                served.discard(job.id)
                continue
            if job is not None:
                for p, q in job.parts.items():
                    stock[p] -= q
            keep.append(st)
        if len(keep) != len(route.stops):
            route.stops = keep
            _relink(inst, route)
    for job in problem.jobs:
        if job.id not in served:
            plan.unassigned[job.id] = Unassigned("vroom_unassigned", "not planned by VROOM")
    plan.objective = objective_parts(problem, plan, inst)
    plan.solve_seconds = round(seconds, 2)
    return plan, seconds


def _relink(inst: Instance, route: Route) -> None:
    """Recompute the travel legs of a route after stops were removed (times stay)."""
    v = inst.vehicle_of[(route.technician_id, route.day)]
    prev = v.start_point
    for st in route.stops:
        if st.kind != "job":
            continue
        pt = inst.job_point[inst.job_index[st.job_id]]
        st.travel_seconds, st.travel_metres = int(inst.dur[prev, pt]), int(inst.dist[prev, pt])
        st.arrival = max(st.arrival, 0)
        prev = pt
    route.return_travel_seconds = int(inst.dur[prev, v.end_point])
    route.return_travel_metres = int(inst.dist[prev, v.end_point])


def summary(problem: Problem, plan: Plan) -> dict:
    jobs = {j.id: j for j in problem.jobs}
    served = [jobs[j] for r in plan.routes for j in r.job_ids()]
    violations = validate(problem, plan)
    o = plan.objective
    value = sum(priority_weight(j.priority) for j in served)
    most = sum(priority_weight(j.priority) for j in problem.jobs)
    phases = plan.stats.get("phases", [])
    skipped = sorted(
        {p["skipped"] for p in phases if p.get("phase") == "ruin-and-recreate" and "skipped" in p}
    )
    return {
        "seconds": plan.solve_seconds,
        "assigned": len(served),
        "assigned_share": round(len(served) / len(problem.jobs), 4),
        "prio_weighted_served": value,
        "value_share": round(value / most, 4) if most else 1.0,
        "unassigned_by_priority": [o.get(f"unassigned_p{p}", 0) for p in range(1, 5)],
        "travel_hours": round(o.get("travel_seconds", 0) / 3600, 1),
        "sla_late_hours": round(o.get("sla_lateness_seconds", 0) / 3600, 1),
        "overtime_hours": round(o.get("overtime_seconds", 0) / 3600, 1),
        "violations": len(violations),
        "violation_codes": sorted({v.code for v in violations}),
        **({"rr_skip": skipped or None} if phases else {}),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["100x10", "250x25", "500x50", "1000x100"])
    ap.add_argument("--time", type=float, default=30.0, help="seconds per instance")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", help="several seeded days per size")
    ap.add_argument(
        "--curve", type=float, nargs="+", metavar="SECONDS",
        help="value over time: solve each day at each of these time limits",
    )  # fmt: skip
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--peers", action="store_true", help="also run VROOM at the same time")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--vroom-overtime", action="store_true",
        help="let VROOM work into the overtime allowance (free for it; ours pays for it)",
    )  # fmt: skip
    ap.add_argument(
        "--weights",
        choices=["default", "travel-only"],
        default="default",
        help="travel-only: drop the workload-balance and SLA-lateness terms (VROOM's objective "
        "is priorities, then travel); unassigned penalties stay",
    )
    ap.add_argument("--first", default=None, help="OR-Tools first solution strategy")
    ap.add_argument("--gls-lambda", type=float, default=None)
    ap.add_argument("--rr-share", type=float, default=None,
                    help="share of the time limit for the ruin-and-recreate phase")
    ap.add_argument(
        "--sorting",
        default=None,
        help="comma-separated InsertionSortingProperty names for LOCAL_CHEAPEST_INSERTION "
        "('' = OR-Tools' own order)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="OR-Tools search parameter override (as in solomon.py)",
    )
    args = ap.parse_args(argv)
    params = SolveParams(time_limit=args.time)
    if args.first:
        params.first_solution = args.first
    if args.gls_lambda is not None:
        params.gls_lambda = args.gls_lambda
    if args.rr_share is not None:
        params.ruin_recreate_share = args.rr_share
    if args.sorting is not None:
        params.insertion_sorting = tuple(x for x in args.sorting.split(",") if x)
    for item in args.set:
        key, _, raw = item.partition("=")
        params.overrides[key] = _parse(raw)
    # As the product's workers do at start: load (or compile) the kernel outside any timing.
    print(f"kernel warm-up (untimed): {warm_up():.2f} s", flush=True)
    results = {}
    seeds = args.seeds or [args.seed]
    times = args.curve or [args.time]
    for size in args.sizes:
        n_jobs, n_techs = (int(x) for x in size.split("x"))
        for seed in seeds:
            for limit in times:
                problem = generate(n_jobs, n_techs, seed=seed, days=args.days)
                if args.weights == "travel-only":
                    problem.weights.balance = 0.0
                    problem.weights.sla_lateness = 0.0
                plan = solve(problem, replace(params, time_limit=limit))
                row = {"ours": summary(problem, plan)}
                if args.peers:
                    vplan, _ = solve_vroom(problem, limit, args.vroom_overtime)
                    row["vroom"] = summary(problem, vplan)
                key = f"{size} seed {seed} {limit:g}s"
                results[key] = row
                for who, s in row.items():
                    print(f"{key:>22} {who:6} " + json.dumps(s), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
