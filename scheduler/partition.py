"""Territory split of a large day: groups of technicians with the work they can carry.

A day with many jobs is solved territory by territory (OR-Tools' search slows down more than
linearly with the size of the model); the whole-day ruin-and-recreate phase afterwards lets
work cross territory borders again. The split:

1. technicians: k-means on their homes, then rebalanced so that every territory gets about
   the same number of technicians (k-means alone left one territory with 2 technicians);
2. jobs, hardest first (fewest eligible technicians, then priority): to the territory whose
   nearest eligible technician is closest, as long as the territory's work stays under its
   shift capacity (``FILL`` of it); else to the least loaded territory with an eligible
   technician, so no territory gets far more work than its technicians can do.
"""

from __future__ import annotations

import numpy as np

from .instance import Instance
from .model import Job, Location, Problem, Technician, TravelMatrix

SPLIT_JOBS = 300  # above this many jobs (and enough technicians) plan territory by territory
SPLIT_TARGET_JOBS = 220  # jobs per territory
FILL = 1.15  # a territory takes work up to this share of its technicians' shift time


class SliceProvider:
    """Serve sub-matrices of an already computed instance matrix."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst

    def matrix(self, points):
        idx = np.asarray([self.inst.point(p) for p in points], dtype=np.int64)
        sub = np.ix_(idx, idx)
        return TravelMatrix(durations=self.inst.dur[sub], distances=self.inst.dist[sub])


def should_split(problem: Problem) -> bool:
    return (
        len(problem.jobs) > SPLIT_JOBS
        and len(problem.technicians) >= 2 * territory_count(problem)
        and problem.matrix is None
        and all(isinstance(t.start, Location) for t in problem.technicians)
    )


def territory_count(problem: Problem) -> int:
    return -(-len(problem.jobs) // SPLIT_TARGET_JOBS)


def _tech_groups(techs: list[Technician], k: int, seed: int) -> np.ndarray:
    """Label per technician: k-means on homes, then at most ceil(n / k) per territory."""
    xy = np.array([[t.start.lat, t.start.lon] for t in techs])
    rng = np.random.default_rng(seed)
    centers = xy[rng.choice(len(techs), size=k, replace=False)]
    for _ in range(25):
        label = np.argmin(((xy[:, None, :] - centers[None, :, :]) ** 2).sum(-1), axis=1)
        for c in range(k):
            if (label == c).any():
                centers[c] = xy[label == c].mean(axis=0)
    d = ((xy[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    size = -(-len(techs) // k)
    # Technicians with the most to lose by not getting their nearest centre choose first.
    srt = np.sort(d, axis=1)
    regret = srt[:, 1] - srt[:, 0] if k > 1 else np.zeros(len(techs))
    label = np.full(len(techs), -1)
    count = np.zeros(k, dtype=int)
    for ti in np.argsort(-regret, kind="stable"):
        for c in np.argsort(d[ti], kind="stable"):
            if count[c] < size:
                label[ti] = c
                count[c] += 1
                break
    return label


def territories(inst: Instance, k: int, seed: int) -> list[tuple[list[Technician], list[Job]]]:
    """Split the problem into ``k`` territories (technicians, jobs); empty ones dropped."""
    problem = inst.problem
    techs = problem.technicians
    label = _tech_groups(techs, k, seed)
    capacity = np.zeros(k)
    for v in inst.vehicles:
        capacity[label[v.tech_index]] += max(1, v.shift.end - v.shift.start)
    load = np.zeros(k)
    groups: list[tuple[list, list]] = [([], []) for _ in range(k)]
    for ti, t in enumerate(techs):
        groups[label[ti]][0].append(t)
    allowed = {id(j): inst.allowed_vehicles(j) for j in problem.jobs}
    order = sorted(
        problem.jobs, key=lambda j: (len(allowed[id(j)]) or 10**9, j.priority, j.id)
    )
    for job in order:
        vs = allowed[id(job)]
        jp = inst.point(job.location)
        if not vs:
            d = [int(inst.dur[inst.point(t.start), jp]) for t in techs]
            groups[label[int(np.argmin(d))]][1].append(job)
            continue
        near: dict[int, int] = {}
        for vi in vs:
            v = inst.vehicles[vi]
            c = int(label[v.tech_index])
            d = int(inst.dur[v.start_point, jp])
            if c not in near or d < near[c]:
                near[c] = d
        fits = [c for c in near if load[c] + job.duration <= FILL * capacity[c]]
        if fits:
            c = min(fits, key=lambda c: (near[c], c))
        else:
            c = min(near, key=lambda c: (load[c] / max(1.0, capacity[c]), near[c]))
        load[c] += job.duration
        groups[c][1].append(job)
    # Each territory keeps the problem's job order (OR-Tools' insertion ties follow it).
    rank = {id(j): k for k, j in enumerate(problem.jobs)}
    for _, jobs in groups:
        jobs.sort(key=lambda j: rank[id(j)])
    return [g for g in groups if g[0] or g[1]]
