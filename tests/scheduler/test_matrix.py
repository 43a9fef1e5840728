import numpy as np
import pytest
from geopy.distance import geodesic

from scheduler import CachedProvider, GeodesicProvider, Location, StaticMatrix, TravelProvider
from scheduler.matrix import geodesic_metres


def _points(n: int, seed: int = 0) -> list[Location]:
    rng = np.random.default_rng(seed)
    # Mix city-scale and continental distances.
    lat = rng.uniform(-60, 70, n)
    lon = rng.uniform(-170, 170, n)
    lat[: n // 2] = 48.8 + rng.uniform(0, 0.5, n // 2)
    lon[: n // 2] = 2.2 + rng.uniform(0, 0.5, n // 2)
    return [Location(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]


def test_vectorised_geodesic_agrees_with_geopy():
    pts = _points(40)
    ours = geodesic_metres(pts)
    worst = 0.0
    for i in range(len(pts)):
        for j in range(len(pts)):
            if i == j:
                assert ours[i, j] == 0
                continue
            ref = geodesic((pts[i].lat, pts[i].lon), (pts[j].lat, pts[j].lon)).meters
            worst = max(worst, abs(ours[i, j] - ref) / ref)
    # Both implement Karney's algorithm on WGS-84: far below the 0.5 % budget.
    assert worst < 1e-6


def test_provider_applies_road_factor_and_speed():
    a, b = Location(48.85, 2.35), Location(48.86, 2.36)
    m = GeodesicProvider(road_factor=1.5, speed_kmh=36.0).matrix([a, b])
    ref = geodesic((a.lat, a.lon), (b.lat, b.lon)).meters * 1.5
    assert m.distances[0, 1] == pytest.approx(ref, abs=1)
    assert m.durations[0, 1] == pytest.approx(ref / 10.0, abs=1)  # 36 km/h = 10 m/s
    assert m.durations[1, 0] == m.durations[0, 1]


def test_large_matrix_is_vectorised():
    pts = _points(1100, seed=1)
    m = GeodesicProvider().matrix(pts)
    assert m.durations.shape == (1100, 1100)
    assert m.durations.dtype == np.int32 and m.distances.dtype == np.int32  # half of int64
    assert (np.diag(m.durations) == 0).all()


def test_blockwise_int32_matrix_equals_the_dense_geodesic_one(monkeypatch):
    import scheduler.matrix as matrix

    monkeypatch.setattr(matrix, "PAIRS_PER_BLOCK", 500)  # many blocks, uneven last one
    pts = _points(301, seed=3)
    provider = GeodesicProvider()
    m = provider.matrix(pts)
    dense = provider._from_metres(geodesic_metres(pts))
    assert (m.durations == dense.durations).all() and (m.distances == dense.distances).all()
    assert (m.durations == m.durations.T).all()


def test_values_that_do_not_fit_int32_stay_int64():
    from scheduler.matrix import StaticMatrix

    assert StaticMatrix(np.array([[0, 5], [5, 0]])).durations.dtype == np.int32
    big = np.array([[0, 2**33], [2**33, 0]])
    assert StaticMatrix(big).matrix([1, 0]).durations[0, 1] == 2**33


def test_cached_provider_calls_inner_once():
    calls = []

    class Counting:
        def matrix(self, points):
            calls.append(len(points))
            return GeodesicProvider().matrix(points)

    c = CachedProvider(Counting())
    pts = _points(5)
    c.matrix(pts)
    c.matrix(list(pts))
    assert calls == [5]
    assert isinstance(c, TravelProvider)


def test_static_matrix_selects_rows_and_columns():
    d = np.arange(16).reshape(4, 4)
    m = StaticMatrix(d).matrix([3, 1])
    assert m.durations.tolist() == [[15, 13], [7, 5]]


def test_rejects_non_positive_speed():
    with pytest.raises(ValueError):
        GeodesicProvider(speed_kmh=0)
