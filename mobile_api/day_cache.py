"""The day answer, rendered once and served again while nothing it shows has changed.

Every request reads the data version (`mobile_day_version`, bumped by database triggers
in every transaction that writes a table the day is read from, see `DayVersion`) before
anything else. A rendered body is kept per (technician, date) with the version read before
it was built; it is served only while the version is still the same. Reading the version
first makes a race harmless: a change committed while the body is being built may or may
not be in it, but it moved the version on, so the next request builds the day again.

The version has two parts: the technician's own counter (`DayTechVersion`: their work
orders and what hangs on them, their technician row, attachments and change feed) and the
shared one (customers, sites, assets, products, parts, stock, tickets, RMAs, recalls). A
write to another technician's work order leaves this day cached; a write to a shared
table renders every day again (a miss costs what the day cost without a cache). The ETag is a digest of the body itself, so a phone gets 304 whenever its copy is
still the right one, even after such a re-render.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from flask import Flask, Response, current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from fieldsvc.ops import metrics
from mobile_api.day import load_day
from mobile_api.models import DayTechVersion, DayVersion
from mobile_api.pickups import PlanCache

EXTENSION = "mobile_day_cache"
PLANS = "mobile_day_plans"  # published plans' pick-ups (immutable, see PlanCache)


@dataclass(frozen=True)
class Rendered:
    version: tuple
    etag: str
    body: bytes


class DayCache:
    """Least recently used (technician id, date) → Rendered, safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, date], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, date], version: tuple) -> Rendered | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found.version != version:
                return None
            self._items.move_to_end(key)
            return found

    def put(self, key: tuple[int, date], rendered: Rendered) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = rendered
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def init_app(app: Flask) -> None:
    # FIELDSVC_MOBILE_DAY_CACHE_SIZE: days kept per process (a rendered day is ~25 KB).
    app.extensions[EXTENSION] = DayCache(app.config["MOBILE_DAY_CACHE_SIZE"])
    app.extensions[PLANS] = PlanCache()


_VERSION = text(
    f"SELECT count(*), coalesce(sum(n), 0), coalesce(sum(generation), 0), "
    f"(SELECT n FROM {DayTechVersion.__tablename__} WHERE technician_id = :tech), "
    f"(SELECT generation FROM {DayTechVersion.__tablename__} WHERE technician_id = :tech) "
    f"FROM {DayVersion.__tablename__}")


def data_version(session: Session, technician_id: int) -> tuple:
    """The shared version and this technician's own, in one statement (every request)."""
    return tuple(session.execute(_VERSION, {"tech": technician_id}).one())


def render(doc: dict) -> tuple[str, bytes]:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"', body


def current_day(session: Session, technician_id: int, day: date) -> Rendered:
    """The rendered day, from the cache when the data version has not moved."""
    cache: DayCache = current_app.extensions[EXTENSION]
    version = data_version(session, technician_id)
    key = (technician_id, day)
    found = cache.get(key, version)
    if found is not None:
        metrics.DAY_CACHE_HIT.inc()
        return found
    metrics.DAY_CACHE_MISS.inc()
    tag, body = render(load_day(session, technician_id, day,
                                current_app.extensions.get(PLANS)))
    rendered = Rendered(version, tag, body)
    cache.put(key, rendered)
    return rendered


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 weak comparison of If-None-Match against the current ETag."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(part.strip().removeprefix("W/") == tag for part in if_none_match.split(","))


def day_response(session: Session, technician_id: int, day: date,
                 if_none_match: str | None) -> Response:
    rendered = current_day(session, technician_id, day)
    if matches(if_none_match, rendered.etag):
        response = Response(status=304)
    else:
        response = Response(rendered.body, status=200, mimetype="application/json")
    response.headers["ETag"] = rendered.etag
    # The phone may keep the day but must ask again (If-None-Match) before using it.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
