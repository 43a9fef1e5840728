"""Recall allocation: owners to dealership days, nearest feasible first, as a min-cost flow.

Plain data in, plain data out (no Flask, no database), so it can be tested by hand and
benchmarked at full size.

The network::

    source ─1─▶ owner ─(travel)─▶ dealership ─(day rank)─▶ dealership-day ─(free)─▶ sink

Each owner offers one unit; an owner may reach the ``candidates`` nearest dealerships of
their own region (the phase's region). A dealership reaches its days on or after the
region's phase start, each day holding ``free`` units. ``solve_max_flow_with_min_cost``
places as many owners as capacity allows and, among those placements, minimises the total
travel (in 10 m units) plus a small earliest-day preference, so an owner goes to the
nearest dealership that still has a place. Capacity is never exceeded: it is an arc bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from ortools.graph.python import min_cost_flow

from .matrix import geodesic_between
from .model import Location

# Arc cost units: one unit is 10 m of travel; a day later costs one unit (10 m), so an
# earlier day wins among dealerships at about the same distance but never beats a nearer
# dealership by more than horizon × 10 m.
METRES_PER_UNIT = 10
DAY_COST = 1
# A region with up to this many bookable dealerships offers every one of them to each owner,
# so an owner is left out only when the whole region is full; bigger regions offer the
# nearest ones (the far ones would not be chosen while a near one has room anyway).
DEFAULT_CANDIDATES = 25

NO_LOCATION = "no-location"
NO_DEALERSHIP = "no-dealership-in-region"
NO_CAPACITY = "no-free-place"


@dataclass(frozen=True)
class Owner:
    """One vehicle to place: ``key`` is the caller's id (e.g. a VIN or appointment id)."""

    key: object
    region: str
    lat: float | None
    lon: float | None


@dataclass
class DealershipPlaces:
    """Free places of one dealership per day (days before the phase start are ignored)."""

    key: object
    region: str
    lat: float
    lon: float
    free: dict[date, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    dealership: object
    day: date
    metres: float


@dataclass(frozen=True)
class Unplaced:
    code: str
    reason: str


@dataclass
class Allocation:
    placed: dict[object, Placement] = field(default_factory=dict)
    unplaced: dict[object, Unplaced] = field(default_factory=dict)

    @property
    def total_metres(self) -> float:
        return float(sum(p.metres for p in self.placed.values()))


def _region_key(region: str | None) -> str:
    return (region or "").strip().casefold()


def _usable_days(places: DealershipPlaces, starts: dict[str, date]) -> list[tuple[date, int]]:
    start = starts.get(_region_key(places.region))
    if start is None:
        return []
    return sorted((d, n) for d, n in places.free.items() if n > 0 and d >= start)


def _split(owners: Sequence[Owner], dealerships: Sequence[DealershipPlaces],
           starts: dict[str, date], result: Allocation):
    """Group locatable owners and bookable dealerships by region; report the rest."""
    by_region: dict[str, list[Owner]] = defaultdict(list)
    dealers: dict[str, list[tuple[DealershipPlaces, list[tuple[date, int]]]]] = \
        defaultdict(list)
    for d in dealerships:
        days = _usable_days(d, starts)
        if days:
            dealers[_region_key(d.region)].append((d, days))
    for owner in owners:
        region = _region_key(owner.region)
        if owner.lat is None or owner.lon is None:
            result.unplaced[owner.key] = Unplaced(
                NO_LOCATION, "The owner's address has no coordinates.")
        elif region not in dealers:
            result.unplaced[owner.key] = Unplaced(
                NO_DEALERSHIP, f"No dealership of region '{owner.region}' has a free place "
                "on or after the phase start.")
        else:
            by_region[region].append(owner)
    return by_region, dealers


def _nearest(owners: list[Owner], dealers: list[DealershipPlaces], k: int | None):
    """Indices and metres of the k nearest dealers of each owner, nearest first."""
    metres = geodesic_between([Location(o.lat, o.lon) for o in owners],
                              [Location(d.lat, d.lon) for d in dealers])
    k = len(dealers) if k is None else max(1, min(k, len(dealers)))
    if k < len(dealers):
        idx = np.argpartition(metres, k - 1, axis=1)[:, :k]
    else:
        idx = np.tile(np.arange(len(dealers)), (len(owners), 1))
    near = np.take_along_axis(metres, idx, axis=1)
    order = np.argsort(near, axis=1)
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(near, order, axis=1)


def allocate(owners: Sequence[Owner], dealerships: Sequence[DealershipPlaces],
             phase_starts: dict[str, date], candidates: int = DEFAULT_CANDIDATES) -> Allocation:
    """Place owners at dealership days of their region: maximum placed, then least travel.

    ``phase_starts`` maps a region to the first day its owners may be served; regions not
    in it (phase not started, or no phase) get nobody. Each region is an independent flow.
    """
    result = Allocation()
    starts = {_region_key(r): d for r, d in phase_starts.items()}
    by_region, dealers_by_region = _split(owners, dealerships, starts, result)
    for region, group in by_region.items():
        _solve_region(group, dealers_by_region[region], candidates, result)
    return result


def _solve_region(owners: list[Owner], dealers: list[tuple[DealershipPlaces, list]],
                  candidates: int, result: Allocation) -> None:
    places = [d for d, _ in dealers]
    idx, metres = _nearest(owners, places, candidates)
    n_owners, n_dealers = len(owners), len(places)
    source, sink = 0, 1
    owner_node = 2
    dealer_node = owner_node + n_owners
    day_node = dealer_node + n_dealers
    day_ref: list[tuple[int, date]] = []
    k = idx.shape[1]
    owners_at = np.arange(n_owners, dtype=np.int64)
    # Arcs 0..n-1: source → owner; then n × k owner → dealer arcs, owner-major.
    tails = [np.full(n_owners, source), np.repeat(owner_node + owners_at, k)]
    heads = [owner_node + owners_at, (dealer_node + idx).ravel()]
    caps = [np.ones(n_owners, dtype=np.int64), np.ones(n_owners * k, dtype=np.int64)]
    costs = [np.zeros(n_owners, dtype=np.int64),
             np.rint(metres / METRES_PER_UNIT).astype(np.int64).ravel()]
    first_owner_arc = n_owners
    day_tails, day_heads, day_caps, day_costs = [], [], [], []
    for j, (_, days) in enumerate(dealers):
        for rank, (day, free) in enumerate(days):
            node = day_node + len(day_ref)
            day_ref.append((j, day))
            day_tails += [dealer_node + j, node]
            day_heads += [node, sink]
            day_caps += [free, free]
            day_costs += [rank * DAY_COST, 0]
    first_day_arc = first_owner_arc + n_owners * k
    tails.append(np.array(day_tails, dtype=np.int64))
    heads.append(np.array(day_heads, dtype=np.int64))
    caps.append(np.array(day_caps, dtype=np.int64))
    costs.append(np.array(day_costs, dtype=np.int64))

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32), np.concatenate(heads).astype(np.int32),
        np.concatenate(caps), np.concatenate(costs))
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n_owners, -n_owners]))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:  # pragma: no cover - a flow network with bounds is feasible
        raise RuntimeError(f"min cost flow failed with status {status}")
    flows = flow.flows(arcs)

    # Each dealership's units, handed out to its owners day by day (any split is optimal:
    # the day cost does not depend on which owner takes the day).
    day_units: dict[int, list[list]] = defaultdict(list)
    for n, (j, day) in enumerate(day_ref):
        used = int(flows[first_day_arc + 2 * n])
        if used:
            day_units[j].append([day, used])
    for units_list in day_units.values():
        units_list.sort()
    for i, owner in enumerate(owners):
        base = first_owner_arc + i * k
        used = np.flatnonzero(flows[base:base + k])
        taken = int(used[0]) if len(used) else None
        if taken is None:
            which = "all dealerships" if k == n_dealers else f"the {k} nearest dealerships"
            result.unplaced[owner.key] = Unplaced(
                NO_CAPACITY, f"Every place at {which} of region '{owner.region}' is "
                "taken in the horizon.")
            continue
        dealer = int(idx[i, taken])
        slot = day_units[dealer][0]
        slot[1] -= 1
        if not slot[1]:
            day_units[dealer].pop(0)
        result.placed[owner.key] = Placement(places[dealer].key, slot[0],
                                             float(metres[i, taken]))


def greedy_nearest(owners: Sequence[Owner], dealerships: Sequence[DealershipPlaces],
                   phase_starts: dict[str, date], candidates: int | None = None) -> Allocation:
    """Baseline: owners in input order each take the nearest dealership with a free day."""
    result = Allocation()
    starts = {_region_key(r): d for r, d in phase_starts.items()}
    by_region, dealers_by_region = _split(owners, dealerships, starts, result)
    for region, group in by_region.items():
        dealers = dealers_by_region[region]
        places = [d for d, _ in dealers]
        left = [[list(x) for x in days] for _, days in dealers]
        idx, metres = _nearest(group, places, candidates)
        for i, owner in enumerate(group):
            for j in range(idx.shape[1]):
                days = left[int(idx[i, j])]
                if days:
                    days[0][1] -= 1
                    day = days[0][0]
                    if not days[0][1]:
                        days.pop(0)
                    result.placed[owner.key] = Placement(places[int(idx[i, j])].key, day,
                                                         float(metres[i, j]))
                    break
            else:
                result.unplaced[owner.key] = Unplaced(
                    NO_CAPACITY, f"Every place at the dealerships of region "
                    f"'{owner.region}' is taken in the horizon.")
    return result
