"""Plain input and output objects of the optimizer (no framework imports).

Times are integer seconds relative to ``Problem.origin``. A location is either a
:class:`Location` (latitude, longitude) when the travel matrix comes from a provider, or an
``int`` index into ``Problem.matrix`` when the matrix is given directly (benchmarks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

DAY = 86_400

# Machine codes of unassigned-job reasons (``Plan.unassigned[job_id].code``).
NO_SKILL = "no_skill"
NO_SKILLED_ON_DAY = "no_skilled_technician_on_day"
PINNED_UNAVAILABLE = "pinned_technician_unavailable"
WINDOW_UNREACHABLE = "time_window_unreachable"
PARTS_UNAVAILABLE = "parts_unavailable"
CAPACITY_EXHAUSTED = "capacity_exhausted"
TOO_LONG = "duration_exceeds_shift"
DEMAND_TOO_LARGE = "demand_exceeds_capacity"
INVALID = "invalid_input"

STOP_JOB = "job"
STOP_BREAK = "break"
STOP_WAREHOUSE = "warehouse"
STOP_ABSENCE = "absence"


@dataclass(frozen=True)
class Location:
    """A point on the earth."""

    lat: float
    lon: float


@dataclass(frozen=True)
class TimeWindow:
    """A closed interval ``[start, end]`` of seconds since the origin."""

    start: int
    end: int

    def contains(self, t: int) -> bool:
        return self.start <= t <= self.end


@dataclass(frozen=True)
class Break:
    """A break of ``duration`` seconds that must start inside ``window``.

    Breaks are taken between visits (they may split a drive), before the route starts or after
    it ends; never during a job.
    """

    window: TimeWindow
    duration: int


@dataclass(frozen=True)
class Shift:
    """One working day of a technician: regular hours and the breaks of that day.

    ``day`` is the index of the planning day (0 = the day of ``Problem.origin``); ``start`` and
    ``end`` are absolute seconds since the origin.
    """

    day: int
    start: int
    end: int
    breaks: tuple[Break, ...] = ()


@dataclass
class Technician:
    """A technician (one vehicle per working day)."""

    id: str
    start: Location | int
    end: Location | int | None = None  # None: back to ``start``
    shifts: list[Shift] = field(default_factory=list)
    absences: list[TimeWindow] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)
    van_stock: dict[str, int] = field(default_factory=dict)
    capacity: int | None = None  # van capacity (same unit as Job.demand); None: unlimited
    max_work: int | None = None  # longest route span (departure to return), seconds per day
    overtime_allowance: int = 0  # seconds the route may end after the shift end
    overtime_cost: float = 1.0  # relative cost of an overtime second (times Weights.overtime)

    @property
    def end_location(self) -> Location | int:
        return self.start if self.end is None else self.end


@dataclass
class Job:
    """One visit to do.

    ``time_windows`` constrain the start of the service. ``duration_by_level`` maps a
    technician level (the technician's lowest level over the job's required skills) to the
    duration; levels not listed use the nearest lower listed level, else ``duration``.
    """

    id: str
    location: Location | int
    duration: int
    time_windows: list[TimeWindow] = field(default_factory=list)  # empty: any time
    required_skills: dict[str, int] = field(default_factory=dict)
    priority: int = 3  # 1 (emergency) .. 4 (low)
    sla_due: int | None = None  # latest start without SLA lateness
    parts: dict[str, int] = field(default_factory=dict)
    duration_by_level: dict[int, int] = field(default_factory=dict)
    pinned_technician: str | None = None
    pinned_start: int | None = None
    started: bool = False  # already started: stays with pinned_technician at pinned_start
    demand: int = 0
    customer_id: str | None = None
    last_technician: str | None = None  # who served this customer last (continuity)

    def level_of(self, tech: Technician) -> int:
        """The technician's level for this job (lowest over required skills; 5 if none)."""
        if not self.required_skills:
            return max(tech.skills.values(), default=5)
        return min(tech.skills.get(s, 0) for s in self.required_skills)

    def qualified(self, tech: Technician) -> bool:
        return all(tech.skills.get(s, 0) >= lvl for s, lvl in self.required_skills.items())

    def duration_for(self, tech: Technician) -> int:
        if not self.duration_by_level:
            return self.duration
        level = self.level_of(tech)
        listed = [lv for lv in self.duration_by_level if lv <= level]
        return self.duration_by_level[max(listed)] if listed else self.duration


@dataclass
class Warehouse:
    """A place where a technician can pick up parts (``stock`` is shared by all routes)."""

    id: str
    location: Location | int
    stock: dict[str, int] = field(default_factory=dict)
    service_time: int = 600  # seconds to pick up parts
    opening: TimeWindow | None = None  # None: always open


@dataclass
class Weights:
    """Objective weights, in cost units (one unit = one second of travel at ``travel=1``).

    Unassigned penalties dominate everything else: a P1 job is worth far more than any
    amount of travel a day can contain.
    """

    unassigned: dict[int, int] = field(
        default_factory=lambda: {1: 50_000_000, 2: 5_000_000, 3: 1_000_000, 4: 250_000}
    )
    sla_risk: int = 500_000  # extra penalty for leaving a job with an SLA due unassigned
    sla_lateness: float = 20.0  # per second started after sla_due
    travel: float = 1.0  # per second of travel
    overtime: float = 2.0  # per second after the shift end (times Technician.overtime_cost)
    change: int = 1_800  # per job moved to another technician/day than the previous plan
    balance: float = 0.5  # per second of work above a technician's fair share
    continuity: int = 600  # per job whose customer was served last by another technician
    distance: float = 0.0  # per metre (benchmarks minimise distance with travel=0, distance=1)
    vehicle: int = 0  # fixed cost per used technician-day


@dataclass
class SolveParams:
    """Search settings."""

    time_limit: float = 10.0  # seconds
    threads: int = 1
    seed: int = 0
    first_solution: str = "LOCAL_CHEAPEST_INSERTION"  # an OR-Tools FirstSolutionStrategy name
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    # Order in which LOCAL_CHEAPEST_INSERTION inserts jobs (OR-Tools InsertionSortingProperty
    # names): unassigned penalty over the number of technicians who may do the job, so
    # high-priority and hard-to-staff work is placed before the capacity is gone.
    insertion_sorting: tuple[str, ...] = ("SORTING_PROPERTY_PENALTY_OVER_ALLOWED_VEHICLES_RATIO",)
    # OR-Tools' LP/MIP scheduling of the time dimension inside the search (prices SLA
    # lateness and overtime exactly in every move). Off: the local search makes about 7x
    # more moves on field-service days with breaks; lateness and overtime are still costed
    # through the cumul bounds and the finalizer starts every visit as early as it can.
    lp_scheduling: bool = False
    log: bool = False
    # Own ruin-and-recreate phase (SISR, scheduler/ruin_recreate.py) after OR-Tools, inside
    # the same time limit, on problems whose features it models exactly (else skipped).
    ruin_recreate: bool = True
    ruin_recreate_share: float = 0.9  # share of the time limit it gets; OR-Tools the rest
    # Raw OR-Tools search-parameter overrides by dotted field name, e.g.
    # {"local_search_operators.use_make_inactive": False, "use_iterated_local_search": True}.
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class TravelMatrix:
    """Travel durations (seconds) and distances (metres) between point indices."""

    durations: Any  # numpy int64 array (n, n)
    distances: Any  # numpy int64 array (n, n)


@dataclass
class Problem:
    """Everything the optimizer needs."""

    origin: dt.datetime
    technicians: list[Technician]
    jobs: list[Job]
    warehouses: list[Warehouse] = field(default_factory=list)
    matrix: TravelMatrix | None = None  # given directly: locations are int indices
    provider: Any = None  # a scheduler.matrix.TravelProvider; default GeodesicProvider()
    previous: Plan | None = None  # the published plan (stability)
    weights: Weights = field(default_factory=Weights)
    days: int | None = None  # horizon length in days; None: every day some shift covers

    def job(self, job_id: str) -> Job:
        for j in self.jobs:
            if j.id == job_id:
                return j
        raise KeyError(job_id)

    def technician(self, tech_id: str) -> Technician:
        for t in self.technicians:
            if t.id == tech_id:
                return t
        raise KeyError(tech_id)


@dataclass
class Stop:
    """One stop of a route. ``travel_*`` describe the leg from the previous place."""

    kind: str  # "job" | "break" | "warehouse" | "absence"
    arrival: int
    start: int
    end: int
    job_id: str | None = None
    warehouse_id: str | None = None
    travel_seconds: int = 0
    travel_metres: int = 0
    parts: dict[str, int] = field(default_factory=dict)  # picked up at a warehouse stop

    @property
    def eta(self) -> int:
        """When the customer should expect the technician at the door: the visit's start.

        ``arrival`` is the earliest the technician could be there; when the route waits for
        the customer's window (or places a break in that wait), the technician leaves later
        instead of waiting outside, so the time to promise is the start.
        """
        return self.start


@dataclass
class Route:
    """A technician's ordered day. ``start``/``end`` are departure and return times."""

    technician_id: str
    day: int
    start: int
    end: int
    stops: list[Stop] = field(default_factory=list)
    return_travel_seconds: int = 0
    return_travel_metres: int = 0

    def job_ids(self) -> list[str]:
        return [s.job_id for s in self.stops if s.kind == STOP_JOB and s.job_id is not None]


@dataclass
class Unassigned:
    """Why a job is not in the plan: a code for machines and a sentence for people."""

    code: str
    reason: str


@dataclass
class Plan:
    """The optimizer's answer."""

    routes: list[Route] = field(default_factory=list)
    unassigned: dict[str, Unassigned] = field(default_factory=dict)
    objective: dict[str, float] = field(default_factory=dict)
    solve_seconds: float = 0.0
    status: str = "ok"
    # How the plan was made: {"phases": [{"phase", "seconds", "gain", ... or "skipped"}]}.
    stats: dict[str, Any] = field(default_factory=dict)

    def route_of(self, tech_id: str, day: int) -> Route | None:
        for r in self.routes:
            if r.technician_id == tech_id and r.day == day:
                return r
        return None

    def assignment(self) -> dict[str, tuple[str, int]]:
        """Job id -> (technician id, day)."""
        return {j: (r.technician_id, r.day) for r in self.routes for j in r.job_ids()}

    def starts(self) -> dict[str, int]:
        """Job id -> planned start."""
        return {
            s.job_id: s.start
            for r in self.routes
            for s in r.stops
            if s.kind == STOP_JOB and s.job_id is not None
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        routes = [
            Route(**{**r, "stops": [Stop(**s) for s in r["stops"]]}) for r in data.get("routes", [])
        ]
        unassigned = {k: Unassigned(**v) for k, v in data.get("unassigned", {}).items()}
        return cls(
            routes=routes,
            unassigned=unassigned,
            objective=dict(data.get("objective", {})),
            solve_seconds=float(data.get("solve_seconds", 0.0)),
            status=data.get("status", "ok"),
            stats=dict(data.get("stats", {})),
        )


@dataclass
class Violation:
    """A broken hard constraint found by the validator."""

    code: str
    message: str
    job_id: str | None = None
    technician_id: str | None = None
    day: int | None = None


@dataclass
class EtaChange:
    job_id: str
    old_start: int
    new_start: int


@dataclass
class InsertionResult:
    """The outcome of an emergency insertion."""

    plan: Plan
    technician_id: str | None
    day: int | None
    eta_changes: list[EtaChange] = field(default_factory=list)
    displaced: list[str] = field(default_factory=list)  # jobs made unassigned to fit it
    seconds: float = 0.0
    reason: str | None = None  # why it could not be inserted
