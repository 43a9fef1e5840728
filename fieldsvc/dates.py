"""One clock for local days: "today" is always a date in a named time zone.

A warranty, a contract, an RMA deadline or a recall day is a local calendar date; the UTC
date (or the server's own zone) is wrong for hours around midnight — from 00:00 to 03:30
in Tehran the UTC date is still yesterday. Services take `today` (or the zone)
explicitly; when a caller gives none, the default is today in the configured zone
(FIELDSVC_TIMEZONE, `DEFAULT_TIMEZONE` in the app's configuration).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from fieldsvc.config import DEFAULT_TIMEZONE


def zone(name: str | None) -> tzinfo:
    """The IANA zone `name`; UTC when no name is given or this machine does not know it."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # validated on write; stay usable regardless
        return UTC


def configured_zone_name() -> str:
    """The deployment's zone: the app's DEFAULT_TIMEZONE inside an app, else the default."""
    # Imported here: this module stays usable (and importable) without Flask.
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config.get("DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE
    return DEFAULT_TIMEZONE


def zone_of(*candidates: str | None, default: str | None = None) -> str:
    """The first zone given (e.g. a customer's site's), else `default`, else the configured one."""
    for name in candidates:
        if name:
            return name
    return default or configured_zone_name()


def today_in(zone_name: str | None, now: datetime | None = None) -> date:
    """The calendar date in `zone_name` at `now` (default: this instant)."""
    return (now or datetime.now(UTC)).astimezone(zone(zone_name)).date()


def local_today(now: datetime | None = None) -> date:
    """Today in the configured zone (FIELDSVC_TIMEZONE)."""
    return today_in(configured_zone_name(), now)


def local_moment(
    moment: datetime | None,
    zone_name: str | None = None,
    fmt: str = "%Y-%m-%d %H:%M",
    zone_label: str | None = None,
) -> str:
    """`moment` as read in `zone_name` (default: the configured zone), labelled with the zone.

    Every time a person reads is shown this way — a call-back due at 00:00 in Tehran reads
    "00:00 (Asia/Tehran)", never the UTC 20:30 of the day before. An empty moment is "—".
    `zone_label` replaces the zone's name in the label (a translated name).
    """
    if moment is None:
        return "—"
    name = zone_of(zone_name)
    if moment.tzinfo is None:  # stored moments are UTC; a naive one is read as UTC too
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(zone(name)).strftime(fmt)} ({zone_label or name})"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month."""
    return day + relativedelta(months=months)


def jalali(day: date) -> tuple[int, int, int]:
    """The Solar Hijri (Jalali) year, month and day of the Gregorian `day`.

    The arithmetic form of the calendar used in Iran (33-year cycles of 8 leap years, the
    year starting at the March equinox), exact for 1800–2200; a dozen lines of integer
    arithmetic need no dependency.
    """
    before = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
    year = day.year + 1 if day.month > 2 else day.year
    days = (
        355666
        + 365 * day.year
        + (year + 3) // 4
        - (year + 99) // 100
        + (year + 399) // 400
        + day.day
        + before[day.month - 1]
    )
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


JALALI_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
PERSIAN_WEEKDAYS = ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنج‌شنبه", "جمعه", "شنبه", "یکشنبه")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_digits(text: str) -> str:
    """`text` with its ASCII digits written as Persian ones (۰–۹)."""
    return text.translate(_PERSIAN_DIGITS)


def persian_day(day: date) -> str:
    """A day as a Persian reader reads it — Jalali, Persian digits — with the Gregorian
    ISO date beside it (contracts, recalls and the ledger are kept in Gregorian)."""
    jy, jm, jd = jalali(day)
    spoken = persian_digits(f"{PERSIAN_WEEKDAYS[day.weekday()]} {jd} {JALALI_MONTHS[jm - 1]} {jy}")
    return f"{spoken} ({day.isoformat()})"
