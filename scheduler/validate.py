"""An independent checker: every hard constraint of a plan, recomputed from scratch.

It rebuilds the travel matrix itself (sharing no timing code with the optimizer) and runs
every rule of the catalogue (``scheduler/constraints.py``) over every route, listing each
violation it finds.
"""

from __future__ import annotations

import numpy as np

from . import constraints
from .matrix import GeodesicProvider, StaticMatrix
from .model import Location, Plan, Problem, Violation


class _Travel:
    def __init__(self, problem: Problem) -> None:
        pts: list[Location | int] = []
        seen: dict[Location | int, int] = {}
        places = [t.start for t in problem.technicians]
        places += [t.end_location for t in problem.technicians]
        places += [j.location for j in problem.jobs] + [w.location for w in problem.warehouses]
        for p in places:
            if p not in seen:
                seen[p] = len(pts)
                pts.append(p)
        if problem.matrix is not None:
            m = StaticMatrix(problem.matrix.durations, problem.matrix.distances).matrix(pts)
        else:
            m = (problem.provider or GeodesicProvider()).matrix(pts)
        self.index = seen
        self.dur = np.asarray(m.durations)

    def __call__(self, a, b) -> int:
        return int(self.dur[self.index[a], self.index[b]])


def validate(problem: Problem, plan: Plan) -> list[Violation]:
    """Return every hard-constraint violation of ``plan`` (empty when the plan is valid)."""
    return constraints.violations(problem, plan, _Travel(problem))
