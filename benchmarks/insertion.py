"""Emergency-insertion latency on a published plan.

    python benchmarks/insertion.py --jobs 500 --techs 50 --solve-time 30 --emergencies 30

Solves a generated day once, then inserts each emergency (a P1 job at a random place) into
that published plan on its own, timing each call and validating each resulting plan.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from field_service import CENTER, SKILLS, generate  # noqa: E402

from scheduler import Job, Location, SolveParams, TimeWindow, insert_emergency, solve  # noqa: E402
from scheduler import validate as check  # noqa: E402

H = 3600


def emergencies(n: int, seed: int) -> list[Job]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        loc = Location(CENTER[0] + rng.uniform(-0.25, 0.25), CENTER[1] + rng.uniform(-0.35, 0.35))
        out.append(
            Job(
                id=f"E{k:03d}",
                location=loc,
                duration=rng.choice([30, 45, 60]) * 60,
                time_windows=[TimeWindow(8 * H, 17 * H)],
                required_skills={rng.choice(SKILLS): rng.choice([1, 2, 3])},
                priority=1,
                sla_due=rng.randint(10, 14) * H,
                parts={"P01": 1} if rng.random() < 0.2 else {},
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--techs", type=int, default=65)
    ap.add_argument("--solve-time", type=float, default=30.0)
    ap.add_argument("--emergencies", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    problem = generate(args.jobs, args.techs, seed=args.seed)
    plan = solve(problem, SolveParams(time_limit=args.solve_time))
    planned = len(problem.jobs) - len(plan.unassigned)
    print(
        f"published plan: {planned} jobs planned of {len(problem.jobs)}, "
        f"{len(plan.routes)} routes, violations {len(check(problem, plan))}"
    )
    times, inserted, displaced, moved, bad = [], 0, 0, [], 0
    for e in emergencies(args.emergencies, args.seed + 7):
        t0 = time.perf_counter()
        res = insert_emergency(problem, plan, e, time_limit=1.0)
        times.append(time.perf_counter() - t0)
        problem.jobs.append(e)
        bad += len(check(problem, res.plan))
        problem.jobs.pop()
        if res.technician_id:
            inserted += 1
            displaced += len(res.displaced)
            moved.append(len(res.eta_changes))
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"emergencies {len(times)}: inserted {inserted}, displaced {displaced}, "
        f"ETA changes per insertion median {statistics.median(moved) if moved else 0}, "
        f"violations {bad}"
    )
    print(f"latency s: median {statistics.median(times):.3f}  p95 {p95:.3f}  max {times[-1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
