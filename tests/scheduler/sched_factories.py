"""Small hand-checkable problems on a line: point k sits k km east of point 0."""

from __future__ import annotations

import datetime as dt

import numpy as np

from scheduler import (
    Break,
    Job,
    Problem,
    Shift,
    Technician,
    TimeWindow,
    TravelMatrix,
    Warehouse,
)

H = 3600
ORIGIN = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
MINUTE_PER_KM = 60  # one km = one minute of driving


def line_matrix(n: int = 50) -> TravelMatrix:
    """Points on a line, |i - j| km and minutes apart."""
    k = np.arange(n)
    km = np.abs(k[:, None] - k[None, :])
    return TravelMatrix(durations=km * MINUTE_PER_KM, distances=km * 1000)


def tech(
    id: str = "T1",
    home: int = 0,
    start: int = 8 * H,
    end: int = 17 * H,
    days: tuple[int, ...] = (0,),
    breaks: tuple[Break, ...] = (),
    **kw,
) -> Technician:
    def moved(b: Break, d: int) -> Break:
        return Break(TimeWindow(b.window.start + d * 86_400, b.window.end + d * 86_400), b.duration)

    shifts = [
        Shift(
            day=d,
            start=d * 86_400 + start,
            end=d * 86_400 + end,
            breaks=tuple(moved(b, d) for b in breaks),
        )
        for d in days
    ]
    kw.setdefault("skills", {"hvac": 3})
    return Technician(id=id, start=home, shifts=shifts, **kw)


def job(id: str, at: int, minutes: int = 30, **kw) -> Job:
    kw.setdefault("required_skills", {"hvac": 1})
    return Job(id=id, location=at, duration=minutes * 60, **kw)


def window(h0: float, h1: float, day: int = 0) -> TimeWindow:
    return TimeWindow(int(day * 86_400 + h0 * H), int(day * 86_400 + h1 * H))


def problem(techs, jobs, warehouses=(), **kw) -> Problem:
    return Problem(
        origin=ORIGIN,
        technicians=list(techs),
        jobs=list(jobs),
        warehouses=list(warehouses),
        matrix=kw.pop("matrix", line_matrix()),
        **kw,
    )


def warehouse(id: str, at: int, **stock: int) -> Warehouse:
    return Warehouse(id=id, location=at, stock=dict(stock), service_time=600)
