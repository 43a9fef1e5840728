"""The day's routes on a map, as plain data for an inline SVG (no map library, no network).

Two projections: without a tile server, an equirectangular projection around the centre of
the area (x = Δlon·cos φ₀, y = Δlat) on a plain background with a graticule and place
labels; with a tile server (`FIELDSVC_TILE_URL`, e.g. `https://tiles.example/{z}/{x}/{y}.png`),
Web Mercator at the zoom level that fits the area, with the tiles drawn behind the routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fieldsvc.dispatch.board import Board

WIDTH, HEIGHT, PAD = 1000, 640, 40
TILE = 256
MAX_ZOOM = 18
PALETTE = ("#0b6bcb", "#c2410c", "#15803d", "#7c3aed", "#be185d", "#0e7490", "#a16207",
           "#4d7c0f", "#1d4ed8", "#b91c1c", "#6d28d9", "#047857")
# Places named on the plain background when they fall inside the view.
GAZETTEER = (
    ("Tehran", 35.6892, 51.3890), ("Karaj", 35.8400, 50.9391), ("Isfahan", 32.6546, 51.6680),
    ("Shiraz", 29.5918, 52.5837), ("Mashhad", 36.2605, 59.6168), ("Tabriz", 38.0800, 46.2919),
    ("Qom", 34.6416, 50.8746), ("Ahvaz", 31.3183, 48.6706), ("Kermanshah", 34.3142, 47.0650),
    ("Rasht", 37.2808, 49.5832), ("Yazd", 31.8974, 54.3569), ("Kerman", 30.2839, 57.0834),
    ("Hamadan", 34.7989, 48.5146), ("Arak", 34.0917, 49.6892), ("Kashan", 33.9850, 51.4100),
    ("Tajrish", 35.8050, 51.4260), ("Vanak", 35.7575, 51.4100), ("Narmak", 35.7450, 51.5050),
    ("Azadi", 35.6995, 51.3380), ("Gohardasht", 35.8300, 50.9500), ("Jolfa", 32.6380, 51.6560),
    ("Eram", 29.6360, 52.5250),
)
GRID_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)


class Equirectangular:
    def __init__(self, south: float, west: float, north: float, east: float) -> None:
        self.lat0, self.lon0 = (south + north) / 2, (west + east) / 2
        self.k = math.cos(math.radians(self.lat0))
        span_x = max((east - west) * self.k, 1e-6)
        span_y = max(north - south, 1e-6)
        self.scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)

    def forward(self, lat: float, lon: float) -> tuple[float, float]:
        return (WIDTH / 2 + (lon - self.lon0) * self.k * self.scale,
                HEIGHT / 2 - (lat - self.lat0) * self.scale)

    def inverse(self, x: float, y: float) -> tuple[float, float]:
        return (self.lat0 - (y - HEIGHT / 2) / self.scale,
                self.lon0 + (x - WIDTH / 2) / (self.k * self.scale))


def _mercator(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    world = TILE * 2 ** zoom
    lat = max(-85.0511, min(85.0511, lat))
    s = math.sin(math.radians(lat))
    return ((lon + 180) / 360 * world,
            (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * world)


class WebMercator:
    def __init__(self, south: float, west: float, north: float, east: float) -> None:
        self.zoom = 0
        for zoom in range(MAX_ZOOM, -1, -1):
            x0, y0 = _mercator(north, west, zoom)
            x1, y1 = _mercator(south, east, zoom)
            if x1 - x0 <= WIDTH - 2 * PAD and y1 - y0 <= HEIGHT - 2 * PAD:
                self.zoom = zoom
                break
        cx, cy = _mercator((south + north) / 2, (west + east) / 2, self.zoom)
        self.ox, self.oy = cx - WIDTH / 2, cy - HEIGHT / 2

    def forward(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = _mercator(lat, lon, self.zoom)
        return x - self.ox, y - self.oy

    def inverse(self, x: float, y: float) -> tuple[float, float]:
        world = TILE * 2 ** self.zoom
        mx, my = (x + self.ox) / world, (y + self.oy) / world
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * my))))
        return lat, mx * 360 - 180

    def tiles(self, url: str) -> list[dict]:
        count = 2 ** self.zoom
        out = []
        for tx in range(math.floor(self.ox / TILE), math.floor((self.ox + WIDTH) / TILE) + 1):
            for ty in range(math.floor(self.oy / TILE), math.floor((self.oy + HEIGHT) / TILE) + 1):
                if 0 <= ty < count:
                    href = url.format(z=self.zoom, x=tx % count, y=ty, s="a")
                    out.append({"href": href, "x": round(tx * TILE - self.ox, 1),
                                "y": round(ty * TILE - self.oy, 1)})
        return out


@dataclass
class MapRoute:
    technician: object
    colour: str
    path: str  # SVG path data
    stops: list[dict] = field(default_factory=list)
    home: tuple[float, float] = (0.0, 0.0)


@dataclass
class MapView:
    width: int
    height: int
    routes: list[MapRoute]
    waiting: list[dict]
    grid: list[dict]
    labels: list[dict]
    tiles: list[dict]
    projection: str
    zoom: int | None = None


def _step(span: float) -> float:
    return next((s for s in GRID_STEPS if span / s <= 8), GRID_STEPS[-1])


def build_map(board: Board, tile_url: str | None = None) -> MapView:
    """Project technicians' homes, their jobs in order and the waiting jobs of `board`."""
    points: list[tuple[float, float]] = []
    for lane in board.lanes:
        if lane.jobs:
            points.append((lane.technician.home_latitude, lane.technician.home_longitude))
        points += [(b.work_order.site.latitude, b.work_order.site.longitude)
                   for b in lane.jobs if b.work_order.site.latitude is not None]
    points += [(q.work_order.site.latitude, q.work_order.site.longitude) for q in board.queue
               if q.work_order.site.latitude is not None]
    if not points:
        points = [(lane.technician.home_latitude, lane.technician.home_longitude)
                  for lane in board.lanes] or [(35.6892, 51.3890)]
    south, north = min(p[0] for p in points), max(p[0] for p in points)
    west, east = min(p[1] for p in points), max(p[1] for p in points)
    # At least about 2 km across, so one point still shows its surroundings.
    grow_lat, grow_lon = max(0.0, (0.02 - (north - south)) / 2), max(0.0, (0.02 - (east - west))
                                                                      / 2)
    south, north, west, east = south - grow_lat, north + grow_lat, west - grow_lon, east + grow_lon
    proj = (WebMercator if tile_url else Equirectangular)(south, west, north, east)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        x, y = proj.forward(lat, lon)
        return round(x, 1), round(y, 1)

    routes = []
    for index, lane in enumerate(board.lanes):
        jobs = [b for b in lane.jobs if b.work_order.site.latitude is not None]
        if not jobs:
            continue
        home = xy(lane.technician.home_latitude, lane.technician.home_longitude)
        stops = []
        for n, bar in enumerate(jobs, start=1):
            site = bar.work_order.site
            x, y = xy(site.latitude, site.longitude)
            stops.append({"x": x, "y": y, "n": n, "bar": bar})
        coords = [home] + [(s["x"], s["y"]) for s in stops] + [home]
        path = "M" + " L".join(f"{x},{y}" for x, y in coords)
        routes.append(MapRoute(lane.technician, PALETTE[index % len(PALETTE)], path, stops,
                               home))
    waiting = []
    for item in board.queue:
        site = item.work_order.site
        if site.latitude is not None:
            x, y = xy(site.latitude, site.longitude)
            waiting.append({"x": x, "y": y, "item": item})

    top_lat, left_lon = proj.inverse(0, 0)
    bottom_lat, right_lon = proj.inverse(WIDTH, HEIGHT)
    grid = []
    step = _step(max(right_lon - left_lon, top_lat - bottom_lat))
    decimals = max(0, -math.floor(math.log10(step)))
    lon = math.ceil(left_lon / step) * step
    while lon <= right_lon:
        x = xy(top_lat, lon)[0]
        grid.append({"x1": x, "y1": 0, "x2": x, "y2": HEIGHT, "label": f"{lon:.{decimals}f}°E",
                     "lx": x + 3, "ly": HEIGHT - 6})
        lon += step
    lat = math.ceil(bottom_lat / step) * step
    while lat <= top_lat:
        y = xy(lat, left_lon)[1]
        grid.append({"x1": 0, "y1": y, "x2": WIDTH, "y2": y, "label": f"{lat:.{decimals}f}°N",
                     "lx": 4, "ly": y - 3})
        lat += step
    labels = []
    for name, lat, lon in GAZETTEER:
        x, y = xy(lat, lon)
        if 0 <= x <= WIDTH and 0 <= y <= HEIGHT:
            labels.append({"x": x, "y": y, "name": name})
    return MapView(WIDTH, HEIGHT, routes, waiting, grid, labels,
                   proj.tiles(tile_url) if tile_url else [],
                   "web-mercator" if tile_url else "equirectangular",
                   getattr(proj, "zoom", None))
