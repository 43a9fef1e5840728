"""fieldsvc's dispatcher: technician routing with skills, windows, breaks and parts.

Independent of Flask: plain input objects in, a plan out.

Conventions: times are integer seconds relative to ``Problem.origin`` (a timezone-aware
datetime, usually the local midnight of the first planning day); day ``d`` of the horizon
spans ``[d * 86400, (d + 1) * 86400)``. Locations are :class:`Location` (lat, lon), travel
then comes from a provider (default: WGS-84 geodesic x road factor / speed), or ``int``
indices into a matrix given as ``Problem.matrix``.

Public API::

    plan = solve(problem, SolveParams(time_limit=30), progress=lambda f, msg: ...)
    plan.routes        # per technician and day: ordered Stops (job/break/warehouse/absence)
                       # with arrival, start, end and the travel leg before each stop
    plan.unassigned    # job id -> Unassigned(code, reason)
    plan.objective     # measured parts (travel, lateness, overtime, changes, ...) and total
    plan.to_dict() / Plan.from_dict(d)
    result = insert_emergency(problem, plan, job, time_limit=1.0)
    result.plan, result.technician_id, result.eta_changes
    violations = validate(problem, plan)   # independent checker; [] when the plan is valid

How it solves: OR-Tools routing (one vehicle per technician-day, every job optional with a
priority penalty, so a plan always comes back and unassigned jobs get a reason from
``explain``). The first solution inserts jobs by penalty per eligible technician (P1/P2 and
hard-to-staff work first); OR-Tools' LP scheduling inside the search is off by default
(``SolveParams.lp_scheduling``), which lets the local search make several times more moves. Days with more than 300 jobs are split into territories
(``partition.py``: technicians by home, balanced in number; jobs to the nearest territory
with an eligible technician while its work stays under its shift capacity), solved one after
the other; a repair pass inserts leftovers anywhere they fit, swapping out lower-priority
work when needed, and a whole-day ruin-and-recreate phase lets work cross territories. In
every solve OR-Tools gets 10 % of the time limit and an own compiled ruin-and-recreate phase
(SISR, numba; ``ruin_recreate.py``) the rest; it models every feature of a real day and is
accepted on the whole objective. The first solve in a process loads the compiled kernel from
numba's cache (≈0.2-2 s) or, without a cache, compiles it (1-3 min on a busy box); either is
counted in that solve's time. ``Plan.stats["phases"]`` lists what ran, for how long, what it
gained and why a phase was skipped. ``SolveParams.threads`` is informational: OR-Tools
routing search is single-threaded.

Hard constraints: skills and levels, shifts (plus overtime allowance), absences, breaks,
job time windows (on the start of service), pinned technician/start, started jobs, van
capacity, parts (from the van, or a warehouse pickup stop before the job), maximum working
time (departure to return). Everything else is in the weighted objective (:class:`Weights`).
"""

from .insertion import insert_emergency
from .matrix import CachedProvider, GeodesicProvider, StaticMatrix, TravelProvider
from .model import (
    Break,
    EtaChange,
    InsertionResult,
    Job,
    Location,
    Plan,
    Problem,
    Route,
    Shift,
    SolveParams,
    Stop,
    Technician,
    TimeWindow,
    TravelMatrix,
    Unassigned,
    Violation,
    Warehouse,
    Weights,
)
from .optimizer import solve
from .validate import validate

__all__ = [
    "Break",
    "CachedProvider",
    "EtaChange",
    "GeodesicProvider",
    "InsertionResult",
    "Job",
    "Location",
    "Plan",
    "Problem",
    "Route",
    "Shift",
    "SolveParams",
    "StaticMatrix",
    "Stop",
    "Technician",
    "TimeWindow",
    "TravelMatrix",
    "TravelProvider",
    "Unassigned",
    "Violation",
    "Warehouse",
    "Weights",
    "insert_emergency",
    "solve",
    "validate",
]
