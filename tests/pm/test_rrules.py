"""RRULE edge cases through generation: month ends, daylight saving, Tehran, east of UTC."""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.services.pm_generation import rebased_dtstart
from fieldsvc.services.pm_plans import occurrences

NEW_YORK = ZoneInfo("America/New_York")
TEHRAN = ZoneInfo("Asia/Tehran")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def _at(day: date, hour: int, tz) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def _days(pm_orders, plan_id):
    return [d for _, _, d, _ in pm_orders(plan_id)]


def test_month_end_rules(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    start = _at(date(2027, 1, 1), 9, TEHRAN)
    the_31st = plan([asset], rrule="FREQ=MONTHLY;BYMONTHDAY=31", dtstart=start)
    last_day = plan([asset], rrule="FREQ=MONTHLY;BYMONTHDAY=-1", dtstart=start)
    generate(now=_at(date(2028, 1, 1), 12, TEHRAN), horizon_days=365)
    # Months without a 31st are skipped, not moved; 2028 is a leap year.
    assert _days(pm_orders, the_31st.id) == [
        date(2028, m, 31) for m in (1, 3, 5, 7, 8, 10, 12)]
    assert _days(pm_orders, last_day.id) == [
        date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30),
        date(2028, 5, 31), date(2028, 6, 30), date(2028, 7, 31), date(2028, 8, 31),
        date(2028, 9, 30), date(2028, 10, 31), date(2028, 11, 30), date(2028, 12, 31)]


def test_new_york_spring_forward_keeps_nine_oclock(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    sundays = plan([asset], rrule="FREQ=WEEKLY;BYDAY=SU", timezone="America/New_York",
                   dtstart=_at(date(2025, 11, 2), 9, NEW_YORK))
    now = _at(date(2026, 2, 26), 12, NEW_YORK)
    generate(now=now, horizon_days=20)
    # Clocks go forward on Sunday 2026-03-08: still one job per Sunday, none shifted.
    assert _days(pm_orders, sundays.id) == [date(2026, 3, 1), date(2026, 3, 8),
                                            date(2026, 3, 15)]
    times = occurrences(sundays.rrule, sundays.dtstart, sundays.timezone, now,
                        now + timedelta(days=20))
    assert [t.strftime("%H:%M %Z") for t in times] == ["09:00 EST", "09:00 EDT", "09:00 EDT"]
    assert [t.astimezone(UTC).hour for t in times] == [14, 13, 13]


def test_daily_rule_at_the_missing_hour_keeps_every_day(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    at_230 = plan([asset], rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
                  timezone="America/New_York", dtstart=_at(date(2026, 3, 1), 2, NEW_YORK))
    generate(now=_at(date(2026, 3, 6), 12, NEW_YORK), horizon_days=4)
    # 02:30 does not exist on 2026-03-08; the day still gets its work order.
    assert _days(pm_orders, at_230.id) == [date(2026, 3, d) for d in range(6, 11)]


def test_tehran_weekly_saturday_without_daylight_saving(make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    saturdays = plan([asset], rrule="FREQ=WEEKLY;BYDAY=SA", timezone="Asia/Tehran",
                     dtstart=_at(date(2023, 1, 7), 8, TEHRAN))
    # Around the old March/September switch dates: the offset stays +03:30.
    now = _at(date(2024, 3, 14), 12, TEHRAN)
    generate(now=now, horizon_days=14)
    assert _days(pm_orders, saturdays.id) == [date(2024, 3, 16), date(2024, 3, 23)]
    times = occurrences(saturdays.rrule, saturdays.dtstart, "Asia/Tehran", now,
                        now + timedelta(days=190))
    assert {t.utcoffset() for t in times} == {timedelta(hours=3, minutes=30)}
    assert {(t.weekday(), t.hour) for t in times} == {(5, 8)}


def test_zone_east_of_utc_uses_the_local_due_day(app, make, plan, generate, pm_orders):
    asset = make.asset(site=make.site())
    # 06:00 on the 1st in Auckland (UTC+13 in summer) is 17:00 UTC on the last of the month.
    first = plan([asset], rrule="FREQ=MONTHLY;BYMONTHDAY=1", timezone="Pacific/Auckland",
                 dtstart=_at(date(2029, 1, 1), 6, AUCKLAND), lead_days=3)
    # It is 2030-01-30 20:00 UTC = 2030-01-31 09:00 in Auckland: the 1st is one day away.
    report = generate(now=datetime(2030, 1, 30, 20, tzinfo=UTC))
    assert _days(pm_orders, first.id) == [date(2030, 2, 1)]
    from fieldsvc.extensions import db
    from fieldsvc.models import WorkOrderWindow

    with app.app_context():
        window = db.session.execute(db.select(WorkOrderWindow.starts_at,
                                              WorkOrderWindow.ends_at)).one()
        db.session.remove()
    # The window ends at Auckland midnight after the due day, i.e. 11:00 UTC on 1 Feb.
    assert window.ends_at == datetime(2030, 2, 1, 11, tzinfo=UTC)
    assert report.work_orders_created == 1


# --- rebasing dtstart is an optimisation only: same occurrences ---------------------------

RULES = [
    "FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;INTERVAL=10;BYDAY=MO,TU,WE",
    "FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=SA", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
    "FREQ=WEEKLY;INTERVAL=3;WKST=SU;BYDAY=SU,SA", "FREQ=MONTHLY",
    "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;INTERVAL=5",
    "FREQ=MONTHLY;INTERVAL=3;BYDAY=SA;BYSETPOS=1", "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=YEARLY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;INTERVAL=2;BYWEEKNO=20",
    "FREQ=YEARLY;BYYEARDAY=-1", "FREQ=DAILY;COUNT=400", "FREQ=WEEKLY;UNTIL=20290101T000000Z",
    "FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=-1", "FREQ=WEEKLY;WKST=SU;BYDAY=SU,SA;BYSETPOS=1",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=30",
    "FREQ=YEARLY;INTERVAL=3;BYMONTH=6", "FREQ=MONTHLY;INTERVAL=4",
    "FREQ=YEARLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29", "FREQ=DAILY;BYHOUR=7;BYMINUTE=15",
]
ZONES = ["Asia/Tehran", "America/New_York", "Pacific/Auckland", "Europe/London", "UTC"]


@pytest.mark.parametrize("rule", RULES)
def test_rebased_start_gives_the_same_occurrences(rule):
    rnd = random.Random(rule)
    for _ in range(25):
        tz_name = rnd.choice(ZONES)
        tz = ZoneInfo(tz_name)
        year, month = rnd.randint(2015, 2027), rnd.randint(1, 12)
        day = rnd.randint(1, calendar.monthrange(year, month)[1])
        dtstart = datetime(year, month, day, rnd.randint(0, 23), rnd.choice([0, 30]),
                           tzinfo=tz)
        start = datetime.combine(date(2028, 1, 1) + timedelta(days=rnd.randint(0, 900)),
                                 time(0), tzinfo=tz)
        end = start + timedelta(days=rnd.choice([1, 31, 200]))
        anchor = rebased_dtstart(rule, dtstart, tz, start)
        assert anchor <= start
        assert occurrences(rule, anchor, tz_name, start, end) == \
            occurrences(rule, dtstart, tz_name, start, end), (rule, dtstart, start)


def test_rebase_moves_old_starts_forward_but_keeps_counted_rules():
    tz = TEHRAN
    start = datetime(2030, 1, 10, tzinfo=tz)
    old = datetime(2020, 5, 3, 9, tzinfo=tz)
    assert rebased_dtstart("FREQ=WEEKLY;BYDAY=SA", old, tz, start) > start - timedelta(days=21)
    assert rebased_dtstart("FREQ=DAILY;COUNT=5000", old, tz, start) == old
    # A 31st is not in every month: a monthly rule starting on it keeps its start.
    on_31st = datetime(2020, 5, 31, 9, tzinfo=tz)
    assert rebased_dtstart("FREQ=MONTHLY", on_31st, tz, start) == on_31st
