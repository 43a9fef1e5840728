"""Build an OR-Tools routing model from a Problem, solve it and extract a Plan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from . import explain, partition, ruin_recreate
from .instance import Instance, VehicleDay, arrival_after, parts_cover
from .model import (
    CAPACITY_EXHAUSTED,
    PARTS_UNAVAILABLE,
    STOP_ABSENCE,
    STOP_BREAK,
    STOP_JOB,
    STOP_WAREHOUSE,
    Job,
    Plan,
    Problem,
    Route,
    SolveParams,
    Stop,
    Unassigned,
)
from .objective import objective_parts

Progress = Callable[[float, str], None]

MAX_DURATION_CLASSES = 12
MAX_PART_DIMENSIONS = 30
STARTED_PENALTY_FACTOR = 100


@dataclass
class Node:
    """A routing node: a job (own parts or restocked) or a warehouse stop for one job."""

    kind: str  # "job" | "warehouse"
    job: int  # index into problem.jobs
    point: int
    warehouse: int | None = None
    uses_van: bool = True  # job node whose parts come from the van


def _set_field(msg, path: str, value) -> None:
    """Set a (nested) protobuf field; booleans map onto OR-Tools' OptionalBoolean enums."""
    *parents, name = path.split(".")
    for part in parents:
        msg = getattr(msg, part)
    fd = msg.DESCRIPTOR.fields_by_name[name]
    if fd.enum_type is not None and isinstance(value, bool):
        value = fd.enum_type.values_by_name["BOOL_TRUE" if value else "BOOL_FALSE"].number
    elif fd.enum_type is not None and isinstance(value, str):
        value = fd.enum_type.values_by_name[value].number
    if fd.message_type is not None and fd.message_type.name == "Duration":
        getattr(msg, name).FromMilliseconds(int(float(value) * 1000))
        return
    setattr(msg, name, value)


class Model:
    """The OR-Tools model of one problem and the maps back to it."""

    def __init__(self, inst: Instance, params: SolveParams) -> None:
        self.inst = inst
        self.params = params
        self.problem = inst.problem
        self.unassigned: dict[str, Unassigned] = {}
        self._live: dict[str, object] = {}
        self._build_nodes()
        self._build_routing()

    def close(self) -> None:
        """Free the OR-Tools model (solutions read from it are invalid afterwards)."""
        self._live.clear()
        self.time = None
        self.break_vars = {}
        self.routing = None
        self.manager = None

    # -- nodes ----------------------------------------------------------------------------

    def _build_nodes(self) -> None:
        inst, problem = self.inst, self.problem
        vehicles = inst.vehicles
        # Depot nodes first: one per distinct start/end point.
        depot_points = sorted({v.start_point for v in vehicles} | {v.end_point for v in vehicles})
        self.node_point: list[int] = list(depot_points)
        depot_node = {p: k for k, p in enumerate(depot_points)}
        self.starts = [depot_node[v.start_point] for v in vehicles]
        self.ends = [depot_node[v.end_point] for v in vehicles]
        self.nodes: dict[int, Node] = {}
        self.allowed: dict[int, list[int]] = {}
        self.job_nodes: dict[int, list[int]] = {}
        self.pairs: list[tuple[int, int]] = []
        for ji, job in enumerate(problem.jobs):
            allowed = inst.allowed_vehicles(job)
            if not allowed:
                self.unassigned[job.id] = explain.reason(inst, job)
                continue
            van_ok = [v for v in allowed if parts_cover(vehicles[v].tech.van_stock, job.parts)]
            lacking = [v for v in allowed if v not in set(van_ok)]
            wh = inst.warehouse_for(job) if lacking else None
            nodes = []
            if van_ok:
                nodes.append(self._add_node(Node("job", ji, inst.job_point[ji]), van_ok))
            if lacking and wh is not None and not job.started:
                w_node = self._add_node(
                    Node("warehouse", ji, inst.wh_point[wh], warehouse=wh), lacking
                )
                j_node = self._add_node(
                    Node("job", ji, inst.job_point[ji], warehouse=wh, uses_van=False), lacking
                )
                self.pairs.append((w_node, j_node))
                nodes.append(j_node)
            if not nodes:
                self.unassigned[job.id] = explain.parts_reason(inst, job)
                continue
            self.job_nodes[ji] = nodes

    def _add_node(self, node: Node, allowed: list[int]) -> int:
        k = len(self.node_point)
        self.node_point.append(node.point)
        self.nodes[k] = node
        self.allowed[k] = allowed
        return k

    def service(self, node: int, v: VehicleDay) -> int:
        n = self.nodes.get(node)
        if n is None:
            return 0
        if n.kind == "warehouse":
            return self.inst.warehouse(n.warehouse).service_time
        return self.problem.jobs[n.job].duration_for(v.tech)

    # -- routing model --------------------------------------------------------------------

    def _build_routing(self) -> None:
        inst, problem, w = self.inst, self.problem, self.problem.weights
        vehicles = inst.vehicles
        n = len(self.node_point)
        nv = len(vehicles)
        self.manager = pywrapcp.RoutingIndexManager(n, nv, self.starts, self.ends)
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        solver = routing.solver()
        pts = np.asarray(self.node_point, dtype=np.int64)
        travel = inst.dur[np.ix_(pts, pts)]
        metres = inst.dist[np.ix_(pts, pts)]
        self.travel, self.metres = travel, metres

        # Arc cost: travel time and/or distance.
        cost = np.rint(w.travel * travel + w.distance * metres).astype(np.int64)
        cost_cb = routing.RegisterTransitMatrix(cost.tolist())
        routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
        if w.vehicle:
            routing.SetFixedCostOfAllVehicles(int(w.vehicle))

        # Service time depends on the technician (level): one transit matrix per class.
        self.classes, self.class_of = self._duration_classes()
        time_cbs = []
        for svc in self.classes:
            time_cbs.append(routing.RegisterTransitMatrix((travel + svc[:, None]).tolist()))
        horizon = max([v.latest_end for v in vehicles] + [0]) + 1
        routing.AddDimensionWithVehicleTransits(
            [time_cbs[self.class_of[v.index]] for v in vehicles], horizon, horizon, False, "time"
        )
        self.time = time = routing.GetDimensionOrDie("time")
        for v in vehicles:
            s, e = routing.Start(v.index), routing.End(v.index)
            time.CumulVar(s).SetRange(v.earliest_start, v.latest_end)
            time.CumulVar(e).SetRange(v.earliest_start, v.latest_end)
            if v.latest_end > v.shift.end:
                coef = int(round(w.overtime * v.tech.overtime_cost))
                time.SetCumulVarSoftUpperBound(e, v.shift.end, max(coef, 1))
            if v.max_span is not None:
                time.SetSpanUpperBoundForVehicle(v.max_span, v.index)
            routing.AddVariableMinimizedByFinalizer(time.CumulVar(e))

        # Job nodes: windows, pins, SLA, allowed technicians, penalties.
        for ji, nodes in self.job_nodes.items():
            job = problem.jobs[ji]
            for k in nodes:
                idx = self.manager.NodeToIndex(k)
                self._set_windows(time.CumulVar(idx), job)
                if job.sla_due is not None and w.sla_lateness > 0 and not job.started:
                    time.SetCumulVarSoftUpperBound(
                        idx, max(job.sla_due, 0), max(int(round(w.sla_lateness)), 1)
                    )
                if len(self.allowed[k]) < nv:
                    # SetAllowedVehiclesForIndex takes an absl::Span the 9.15 wheel cannot
                    # pass from Python; restricting the vehicle variable is equivalent.
                    routing.VehicleVar(idx).SetValues([-1, *self.allowed[k]])
                routing.AddVariableMinimizedByFinalizer(time.CumulVar(idx))
            routing.AddDisjunction([self.manager.NodeToIndex(k) for k in nodes], self.penalty(job))
        for w_node, j_node in self.pairs:
            wi, ji = self.manager.NodeToIndex(w_node), self.manager.NodeToIndex(j_node)
            routing.VehicleVar(wi).SetValues([-1, *self.allowed[w_node]])
            routing.AddDisjunction([wi], 0)
            routing.AddPickupAndDelivery(wi, ji)
            opening = inst.warehouse(self.nodes[w_node].warehouse).opening
            if opening is not None:
                time.CumulVar(wi).SetRange(opening.start, opening.end)

        # Breaks and absences.
        self.break_vars: dict[int, list[tuple[str, object]]] = {}
        for v in vehicles:
            intervals = []
            for b_i, b in enumerate(v.breaks):
                iv = solver.FixedDurationIntervalVar(
                    int(b.window.start),
                    int(b.window.end),
                    int(b.duration),
                    False,
                    f"break_{v.index}_{b_i}",
                )
                intervals.append((STOP_BREAK, iv))
            for a_i, (lo, hi) in enumerate(v.absences):
                iv = solver.FixedDurationIntervalVar(lo, lo, hi - lo, False, f"abs_{v.index}_{a_i}")
                intervals.append((STOP_ABSENCE, iv))
            if intervals:
                visit = [0] * routing.Size()
                for k in self.nodes:
                    visit[self.manager.NodeToIndex(k)] = self.service(k, v)
                time.SetBreakIntervalsOfVehicle([iv for _, iv in intervals], v.index, visit)
                self.break_vars[v.index] = intervals

        self._capacity_dimensions()
        self._preference_dimension()
        self._balance_dimension()

    def penalty(self, job: Job) -> int:
        w = self.problem.weights
        p = w.unassigned.get(job.priority, w.unassigned[max(w.unassigned)])
        if job.sla_due is not None:
            p += w.sla_risk
        if job.started:
            p *= STARTED_PENALTY_FACTOR
        return int(p)

    def _set_windows(self, cumul, job: Job) -> None:
        if job.pinned_start is not None:
            cumul.SetRange(job.pinned_start, job.pinned_start)
            return
        if not job.time_windows:
            return
        wins = sorted(job.time_windows, key=lambda t: t.start)
        lo = max(int(cumul.Min()), wins[0].start)
        hi = min(int(cumul.Max()), max(t.end for t in wins))
        cumul.SetRange(lo, max(lo, hi))
        for a, b in zip(wins, wins[1:], strict=False):
            if b.start - a.end > 1:
                cumul.RemoveInterval(a.end + 1, b.start - 1)

    def _duration_classes(self) -> tuple[list[np.ndarray], dict[int, int]]:
        """Service-time vectors per technician class (merged when there are too many)."""
        inst = self.inst
        n = len(self.node_point)
        by_sig: dict[tuple, list[int]] = {}
        vecs: dict[tuple, np.ndarray] = {}
        for v in inst.vehicles:
            svc = np.zeros(n, dtype=np.int64)
            for k in self.nodes:
                if v.index in self.allowed[k]:
                    svc[k] = self.service(k, v)
            sig = tuple(svc.tolist())
            by_sig.setdefault(sig, []).append(v.index)
            vecs[sig] = svc
        sigs = sorted(by_sig, key=lambda s: sum(s))
        groups: list[list[tuple]] = [[s] for s in sigs]
        if len(groups) > MAX_DURATION_CLASSES:
            # Merge neighbours; a merged class uses the longest duration, which is safe
            # (the real, shorter visit only leaves more slack).
            size = -(-len(sigs) // MAX_DURATION_CLASSES)
            groups = [sigs[i : i + size] for i in range(0, len(sigs), size)]
        classes, class_of = [], {}
        for g in groups:
            classes.append(np.max(np.stack([vecs[s] for s in g]), axis=0))
            for s in g:
                for vi in by_sig[s]:
                    class_of[vi] = len(classes) - 1
        return classes, class_of

    def _capacity_dimensions(self) -> None:
        routing, inst = self.routing, self.inst
        vehicles = inst.vehicles
        n = len(self.node_point)
        if any(v.tech.capacity is not None for v in vehicles):
            dem = [0] * n
            for k, node in self.nodes.items():
                if node.kind == "job":
                    dem[k] = self.problem.jobs[node.job].demand
            cb = routing.RegisterUnaryTransitVector(dem)
            big = sum(dem) + 1
            caps = [big if v.tech.capacity is None else v.tech.capacity for v in vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "capacity")
        # Van stock is consumed along the route by jobs served from the van.
        part_names = sorted(
            {
                p
                for k, node in self.nodes.items()
                if node.kind == "job" and node.uses_van
                for p in self.problem.jobs[node.job].parts
            }
        )
        for p in part_names[:MAX_PART_DIMENSIONS]:
            use = [0] * n
            for k, node in self.nodes.items():
                if node.kind == "job" and node.uses_van:
                    use[k] = self.problem.jobs[node.job].parts.get(p, 0)
            cb = routing.RegisterUnaryTransitVector(use)
            caps = [v.tech.van_stock.get(p, 0) for v in vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, f"part:{p}")

    def _preference_dimension(self) -> None:
        """Per-technician node costs (stability, continuity) as a span-costed dimension."""
        w = self.problem.weights
        routing, inst = self.routing, self.inst
        prev = self.problem.previous.assignment() if self.problem.previous else {}
        n = len(self.node_point)
        any_cost = False
        vectors: dict[tuple, int] = {}
        cbs = []
        for v in inst.vehicles:
            vec = [0] * n
            for k, node in self.nodes.items():
                if node.kind != "job":
                    continue
                job = self.problem.jobs[node.job]
                c = 0
                was = prev.get(job.id)
                if was is not None and was != (v.tech.id, v.shift.day):
                    c += w.change
                if job.last_technician is not None and job.last_technician != v.tech.id:
                    c += w.continuity
                vec[k] = int(c)
            key = tuple(vec)
            if key not in vectors:
                vectors[key] = routing.RegisterUnaryTransitVector(vec)
            any_cost = any_cost or any(vec)
            cbs.append(vectors[key])
        if not any_cost:
            return
        cap = max(sum(k) for k in vectors) + 1
        routing.AddDimensionWithVehicleTransits(cbs, 0, cap, True, "preference")
        routing.GetDimensionOrDie("preference").SetSpanCostCoefficientForAllVehicles(1)

    def _balance_dimension(self) -> None:
        """Penalise work above each technician's fair share of the day's work."""
        w = self.problem.weights
        routing, inst = self.routing, self.inst
        if w.balance <= 0 or len(inst.vehicles) < 2:
            return
        total_work = sum(self.problem.jobs[ji].duration for ji in self.job_nodes)
        capacity = sum(max(1, v.shift.end - v.shift.start) for v in inst.vehicles)
        share = min(1.0, total_work / capacity)
        # One class-independent evaluator: unary evaluators in a vehicle-dependent
        # dimension made the first-solution search fail on large instances (OR-Tools 9.15).
        base = [0] * len(self.node_point)
        for k, node in self.nodes.items():
            if node.kind == "job":
                base[k] = self.problem.jobs[node.job].duration
        cb = routing.RegisterUnaryTransitVector(base)
        routing.AddDimension(cb, 0, sum(base) + 1, True, "work")
        work = routing.GetDimensionOrDie("work")
        coef = max(1, int(round(w.balance)))
        for v in inst.vehicles:
            target = int(share * (v.shift.end - v.shift.start))
            work.SetCumulVarSoftUpperBound(routing.End(v.index), target, coef)

    # -- solving --------------------------------------------------------------------------

    def search_parameters(self, time_limit: float) -> object:
        p = self.params
        sp = pywrapcp.DefaultRoutingSearchParameters()
        sp.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, p.first_solution
        )
        sp.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, p.metaheuristic
        )
        sp.guided_local_search_lambda_coefficient = p.gls_lambda
        lcp = sp.local_cheapest_insertion_parameters
        for name in p.insertion_sorting:
            lcp.insertion_sorting_properties.append(
                lcp.InsertionSortingProperty.Value(name)
            )
        sp.disable_scheduling_beware_this_may_degrade_performance = not p.lp_scheduling
        sp.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
        sp.log_search = p.log
        for path, value in p.overrides.items():
            _set_field(sp, path, value)
        return sp

    def initial_routes(self, plan: Plan) -> list[list[int]] | None:
        """Routing indices of a previous plan, for a warm start."""
        routes = []
        for v in self.inst.vehicles:
            r = plan.route_of(v.tech.id, v.shift.day)
            seq: list[int] = []
            if r is not None:
                for s in r.stops:
                    if s.kind != STOP_JOB:
                        continue
                    ji = self.inst.job_index.get(s.job_id)
                    nodes = self.job_nodes.get(ji, []) if ji is not None else []
                    pick = next((k for k in nodes if v.index in self.allowed[k]), None)
                    if pick is None:
                        continue
                    for w_node, j_node in self.pairs:
                        if j_node == pick:
                            seq.append(self.manager.NodeToIndex(w_node))
                    seq.append(self.manager.NodeToIndex(pick))
            routes.append(seq)
        return routes

    def solve(self, time_limit: float, progress: Progress | None, warm: Plan | None):
        routing = self.routing
        sp = self.search_parameters(time_limit)
        t0 = time.monotonic()
        if progress is not None:
            # OR-Tools' C++ side keeps the callback alive as long as the routing model; a
            # callback that referenced the model itself would make a cycle the garbage
            # collector cannot see (about 115 MB per 1000-job run). It reaches the model
            # through ``self._live`` instead, which ``close`` empties.
            live = self._live
            live["routing"] = routing

            def on_solution() -> None:
                r = live.get("routing")
                if r is None:
                    return
                elapsed = time.monotonic() - t0
                progress(
                    min(0.95, 0.05 + 0.9 * elapsed / max(time_limit, 1e-3)),
                    f"searching: cost {r.CostVar().Value()}",
                )

            routing.AddAtSolutionCallback(on_solution)
        routing.CloseModelWithParameters(sp)
        solution = None
        if warm is not None:
            init = routing.ReadAssignmentFromRoutes(self.initial_routes(warm), True)
            if init is not None:
                solution = routing.SolveFromAssignmentWithParameters(init, sp)
        if solution is None:
            solution = routing.SolveWithParameters(sp)
        return solution

    # -- extraction -----------------------------------------------------------------------

    def extract(self, solution) -> Plan:
        inst, routing, manager, time = self.inst, self.routing, self.manager, self.time
        problem = self.problem
        plan = Plan()
        served: set[int] = set()
        for v in inst.vehicles:
            idx = routing.Start(v.index)
            visits = []
            while True:
                idx = solution.Value(routing.NextVar(idx))
                if routing.IsEnd(idx):
                    break
                visits.append((manager.IndexToNode(idx), solution.Value(time.CumulVar(idx))))
            if not visits:
                continue
            breaks = []
            for kind, iv in self.break_vars.get(v.index, []):
                start = solution.StartValue(iv)
                breaks.append((start, start + iv.DurationMin(), kind))
            start = solution.Value(time.CumulVar(routing.Start(v.index)))
            end = solution.Value(time.CumulVar(routing.End(v.index)))
            plan.routes.append(self.build_route(v, visits, breaks, start, end))
            served.update(self.nodes[k].job for k, _ in visits if self.nodes[k].kind == "job")
        for ji, job in enumerate(problem.jobs):
            if ji not in served and job.id not in self.unassigned:
                self.unassigned[job.id] = explain.reason(inst, job, plan=plan)
        plan.unassigned = dict(self.unassigned)
        return plan

    def build_route(self, v: VehicleDay, visits, breaks, start: int, end: int) -> Route:
        """Turn (node, service start) pairs and break intervals into a Route with ETAs."""
        problem, inst = self.problem, self.inst
        breaks = sorted(breaks)
        stops: list[Stop] = []
        prev_point, prev_end = v.start_point, start
        for k, s in visits:
            node = self.nodes[k]
            travel = int(inst.dur[prev_point, node.point])
            gap = [b for b in breaks if prev_end <= b[0] and b[1] <= s]
            if not stops and not gap:
                # Leave just in time rather than at the shift start.
                start = prev_end = max(start, s - travel)
            common = dict(
                arrival=arrival_after(prev_end, travel, gap),
                start=s,
                travel_seconds=travel,
                travel_metres=int(inst.dist[prev_point, node.point]),
            )
            if node.kind == "warehouse":
                wh = inst.warehouse(node.warehouse)
                stop = Stop(
                    kind=STOP_WAREHOUSE,
                    end=s + wh.service_time,
                    warehouse_id=wh.id,
                    parts=dict(problem.jobs[node.job].parts),
                    **common,
                )
            else:
                job = problem.jobs[node.job]
                stop = Stop(
                    kind=STOP_JOB, end=s + job.duration_for(v.tech), job_id=job.id, **common
                )
            stops.append(stop)
            prev_point, prev_end = node.point, stop.end
        travel = int(inst.dur[prev_point, v.end_point])
        gap = [b for b in breaks if prev_end <= b[0] and b[1] <= end]
        end = arrival_after(prev_end, travel, gap)
        stops.extend(Stop(kind=b[2], arrival=b[0], start=b[0], end=b[1]) for b in breaks)
        stops.sort(key=lambda st: st.start)
        return Route(
            technician_id=v.tech.id,
            day=v.shift.day,
            start=start,
            end=end,
            stops=stops,
            return_travel_seconds=travel,
            return_travel_metres=int(inst.dist[prev_point, v.end_point]),
        )


def enforce_shared_stock(inst: Instance, plan: Plan) -> None:
    """Drop restocked jobs whose warehouse ran out (warehouse stock is shared by all routes)."""
    left = {w.id: dict(w.stock) for w in inst.problem.warehouses}
    stops = sorted(
        ((s.start, r, s) for r in plan.routes for s in r.stops if s.kind == STOP_WAREHOUSE),
        key=lambda x: x[0],
    )
    for _, route, stop in stops:
        stock = left[stop.warehouse_id]
        if all(stock.get(p, 0) >= q for p, q in stop.parts.items()):
            for p, q in stop.parts.items():
                stock[p] -= q
            continue
        k = route.stops.index(stop)
        job_stop = next(s for s in route.stops[k + 1 :] if s.kind == STOP_JOB)
        remove_stops(inst, route, [stop, job_stop])
        plan.unassigned[job_stop.job_id] = Unassigned(
            PARTS_UNAVAILABLE,
            f"parts unavailable: warehouse {stop.warehouse_id} has no more "
            + ", ".join(f"{p} x{q}" for p, q in stop.parts.items())
            + " left after earlier pickups",
        )
    plan.routes = [r for r in plan.routes if r.job_ids()]


def remove_stops(inst: Instance, route: Route, gone: list[Stop]) -> None:
    """Remove stops from a route, keeping the others' times and fixing the legs."""
    route.stops = [s for s in route.stops if all(s is not g for g in gone)]
    problem = inst.problem
    wh_point = {w.id: inst.wh_point[i] for i, w in enumerate(problem.warehouses)}
    v = inst.vehicle_of[(route.technician_id, route.day)]
    prev_point, prev_end = v.start_point, route.start
    pending = []
    for s in route.stops:
        if s.kind in (STOP_BREAK, STOP_ABSENCE):
            pending.append((s.start, s.end, s.kind))
            continue
        point = (
            wh_point[s.warehouse_id]
            if s.kind == STOP_WAREHOUSE
            else inst.job_point[inst.job_index[s.job_id]]
        )
        s.travel_seconds = int(inst.dur[prev_point, point])
        s.travel_metres = int(inst.dist[prev_point, point])
        s.arrival = arrival_after(prev_end, s.travel_seconds, pending)
        prev_point, prev_end, pending = point, s.end, []
    route.return_travel_seconds = int(inst.dur[prev_point, v.end_point])
    route.return_travel_metres = int(inst.dist[prev_point, v.end_point])


REPAIR_SHARE = 0.08  # share of the time limit kept for cross-territory repair
WHOLE_DAY_SHARE = 0.3  # share of the time limit for the whole-day phase after a split
# The whole-day phase is not started with less time than this: setting it up on a
# 1000-job day takes about 0.2 s, so a shorter phase would spend its time on that alone.
WHOLE_DAY_MIN_SECONDS = 0.5
TERRITORY_MIN_SECONDS = 0.5  # a territory gets at least this much when the time allows it


def split_budget(time_left: float) -> tuple[float, float]:
    """Seconds for the territory solves and for the whole-day phase of a split day.

    ``time_left`` is what remains of the limit once the travel matrix is built. The repair
    pass keeps ``REPAIR_SHARE`` of it; the whole-day phase gets ``WHOLE_DAY_SHARE`` unless
    that is below ``WHOLE_DAY_MIN_SECONDS``, in which case the territories get its time.
    """
    time_left = max(0.0, time_left)
    whole_day = time_left * WHOLE_DAY_SHARE
    if whole_day < WHOLE_DAY_MIN_SECONDS:
        whole_day = 0.0
    return time_left * (1 - REPAIR_SHARE) - whole_day, whole_day


def territory_limits(search: float, shares: list[float]) -> list[float]:
    """Time limits of the territories, summing to ``search`` seconds.

    Each territory gets a floor (``TERRITORY_MIN_SECONDS``, or an equal part of ``search``
    when the floors would not fit) and the rest of the time in proportion to its share of
    the jobs, so a short limit is scaled down instead of overrun.
    """
    n = len(shares)
    if n == 0:
        return []
    search = max(0.0, search)
    floor = min(TERRITORY_MIN_SECONDS, search / n)
    total = sum(shares)
    rest = search - n * floor
    if total <= 0:
        return [floor + rest / n for _ in shares]
    return [floor + rest * s / total for s in shares]


def _solve_split(
    problem: Problem,
    inst: Instance,
    params: SolveParams,
    progress: Progress | None,
    search_end: float,
    phases: list[dict],
) -> Plan:
    k = partition.territory_count(problem)
    groups = partition.territories(inst, k, params.seed)
    provider = partition.SliceProvider(inst)
    shares = [len(jobs) / max(1, len(problem.jobs)) for _, jobs in groups]
    plan = Plan()
    done = 0
    for g, (techs, jobs) in enumerate(groups):
        share = shares[g]
        sub = replace(problem, technicians=techs, jobs=jobs, provider=provider)
        sub_progress = None
        if progress is not None:
            lo = 0.05 + 0.6 * done / max(1, len(problem.jobs))

            def sub_progress(f, msg, lo=lo, share=share, g=g):
                progress(lo + 0.6 * share * f, f"territory {g + 1}/{len(groups)}: {msg}")

        # Re-divided before every territory, so one that ran over its limit is paid for
        # by the ones after it rather than by the whole run.
        limit = territory_limits(search_end - time.monotonic(), shares[g:])[0]
        sub_phases: list[dict] = []
        sub_plan = _solve_one(
            sub, Instance(sub), replace(params, time_limit=limit), sub_progress, sub_phases
        )
        for ph in sub_phases:
            ph.update(territory=g + 1, technicians=len(techs), jobs=len(jobs))
        phases.extend(sub_phases)
        plan.routes.extend(sub_plan.routes)
        plan.unassigned.update(sub_plan.unassigned)
        done += len(jobs)
    return plan


# Below this many seconds for OR-Tools (its share of a run's limit) the first plan is left
# to the ruin-and-recreate phase: on a 200-job territory OR-Tools needs about 0.1-0.2 s to
# build its model and often finds no first solution in 0.1 s, while the phase's greedy
# recreate fills the day in a few hundredths of a second.
ORTOOLS_MIN_SECONDS = 0.25


def ortools_worth_it(params: SolveParams) -> bool:
    """Whether OR-Tools' share of the run's limit is enough for it to build a first plan."""
    return params.time_limit * (1 - params.ruin_recreate_share) >= ORTOOLS_MIN_SECONDS


def _solve_one(
    problem: Problem,
    inst: Instance,
    params: SolveParams,
    progress: Progress | None,
    phases: list[dict],
) -> Plan:
    t0 = time.monotonic()
    if not inst.vehicles:
        phases.append({"phase": "or-tools", "skipped": "no technician-days"})
        return Plan(unassigned={j.id: explain.reason(inst, j) for j in problem.jobs})
    deadline = t0 + params.time_limit - 0.05
    skip = ruin_recreate.skip_reason(inst) if params.ruin_recreate else "switched off"
    rr = skip is None
    if rr and not ortools_worth_it(params):
        # Too little time for OR-Tools to find a first plan (its model alone takes a good
        # part of it): the ruin-and-recreate phase builds the plan from nothing instead.
        plan = Plan(unassigned={j.id: Unassigned(CAPACITY_EXHAUSTED, "open")
                                for j in problem.jobs})  # fmt: skip
        phases.append({"phase": "or-tools", "skipped": "too little time, "
                       "ruin-and-recreate builds the plan"})  # fmt: skip
        if progress:
            progress(0.05, "ruin and recreate")
        plan, info = ruin_recreate.improve(inst, plan, deadline, params.seed)
        phases.append(_rr_phase("ruin-and-recreate", info))
        return plan
    if progress:
        progress(0.02, "building model")
    model = Model(inst, params)
    remaining = max(0.1, deadline - time.monotonic())
    if rr:
        remaining = max(0.1, remaining * (1 - params.ruin_recreate_share))
    if progress:
        progress(0.05, "searching")
    t_search = time.monotonic()
    solution = None
    try:
        solution = model.solve(remaining, progress, problem.previous)
        if solution is None and rr:
            # The phase builds a plan on its own from nothing.
            plan = Plan(unassigned={
                j.id: model.unassigned.get(j.id, Unassigned(CAPACITY_EXHAUSTED, "open"))
                for j in problem.jobs
            })  # fmt: skip
            phases.append({"phase": "or-tools", "seconds": _since(t_search),
                           "skipped": "no solution in time"})  # fmt: skip
        elif solution is None:
            plan = Plan(status="no_solution")
            for job in problem.jobs:
                plan.unassigned[job.id] = model.unassigned.get(
                    job.id, Unassigned(CAPACITY_EXHAUSTED, "the solver found no plan in time")
                )
            phases.append({"phase": "or-tools", "seconds": _since(t_search),
                           "skipped": "no solution in time"})  # fmt: skip
            return plan
        else:
            plan = model.extract(solution)
            phases.append(
                {"phase": "or-tools", "seconds": _since(t_search),
                 "cost_after": round(ruin_recreate.plan_cost(inst, plan), 1)}
            )  # fmt: skip
    finally:
        del solution
        model.close()
    if not rr:
        phases.append({"phase": "ruin-and-recreate", "skipped": skip})
        return plan
    if progress:
        progress(0.6, "ruin and recreate")
    plan, info = ruin_recreate.improve(inst, plan, deadline, params.seed)
    phases.append(_rr_phase("ruin-and-recreate", info))
    return plan


def _since(t: float) -> float:
    return round(time.monotonic() - t, 3)


def _rr_phase(name: str, info: dict) -> dict:
    """A phase record from ``ruin_recreate.improve``'s figures."""
    out = {"phase": name}
    if "skipped" in info:
        out["skipped"] = info["skipped"]
        return out
    out.update(
        seconds=info["seconds"],
        gain=info["gain"],
        cost_before=round(info["cost_before"], 1),
        cost_after=round(info["cost_after"], 1),
        iterations=info["iterations"],
        accepted=info["accepted"],
    )
    if "kept_input" in info:
        out["kept_input"] = info["kept_input"]
    return out


def solve(
    problem: Problem, params: SolveParams | None = None, progress: Progress | None = None
) -> Plan:
    """Plan the problem's horizon and return routes, unassigned reasons and objective parts."""
    from .insertion import repair

    params = params or SolveParams()
    t0 = time.monotonic()
    end = t0 + params.time_limit
    phases: list[dict] = []
    if params.ruin_recreate:
        # Loads the compiled kernel (compiles it on the first run without a cache); its
        # cost is part of this solve's time limit.
        t_warm = ruin_recreate.warm_up()
        if t_warm > 0.01:
            phases.append({"phase": "kernel load", "seconds": round(t_warm, 3)})
    if progress:
        progress(0.0, "building travel matrix")
    inst = Instance(problem)
    split = partition.should_split(problem)
    whole_day = 0.0
    if split:
        search, whole_day = split_budget(end - time.monotonic())
        plan = _solve_split(problem, inst, params, progress, time.monotonic() + search, phases)
    else:
        rest = replace(params, time_limit=params.time_limit - (time.monotonic() - t0))
        plan = _solve_one(problem, inst, rest, progress, phases)
    enforce_shared_stock(inst, plan)
    if plan.unassigned and plan.status == "ok":
        if progress:
            progress(0.7 if split else 0.92, "inserting leftovers")
        t_rep = time.monotonic()
        before = ruin_recreate.plan_cost(inst, plan)
        stop = end - (whole_day if split else 0.3)
        added = repair(inst, plan, stop)
        phases.append(
            {"phase": "repair", "seconds": _since(t_rep), "inserted": added,
             "gain": round(before - ruin_recreate.plan_cost(inst, plan), 1)}
        )  # fmt: skip
    else:
        phases.append({"phase": "repair", "skipped": "nothing left to insert"})
    if not split:
        phases.append({"phase": "whole-day ruin-and-recreate",
                       "skipped": "the day was solved as one territory"})  # fmt: skip
    elif not params.ruin_recreate or plan.status != "ok":
        phases.append({"phase": "whole-day ruin-and-recreate", "skipped": "switched off"})
    elif whole_day <= 0 or end - time.monotonic() < WHOLE_DAY_MIN_SECONDS:
        phases.append({"phase": "whole-day ruin-and-recreate", "skipped": "no time left"})
    else:
        if progress:
            progress(0.75, "improving the whole day")
        was = plan.assignment()
        plan, info = ruin_recreate.improve(inst, plan, end - 0.15, params.seed + 1)
        phase = _rr_phase("whole-day ruin-and-recreate", info)
        now = plan.assignment()
        phase["jobs_moved_or_added"] = sum(1 for j, tv in now.items() if was.get(j) != tv)
        phases.append(phase)
    for job in problem.jobs:
        u = plan.unassigned.get(job.id)
        if u is not None and u.code == CAPACITY_EXHAUSTED:
            plan.unassigned[job.id] = explain.reason(inst, job, plan=plan)
    plan.objective = objective_parts(problem, plan, inst)
    plan.solve_seconds = round(time.monotonic() - t0, 3)
    plan.stats = {"phases": phases}
    if progress:
        progress(1.0, "done")
    return plan
