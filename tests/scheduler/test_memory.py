"""Solving the same day again and again in one process keeps memory flat (workers run for
days; each OR-Tools model must be freed after its run)."""

from __future__ import annotations

import gc

import numpy as np
from sched_factories import H, job, problem, tech, window

from scheduler import Break, SolveParams, TimeWindow, TravelMatrix, solve, validate

RUNS = 10


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


def busy_day():
    """200 jobs, 20 technicians with a lunch break, on random points of a 60 km square."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 60, size=(221, 2))
    km = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    m = TravelMatrix(np.ceil(km * 60).astype(np.int64), np.rint(km * 1000).astype(np.int64))
    lunch = (Break(TimeWindow(int(11.5 * H), int(13.5 * H)), 1800),)
    techs = [tech(f"T{k}", home=k, breaks=lunch) for k in range(20)]
    jobs = []
    for k in range(200):
        h = int(rng.integers(8, 15))
        windows = [window(h, h + 2)] if rng.random() < 0.5 else []
        jobs.append(job(f"J{k}", 21 + k, int(rng.integers(20, 90)), time_windows=windows,
                        priority=int(rng.integers(1, 5))))  # fmt: skip
    return problem(techs, jobs, matrix=m)


def test_repeated_solves_keep_memory_flat():
    p = busy_day()
    seen = []
    params = SolveParams(time_limit=1.0)
    sizes = []
    for _ in range(RUNS):
        plan = solve(p, params, progress=lambda f, msg: seen.append(f))
        assert validate(p, plan) == []
        del plan
        gc.collect()
        sizes.append(rss_mb())
    assert seen  # the progress callback was called
    # After a warm-up (allocator pools, numba, caches) memory must not grow with each run:
    # the leak this guards against held about 25 MB per run of this day.
    growth = sizes[-1] - sizes[2]
    assert growth < 20, [round(s) for s in sizes]
