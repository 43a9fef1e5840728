"""Travel matrices: a provider protocol, a vectorised geodesic provider and a cache.

geopy's ``geodesic`` costs about 70 us per pair; the default provider computes the same
WGS-84 geodesic (Karney's algorithm, via pyproj) on whole numpy arrays instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from pyproj import Geod

from .model import Location, TravelMatrix

DEFAULT_ROAD_FACTOR = 1.3  # road distance / geodesic distance
DEFAULT_SPEED_KMH = 40.0  # average speed including urban traffic


@runtime_checkable
class TravelProvider(Protocol):
    """Anything that can turn points into a travel matrix (e.g. a road-distance service)."""

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        """Return durations (s) and distances (m) between every pair of ``points``."""
        ...


def geodesic_metres(points: Sequence[Location]) -> np.ndarray:
    """Return the WGS-84 geodesic distance in metres between every pair of points."""
    n = len(points)
    lat = np.fromiter((p.lat for p in points), dtype=float, count=n)
    lon = np.fromiter((p.lon for p in points), dtype=float, count=n)
    out = np.zeros((n, n))
    if n < 2:
        return out
    geod = Geod(ellps="WGS84")
    # Upper triangle only (the geodesic is symmetric), in row blocks to bound memory.
    iu, ju = np.triu_indices(n, k=1)
    block = 2_000_000
    for a in range(0, len(iu), block):
        i, j = iu[a : a + block], ju[a : a + block]
        _, _, dist = geod.inv(lon[i], lat[i], lon[j], lat[j])
        out[i, j] = dist
    out += out.T
    return out


class GeodesicProvider:
    """Geodesic distance x road factor; duration = that distance / speed."""

    def __init__(
        self,
        road_factor: float = DEFAULT_ROAD_FACTOR,
        speed_kmh: float = DEFAULT_SPEED_KMH,
    ) -> None:
        if road_factor <= 0 or speed_kmh <= 0:
            raise ValueError("road_factor and speed_kmh must be positive")
        self.road_factor = road_factor
        self.speed_kmh = speed_kmh

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        road = geodesic_metres(points) * self.road_factor
        seconds = road / (self.speed_kmh / 3.6)
        return TravelMatrix(
            durations=np.rint(seconds).astype(np.int64),
            distances=np.rint(road).astype(np.int64),
        )


class CachedProvider:
    """Memoise another provider's matrices by the exact list of points."""

    def __init__(self, inner: TravelProvider, max_entries: int = 8) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._cache: dict[tuple[Location, ...], TravelMatrix] = {}

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        key = tuple(points)
        hit = self._cache.get(key)
        if hit is None:
            hit = self.inner.matrix(points)
            if len(self._cache) >= self.max_entries:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hit
        return hit


class StaticMatrix:
    """A provider for a matrix given up front; points are ``int`` indices into it."""

    def __init__(self, durations: np.ndarray, distances: np.ndarray | None = None) -> None:
        self.durations = np.asarray(durations, dtype=np.int64)
        self.distances = self.durations if distances is None else np.asarray(distances, np.int64)

    def matrix(self, points: Sequence[int]) -> TravelMatrix:
        idx = np.asarray(points, dtype=np.int64)
        return TravelMatrix(
            durations=self.durations[np.ix_(idx, idx)],
            distances=self.distances[np.ix_(idx, idx)],
        )
