"""Peak memory of a day's travel matrices: int32 by blocks (now) vs int64 dense (before).

    PYTHONPATH=. python benchmarks/matrix_memory.py 2000 5000

Peak is what tracemalloc sees numpy allocate (numpy reports its buffers to it) while one
matrix pair is built and held; the "before" figure rebuilds the previous way (a float64
geodesic matrix through triangle index arrays, then int64 matrices).
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc

import numpy as np

from scheduler.matrix import GeodesicProvider, geodesic_metres
from scheduler.model import Location


def _points(n: int) -> list[Location]:
    rng = random.Random(n)
    return [Location(35.55 + rng.random() * 0.3, 51.2 + rng.random() * 0.45) for _ in range(n)]


def _before(provider: GeodesicProvider, points):
    road = geodesic_metres(points) * provider.road_factor
    return (np.rint(road / (provider.speed_kmh / 3.6)).astype(np.int64),
            np.rint(road).astype(np.int64))


def _measure(build) -> tuple[float, float, object]:
    tracemalloc.start()
    t0 = time.perf_counter()
    result = build()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, seconds, result


def main(sizes: list[int]) -> None:
    provider = GeodesicProvider()
    print(f"{'points':>7} {'before MB':>10} {'before s':>9} {'now MB':>8} {'now s':>7} "
          f"{'held MB':>8} same")
    for n in sizes:
        points = _points(n)
        old_mb, old_s, old = _measure(lambda p=points: _before(provider, p))
        new_mb, new_s, new = _measure(lambda p=points: provider.matrix(p))
        same = bool((old[0] == new.durations).all() and (old[1] == new.distances).all())
        held = (new.durations.nbytes + new.distances.nbytes) / 2**20
        del old, new
        print(f"{n:>7} {old_mb:>10.0f} {old_s:>9.2f} {new_mb:>8.0f} {new_s:>7.2f} "
              f"{held:>8.0f} {same}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 5000])
