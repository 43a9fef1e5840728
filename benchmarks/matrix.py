"""Travel matrix speed and accuracy: N x N points around Tehran, vectorised vs geopy.

    python benchmarks/matrix.py [--points 1100] [--sample 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import time

from geopy.distance import geodesic

from scheduler.matrix import geodesic_metres
from scheduler.model import Location


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1100)
    parser.add_argument("--sample", type=int, default=2000, help="pairs checked with geopy")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    points = [Location(35.5 + rng.random() * 0.5, 51.1 + rng.random() * 0.7)
              for _ in range(args.points)]

    t0 = time.perf_counter()
    metres = geodesic_metres(points)
    vectorised = time.perf_counter() - t0

    pairs = [(rng.randrange(args.points), rng.randrange(args.points))
             for _ in range(args.sample)]
    t0 = time.perf_counter()
    worst = 0.0
    for i, j in pairs:
        if i == j:
            continue
        ref = geodesic((points[i].lat, points[i].lon), (points[j].lat, points[j].lon)).meters
        worst = max(worst, abs(metres[i, j] - ref) / ref)
    per_pair = (time.perf_counter() - t0) / len(pairs)

    n = args.points
    print(f"{n} x {n} geodesic matrix (vectorised, pyproj): {vectorised:.3f} s")
    print(f"geopy pair by pair: {per_pair * 1e6:.0f} us/pair -> {per_pair * n * n:.0f} s "
          f"for the same matrix")
    print(f"largest relative difference vs geopy over {len(pairs)} pairs: {worst:.2e}")


if __name__ == "__main__":
    main()
