"""Travel matrices: a provider protocol, a vectorised geodesic provider and a cache.

geopy's ``geodesic`` costs about 70 us per pair; the default provider computes the same
WGS-84 geodesic (Karney's algorithm, via pyproj) on whole numpy arrays instead.

Matrices are ``int32`` (seconds and metres: a 2^31 cap is 68 years or 2 million km) and
the geodesic provider fills them a block of rows at a time, so a day of n points costs
8·n² bytes for both matrices and a bounded working set on top, instead of the int64
matrices plus several float64 n² temporaries (about 1 GB at 5,000 points before, 200 MB
now; `benchmarks/matrix_memory.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from pyproj import Geod

from .model import Location, TravelMatrix

DEFAULT_ROAD_FACTOR = 1.3  # road distance / geodesic distance
DEFAULT_SPEED_KMH = 40.0  # average speed including urban traffic
MATRIX_DTYPE = np.int32
_INT32_MAX = np.iinfo(np.int32).max
PAIRS_PER_BLOCK = 250_000  # geodesics computed at once (about 25 MB of temporaries)


def compact(a) -> np.ndarray:
    """`a` as int32 when every value fits (they always do for seconds and metres), else int64."""
    a = np.asarray(a)
    if a.dtype == MATRIX_DTYPE:
        return a
    if a.size and (a.max() > _INT32_MAX or a.min() < -_INT32_MAX):
        return a.astype(np.int64, copy=False)
    return a.astype(MATRIX_DTYPE)


@runtime_checkable
class TravelProvider(Protocol):
    """Anything that can turn points into a travel matrix (e.g. a road-distance service)."""

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        """Return durations (s) and distances (m) between every pair of ``points``."""
        ...


def geodesic_between(a: Sequence[Location], b: Sequence[Location]) -> np.ndarray:
    """Return the WGS-84 geodesic distance in metres from each point of ``a`` to each of ``b``."""
    la = np.repeat([p.lat for p in a], len(b))
    oa = np.repeat([p.lon for p in a], len(b))
    lb = np.tile([p.lat for p in b], len(a))
    ob = np.tile([p.lon for p in b], len(a))
    if not len(la):
        return np.zeros((len(a), len(b)))
    _, _, dist = Geod(ellps="WGS84").inv(oa, la, ob, lb)
    return np.asarray(dist).reshape(len(a), len(b))


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
        self._geod = Geod(ellps="WGS84")

    def _from_metres(self, metres: np.ndarray) -> TravelMatrix:
        road = metres * self.road_factor
        seconds = road / (self.speed_kmh / 3.6)
        return TravelMatrix(
            durations=compact(np.rint(seconds)),
            distances=compact(np.rint(road)),
        )

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        """Both int32 matrices, filled by blocks of rows of the upper triangle (the geodesic
        is symmetric) and mirrored, so no n² float temporaries are ever held."""
        n = len(points)
        lat = np.fromiter((p.lat for p in points), dtype=float, count=n)
        lon = np.fromiter((p.lon for p in points), dtype=float, count=n)
        dur = np.zeros((n, n), dtype=MATRIX_DTYPE)
        dist = np.zeros((n, n), dtype=MATRIX_DTYPE)
        per_second = self.speed_kmh / 3.6
        i0 = 0
        while i0 < n - 1:
            # Rows i0..i1-1 against their columns j > i: about PAIRS_PER_BLOCK pairs.
            i1 = i0 + 1
            pairs = n - i0 - 1
            while i1 < n - 1 and pairs + (n - i1 - 1) <= PAIRS_PER_BLOCK:
                pairs += n - i1 - 1
                i1 += 1
            rows = np.arange(i0, i1)
            counts = n - rows - 1
            i = np.repeat(rows, counts)
            j = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts) + i + 1
            _, _, metres = self._geod.inv(lon[i], lat[i], lon[j], lat[j])
            road = np.asarray(metres) * self.road_factor
            dist[i, j] = np.rint(road)
            dur[i, j] = np.rint(road / per_second)
            dist[j, i] = dist[i, j]
            dur[j, i] = dur[i, j]
            i0 = i1
        return TravelMatrix(durations=dur, distances=dist)

    def pair(self, a: Location, b: Location) -> tuple[int, int]:
        """(seconds, metres) from a to b, computed exactly as :meth:`matrix` does."""
        if a == b:
            return 0, 0
        _, _, metres = self._geod.inv(a.lon, a.lat, b.lon, b.lat)
        road = metres * self.road_factor
        return int(np.rint(road / (self.speed_kmh / 3.6))), int(np.rint(road))

    def between(self, a: Sequence[Location], b: Sequence[Location]) -> TravelMatrix:
        """Rectangular matrix from ``a`` to ``b`` (lets a cache grow by a few points)."""
        return self._from_metres(geodesic_between(a, b))


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
            hit = self._extend(key) or self.inner.matrix(points)
            if len(self._cache) >= self.max_entries:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hit
        return hit

    def _extend(self, key: tuple[Location, ...]) -> TravelMatrix | None:
        """Reuse a cached prefix of ``key`` when only a few points were appended (an
        emergency job added to a planned day) and the inner provider can do rectangles."""
        between = getattr(self.inner, "between", None)
        if between is None:
            return None
        for old_key, old in reversed(self._cache.items()):
            n = len(old_key)
            if n < len(key) <= n + 8 and key[:n] == old_key:
                extra = key[n:]
                out_rows = between(extra, key)  # new -> all
                in_cols = between(key, extra)  # all -> new
                m = len(key)
                kind = np.result_type(old.durations, out_rows.durations, in_cols.durations)
                dur = np.zeros((m, m), dtype=kind)
                dist = np.zeros((m, m), dtype=kind)
                dur[:n, :n], dist[:n, :n] = old.durations, old.distances
                dur[n:, :], dist[n:, :] = out_rows.durations, out_rows.distances
                dur[:, n:], dist[:, n:] = in_cols.durations, in_cols.distances
                return TravelMatrix(durations=dur, distances=dist)
        return None


class StaticMatrix:
    """A provider for a matrix given up front; points are ``int`` indices into it."""

    def __init__(self, durations: np.ndarray, distances: np.ndarray | None = None) -> None:
        self.durations = compact(durations)
        self.distances = self.durations if distances is None else compact(distances)

    def matrix(self, points: Sequence[int]) -> TravelMatrix:
        idx = np.asarray(points, dtype=np.int64)
        return TravelMatrix(
            durations=self.durations[np.ix_(idx, idx)],
            distances=self.distances[np.ix_(idx, idx)],
        )


class LazyPairs:
    """Matrix-like access ``m[a, b]`` to a provider's pairs, computed on first use.

    For emergency insertion, which reads a few thousand pairs of a day that would need
    hundreds of thousands for a full matrix.
    """

    def __init__(self, points: Sequence[Location], pair, which: int, cache: dict) -> None:
        self.points = points
        self.pair = pair
        self.which = which
        self.cache = cache

    def __getitem__(self, ab: tuple[int, int]) -> int:
        hit = self.cache.get(ab)
        if hit is None:
            hit = self.cache[ab] = self.pair(self.points[ab[0]], self.points[ab[1]])
        return hit[self.which]


def lazy_pairs(provider, points: Sequence[Location]) -> tuple[LazyPairs, LazyPairs] | None:
    """Lazy (durations, distances) when the provider can compute single pairs, else None."""
    inner = getattr(provider, "inner", provider)
    pair = getattr(inner, "pair", None)
    if pair is None:
        return None
    cache: dict = {}
    return LazyPairs(points, pair, 0, cache), LazyPairs(points, pair, 1, cache)
