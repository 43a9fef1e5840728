"""The allocation solver alone: tiny instances checked by hand, then properties."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from scheduler.recall import (
    NO_CAPACITY,
    NO_DEALERSHIP,
    NO_LOCATION,
    DealershipPlaces,
    Owner,
    allocate,
    greedy_nearest,
)

D1 = date(2026, 3, 1)


def test_owners_go_to_the_nearest_dealership_with_room():
    # West at lon 51.30, East at lon 51.50; two owners near West, West has one place.
    west = DealershipPlaces("W", "Tehran", 35.7, 51.30, {D1: 1})
    east = DealershipPlaces("E", "Tehran", 35.7, 51.50, {D1: 5})
    near = Owner("a", "Tehran", 35.7, 51.31)      # 0.9 km from W, 17 km from E
    middle = Owner("b", "Tehran", 35.7, 51.36)    # 5.4 km from W, 12.7 km from E
    result = allocate([near, middle], [west, east], {"Tehran": D1})
    # Both prefer W; giving W to "a" costs 0.9 + 12.7 km, to "b" 17.2 + 5.4 km.
    assert result.placed["a"].dealership == "W"
    assert result.placed["b"].dealership == "E"
    assert not result.unplaced


def test_greedy_baseline_can_do_worse_than_the_flow():
    west = DealershipPlaces("W", "Tehran", 35.7, 51.30, {D1: 1})
    east = DealershipPlaces("E", "Tehran", 35.7, 51.50, {D1: 5})
    owners = [Owner("b", "Tehran", 35.7, 51.36), Owner("a", "Tehran", 35.7, 51.31)]
    greedy = greedy_nearest(owners, [west, east], {"Tehran": D1})
    flow = allocate(owners, [west, east], {"Tehran": D1})
    assert greedy.placed["b"].dealership == "W"  # first come takes the near place
    assert flow.total_metres < greedy.total_metres


def test_earlier_days_first_and_the_phase_start_is_respected():
    dealer = DealershipPlaces("W", "tehran", 35.7, 51.3,
                              {D1: 5, D1 + timedelta(days=1): 5, D1 + timedelta(days=2): 5})
    owners = [Owner(n, "Tehran ", 35.7, 51.3) for n in range(7)]
    result = allocate(owners, [dealer], {"TEHRAN": D1 + timedelta(days=1)})
    days = Counter(p.day for p in result.placed.values())
    assert days == {D1 + timedelta(days=1): 5, D1 + timedelta(days=2): 2}


def test_who_cannot_be_placed_is_told_why():
    dealer = DealershipPlaces("W", "Tehran", 35.7, 51.3, {D1: 1})
    owners = [Owner("x", "Tehran", None, None), Owner("y", "Shiraz", 29.6, 52.5),
              Owner("z1", "Tehran", 35.7, 51.3), Owner("z2", "Tehran", 35.7, 51.4)]
    result = allocate(owners, [dealer], {"Tehran": D1, "Shiraz": D1})
    assert result.unplaced["x"].code == NO_LOCATION
    assert result.unplaced["y"].code == NO_DEALERSHIP
    assert result.placed["z1"].dealership == "W"
    assert result.unplaced["z2"].code == NO_CAPACITY
    # A region whose phase has not started has no dealership to go to.
    later = allocate([Owner("t", "Tehran", 35.7, 51.3)], [dealer], {})
    assert later.unplaced["t"].code == NO_DEALERSHIP


def test_random_instances_never_exceed_capacity_and_place_as_many_as_greedy():
    rng = random.Random(7)
    for _ in range(20):
        regions = ["Tehran", "Karaj"]
        dealers = [DealershipPlaces(j, rng.choice(regions), 35.7 + rng.uniform(-.3, .3),
                                    51.3 + rng.uniform(-.3, .3),
                                    {D1 + timedelta(days=d): rng.randint(0, 4)
                                     for d in range(5)}) for j in range(rng.randint(1, 6))]
        owners = [Owner(i, rng.choice(regions), 35.7 + rng.uniform(-.3, .3),
                        51.3 + rng.uniform(-.3, .3)) for i in range(rng.randint(0, 60))]
        starts = {"Tehran": D1, "Karaj": D1 + timedelta(days=2)}
        flow = allocate(owners, dealers, starts, candidates=3)
        greedy = greedy_nearest(owners, dealers, starts)
        assert set(flow.placed) | set(flow.unplaced) == {o.key for o in owners}
        used = Counter((p.dealership, p.day) for p in flow.placed.values())
        by_key = {d.key: d for d in dealers}
        owner_region = {o.key: o.region for o in owners}
        for (dealer, day), n in used.items():
            assert n <= by_key[dealer].free[day]
            assert day >= starts[by_key[dealer].region]
        for key, placement in flow.placed.items():
            assert by_key[placement.dealership].region == owner_region[key]
        full = allocate(owners, dealers, starts)  # every dealer a candidate
        assert len(full.placed) >= len(greedy.placed)
