"""One clock for local days: a date is always "today" somewhere, never the server's date.

`today_in(zone)` is the local date in an IANA zone; `configured_zone()` is the deployment's
zone (FIELDSVC_TIMEZONE) for code that has no better one. A site's own zone (`Site.timezone`)
wins over the configured one wherever a customer's day matters (`zone_of`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

FALLBACK_ZONE = "Asia/Tehran"  # the configuration's default, when there is no app


def configured_zone() -> str:
    """The deployment's time zone (FIELDSVC_TIMEZONE)."""
    if has_app_context():
        return current_app.config.get("DEFAULT_TIMEZONE") or FALLBACK_ZONE
    return FALLBACK_ZONE


def zone_of(*candidates: str | None, default: str | None = None) -> str:
    """The first zone given (e.g. the site's), else `default`, else the configured one."""
    for zone in candidates:
        if zone:
            return zone
    return default or configured_zone()


def today_in(zone: str | ZoneInfo, now: datetime | None = None) -> date:
    """The local date in `zone` at `now` (default: this instant)."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return (now or datetime.now(UTC)).astimezone(tz).date()
