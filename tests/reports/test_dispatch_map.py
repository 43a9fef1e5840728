"""The route map: plain projected background by default, tiles when a tile server is set."""

from __future__ import annotations

import math
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.context import SYSTEM
from fieldsvc.dispatch.board import assign_and_pin, build_board
from fieldsvc.dispatch.mapview import HEIGHT, WIDTH, build_map
from tests.reports.conftest import DAY

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
def planned(make, day_world):
    techs, orders = day_world
    for n, wo in enumerate(orders[:3]):
        assign_and_pin(make.session, wo, techs[n % 2].id,
                       datetime.combine(DAY, time(9 + n), tzinfo=TEHRAN), SYSTEM)
    make.session.commit()
    return techs, orders


def test_plain_map_projects_every_point_inside_the_picture(make, planned):
    techs, orders = planned
    board = build_board(make.session, DAY, "tehran", "Asia/Tehran")
    view = build_map(board)
    assert view.projection == "equirectangular" and view.tiles == []
    # Two technicians with work: Ali has jobs 0 and 2, Sara job 1; job 3 waits.
    assert [len(r.stops) for r in view.routes] == [2, 1]
    assert len(view.waiting) == 1
    for route in view.routes:
        for stop in route.stops:
            assert 0 <= stop["x"] <= WIDTH and 0 <= stop["y"] <= HEIGHT
        # A round trip: the path starts and ends at home.
        first, last = route.path.split(" L")[0][1:], route.path.split(" L")[-1]
        assert first == last == f"{route.home[0]},{route.home[1]}"
    # North is up: job 2 (35.72°N) is drawn above job 0 (35.70°N).
    ali = view.routes[0]
    assert ali.stops[1]["y"] < ali.stops[0]["y"]
    assert any(g["label"].endswith("°N") for g in view.grid)
    assert any(g["label"].endswith("°E") for g in view.grid)


def test_tile_url_draws_web_mercator_tiles_behind_the_routes(app, console, planned):
    app.config["TILE_URL"] = "https://tiles.example/{z}/{x}/{y}.png"
    try:
        page = console().get("/console/dispatch/map", query_string={
            "date": DAY.isoformat(), "territory": "tehran"})
    finally:
        app.config["TILE_URL"] = ""
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-projection="web-mercator"' in html
    tiles = re.findall(r'href="https://tiles.example/(\d+)/(\d+)/(\d+).png"', html)
    assert tiles
    zoom = int(tiles[0][0])
    # The tile holding the first job (35.70°N 51.40°E) at that zoom is among them.
    n = 2 ** zoom
    x = int((51.40 + 180) / 360 * n)
    lat = math.radians(35.70)
    y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)
    assert (str(zoom), str(x), str(y)) in tiles


def test_map_page_without_tiles_needs_no_network(console, planned):
    html = console().get("/console/dispatch/map", query_string={
        "date": DAY.isoformat(), "territory": "tehran"}).get_data(as_text=True)
    assert 'data-projection="equirectangular"' in html
    assert "<image" not in html and "http" not in html.split("<svg")[1].split("</svg>")[0]
    assert "Ali Rahimi: 2 jobs" in html


def test_an_empty_day_still_draws_a_map(console):
    page = console().get("/console/dispatch/map", query_string={"date": DAY.isoformat()})
    assert page.status_code == 200
    assert b"Nothing is planned or waiting on this day." in page.data
