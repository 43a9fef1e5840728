"""Readers for the Solomon / Gehring-Homberger VRPTW files and the best-known solutions.

The data lives outside the project in ``shared/bench`` (see its SOURCES.md); nothing is copied.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
TARGETS = [
    "C101", "C201", "R101", "R201", "RC101", "RC201", "R111", "RC105",
    "C1_2_1", "R1_2_1", "RC1_2_1", "C1_4_1", "R1_4_1", "RC1_4_1",
]  # fmt: skip


@dataclass
class VRPTW:
    """An instance; node 0 is the depot. Travel time = Euclidean distance."""

    name: str
    path: Path
    vehicles: int
    capacity: int
    xy: np.ndarray  # (n+1, 2)
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray

    @property
    def n(self) -> int:
        return len(self.xy) - 1

    def distances(self) -> np.ndarray:
        d = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((d**2).sum(-1))


def txt_path(name: str, bench: Path = DEFAULT_BENCH) -> Path:
    folder = "homberger" if "_" in name else "solomon"
    return bench / folder / "txt" / f"{name.lower()}.txt"


def vrplib_path(name: str, bench: Path = DEFAULT_BENCH) -> Path:
    folder = "homberger" if "_" in name else "solomon"
    return bench / folder / "vrplib" / f"{name.upper()}.vrp"


def read_solomon(name: str, bench: Path = DEFAULT_BENCH) -> VRPTW:
    """Read the original Solomon text format."""
    path = txt_path(name, bench)
    lines = [ln.split() for ln in path.read_text().splitlines()]
    vehicles = capacity = None
    rows = []
    for k, parts in enumerate(lines):
        if parts and parts[0].upper() == "NUMBER" and vehicles is None:
            nums = next(p for p in lines[k + 1 :] if p)
            vehicles, capacity = int(nums[0]), int(nums[1])
        if len(parts) == 7 and all(_is_number(p) for p in parts):
            rows.append([float(p) for p in parts])
    a = np.array(rows)
    a = a[np.argsort(a[:, 0])]
    assert (a[:, 0] == np.arange(len(a))).all(), "customer numbers must be 0..n"
    return VRPTW(
        name=name,
        path=path,
        vehicles=vehicles,
        capacity=capacity,
        xy=a[:, 1:3],
        demand=a[:, 3].astype(int),
        ready=a[:, 4],
        due=a[:, 5],
        service=a[:, 6],
    )


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_bks(bench: Path = DEFAULT_BENCH) -> dict[str, dict[str, float]]:
    """Instance -> {"distance_only": float distance, "hierarchical": float distance, ...}."""
    out: dict[str, dict[str, float]] = {}
    with (bench / "bks.csv").open() as f:
        for row in csv.DictReader(f):
            d = out.setdefault(row["instance"].upper(), {})
            if row["objective"].startswith("distance-only"):
                d["distance_only"] = float(row["distance_float"])
                d["distance_only_vehicles"] = int(row["vehicles"])
            else:
                d["hierarchical"] = float(row["distance_float"] or row["distance"])
                d["hierarchical_vehicles"] = int(row["vehicles"])
    return out


def check_routes(
    inst: VRPTW, routes: list[list[int]], eps: float = 1e-6
) -> tuple[float, list[str]]:
    """Independent floating-point evaluation: total distance and every violation."""
    d = inst.distances()
    problems = []
    seen: list[int] = []
    total = 0.0
    if len(routes) > inst.vehicles:
        problems.append(f"{len(routes)} routes > fleet {inst.vehicles}")
    for r in routes:
        if not r:
            continue
        t, prev, load = 0.0, 0, 0
        for c in r:
            total += d[prev, c]
            t = max(t + d[prev, c], inst.ready[c])
            if t > inst.due[c] + eps:
                problems.append(f"customer {c} starts {t:.4f} > due {inst.due[c]}")
            t += inst.service[c]
            load += inst.demand[c]
            prev = c
            seen.append(c)
        total += d[prev, 0]
        if t + d[prev, 0] > inst.due[0] + eps:
            problems.append(f"route ending at {prev} returns late")
        if load > inst.capacity:
            problems.append(f"load {load} > capacity {inst.capacity}")
    if sorted(seen) != list(range(1, inst.n + 1)):
        problems.append(f"customers served {len(seen)} (distinct {len(set(seen))}) of {inst.n}")
    return total, problems


def gap(value: float, ref: float) -> float:
    return 100.0 * (value - ref) / ref if ref and not math.isnan(value) else float("nan")
