"""Speed of the ruin-and-recreate kernel: iterations per CPU second on Solomon instances.

    python benchmarks/rr_speed.py [--seconds 5] [--bench-dir DIR] [R101 R1_4_1 ...]

Each instance gets a start plan from OR-Tools alone (1 s, the phase off), then
`scheduler.ruin_recreate.improve` runs on it for `--seconds` of wall time; the figure is
its iterations divided by this process's CPU time over the phase (so a busy machine lowers
the iterations, not the rate). The kernel is loaded before the first instance. To compare
two versions of the kernel, run this file from a checkout of each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from instances import DEFAULT_BENCH, read_solomon  # noqa: E402
from solomon import to_problem  # noqa: E402

from scheduler import SolveParams, solve  # noqa: E402
from scheduler.instance import Instance  # noqa: E402
from scheduler.ruin_recreate import improve, warm_up  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instances", nargs="*", default=["R101", "R1_4_1"])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH)
    args = ap.parse_args(argv)
    print(f"kernel loaded in {warm_up():.2f} s")
    print(
        f"{'instance':10} {'iterations':>11} {'cpu s':>7} {'per cpu s':>10} "
        f"{'cost before':>12} {'after':>12}"
    )
    for name in args.instances:
        problem = to_problem(read_solomon(name, args.bench_dir))
        start = solve(problem, SolveParams(time_limit=1.0, ruin_recreate=False))
        inst = Instance(problem)
        cpu0 = time.process_time()
        _, info = improve(inst, start, time.monotonic() + args.seconds)
        cpu = time.process_time() - cpu0
        print(
            f"{name:10} {info['iterations']:>11,} {cpu:>7.2f} "
            f"{info['iterations'] / cpu:>10,.0f} {info['cost_before']:>12,.0f} "
            f"{info['cost_after']:>12,.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
