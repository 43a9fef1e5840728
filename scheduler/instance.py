"""The compiled form of a Problem shared by the optimizer, the insertion and the explainer.

Not used by the validator, which recomputes everything on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .constraints import eligible, latest_return, parts_cover
from .matrix import CachedProvider, GeodesicProvider, StaticMatrix, compact, lazy_pairs
from .model import Break, Job, Location, Problem, Shift, Technician, Warehouse

_DEFAULT_PROVIDER = CachedProvider(GeodesicProvider())


@dataclass
class VehicleDay:
    """One technician on one day: the unit OR-Tools calls a vehicle."""

    index: int
    tech_index: int
    tech: Technician
    shift: Shift
    start_point: int
    end_point: int
    earliest_start: int
    latest_end: int
    max_span: int | None
    breaks: list[Break] = field(default_factory=list)
    absences: list[tuple[int, int]] = field(default_factory=list)


class Instance:
    """Points, travel matrix and technician-days of a problem."""

    def __init__(self, problem: Problem, lazy: bool = False) -> None:
        self.problem = problem
        self.points: list[Location | int] = []
        self._point_index: dict[Location | int, int] = {}
        for t in problem.technicians:
            self.point(t.start)
            self.point(t.end_location)
        self.job_point = [self.point(j.location) for j in problem.jobs]
        self.wh_point = [self.point(w.location) for w in problem.warehouses]
        if problem.matrix is not None:
            provider = StaticMatrix(problem.matrix.durations, problem.matrix.distances)
        else:
            provider = problem.provider or _DEFAULT_PROVIDER
        pairs = lazy_pairs(provider, self.points) if lazy else None
        if pairs is not None:
            self.dur, self.dist = pairs
        else:
            m = provider.matrix(self.points)
            # int32 when the values fit (seconds, metres): half the memory of int64; readers
            # index single pairs (int(...)) or copy the slices they need.
            self.dur = compact(m.durations)
            self.dist = compact(m.distances)
        self.job_index = {j.id: k for k, j in enumerate(problem.jobs)}
        self.tech_index = {t.id: k for k, t in enumerate(problem.technicians)}
        self._allowed_memo: dict[int, tuple[Job, list[int]]] = {}
        self.vehicles: list[VehicleDay] = []
        self.vehicle_of: dict[tuple[str, int], VehicleDay] = {}
        for ti, t in enumerate(problem.technicians):
            for s in sorted(t.shifts, key=lambda s: s.day):
                if problem.days is not None and not 0 <= s.day < problem.days:
                    continue
                if (t.id, s.day) in self.vehicle_of:
                    continue
                self._add_vehicle(ti, t, s)

    def point(self, loc: Location | int) -> int:
        k = self._point_index.get(loc)
        if k is None:
            k = len(self.points)
            self._point_index[loc] = k
            self.points.append(loc)
        return k

    def _add_vehicle(self, ti: int, t: Technician, s: Shift) -> None:
        latest_end = latest_return(t, s)
        earliest = s.start
        # A job already started on this day lets the route begin before the shift start.
        for j in self.problem.jobs:
            if (
                j.started
                and j.pinned_technician == t.id
                and j.pinned_start is not None
                and s.start - 43_200 <= j.pinned_start <= latest_end
            ):
                travel = int(self.dur[self._point_index[t.start], self.point(j.location)])
                earliest = min(earliest, j.pinned_start - travel)
        absences = []
        for a in t.absences:
            lo, hi = max(a.start, earliest), min(a.end, latest_end)
            if lo < hi:
                absences.append((lo, hi))
        # An absence covering the whole regular shift removes the day.
        if any(lo <= s.start and hi >= s.end for lo, hi in absences):
            return
        v = VehicleDay(
            index=len(self.vehicles),
            tech_index=ti,
            tech=t,
            shift=s,
            start_point=self._point_index[t.start],
            end_point=self._point_index[t.end_location],
            earliest_start=earliest,
            latest_end=latest_end,
            max_span=t.max_work,
            breaks=list(s.breaks),
            absences=sorted(absences),
        )
        self.vehicles.append(v)
        self.vehicle_of[(t.id, s.day)] = v

    # -- eligibility -------------------------------------------------------------------------

    def allowed_vehicles(self, job: Job) -> list[int]:
        """Vehicles that may serve the job, ignoring parts (the catalogue's eligibility).

        Memoised per job object (the territory split, the model and the repair pass all ask).
        """
        hit = self._allowed_memo.get(id(job))
        if hit is not None and hit[0] is job:
            return list(hit[1])
        out = [v.index for v in eligible(self, job, self.vehicles)]
        self._allowed_memo[id(job)] = (job, out)
        return list(out)

    def warehouse_for(self, job: Job) -> int | None:
        """The warehouse nearest to the job that stocks all its parts, if any."""
        if not job.parts:
            return None
        jp = self.point(job.location)
        best, best_d = None, None
        for wi, w in enumerate(self.problem.warehouses):
            if parts_cover(w.stock, job.parts):
                d = int(self.dur[self.wh_point[wi], jp])
                if best_d is None or d < best_d:
                    best, best_d = wi, d
        return best

    def warehouse(self, wi: int) -> Warehouse:
        return self.problem.warehouses[wi]


def arrival_after(prev_end: int, travel: int, gap_breaks) -> int:
    """Arrival time driving from ``prev_end`` and pausing for the breaks of the gap."""
    t, remaining = prev_end, travel
    for b_start, b_end, _ in sorted(gap_breaks):
        drive = min(remaining, max(0, b_start - t))
        t += drive
        remaining -= drive
        if remaining == 0:
            break
        t = max(t, b_end)
    return t + remaining
