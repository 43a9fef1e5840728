"""Contact-center hours follow the week and the holidays of the setting."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.services.interactions import next_opening, parse_hours

TEHRAN = ZoneInfo("Asia/Tehran")
# 2025-05-04 is a Sunday: Wednesday the 7th, Thursday the 8th, Friday the 9th.
SUN, WED, THU, FRI, SAT = (date(2025, 5, d) for d in (4, 7, 8, 9, 10))


def _call(client, day, hour, minute=0):
    at = datetime.combine(day, time(hour, minute), tzinfo=TEHRAN)
    logged = client.post("/api/v1/interactions",
                         json={"channel": "call", "occurred_at": at.isoformat()})
    assert logged.status_code == 201, logged.json
    due = logged.json["callback_due_at"]
    return logged.json["outside_hours"], due and datetime.fromisoformat(due).astimezone(TEHRAN)


def test_the_default_week_is_the_iranian_week(client):
    saturday_opening = datetime(2025, 5, 10, 7, 30, tzinfo=TEHRAN)
    assert _call(client, FRI, 10) == (True, saturday_opening)  # Friday is off
    assert _call(client, SUN, 10) == (False, None)
    assert _call(client, WED, 17, 59) == (False, None)
    assert _call(client, WED, 19) == (True, datetime(2025, 5, 8, 7, 30, tzinfo=TEHRAN))
    assert _call(client, THU, 10) == (False, None)  # Thursday morning
    assert _call(client, THU, 14) == (True, saturday_opening)
    assert _call(client, SAT, 7) == (True, saturday_opening)


def test_working_days_and_holidays_come_from_the_setting(app, client):
    app.config["WORKING_HOURS"] = "sat-thu 08:00-17:00; fri 09:00-12:00; closed 2025-05-04"
    assert _call(client, FRI, 10) == (False, None)
    assert _call(client, THU, 16) == (False, None)
    # The holiday is closed all day; the call is returned the next working morning.
    assert _call(client, SUN, 10) == (True, datetime(2025, 5, 5, 8, 0, tzinfo=TEHRAN))
    assert _call(client, date(2025, 5, 3), 18) == (
        True, datetime(2025, 5, 5, 8, 0, tzinfo=TEHRAN))


@pytest.mark.parametrize("spec, day, open_at", [
    ("07:30-18:00", FRI, time(7, 30)),  # bare hours: every day
    ("sat-wed 07:30-18:00", THU, None),
    ("thu-sat 10:00-14:00", FRI, time(10)),  # ranges run through the end of the week
    ("mon,wed 09:00-10:00; wed 11:00-12:00", WED, time(11)),  # later entries win
    ("sat-wed 07:30-18:00; closed 2025-05-07", WED, None),
])
def test_parse_hours(spec, day, open_at):
    hours = parse_hours(spec).hours_on(day)
    assert (hours[0] if hours else None) == open_at


@pytest.mark.parametrize("spec", ["sat-xyz 08:00-17:00", "sat 8-17", "sat wed 08:00-17:00",
                                  "closed 2025-13-01"])
def test_bad_settings_fail_loudly(spec):
    with pytest.raises(ValueError):
        parse_hours(spec)


def test_a_bad_setting_stops_the_app_from_starting(tmp_path):
    from fieldsvc import create_app

    with pytest.raises(ValueError, match="Unknown day"):
        create_app({"TESTING": True, "WORKING_HOURS": "sat-fry 08:00-17:00",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                    "INSTANCE_PATH": str(tmp_path)})


def test_a_week_that_never_opens_calls_back_the_next_day():
    week = parse_hours("00:00-00:00")
    at = datetime(2025, 5, 9, 10, 0, tzinfo=TEHRAN)
    assert next_opening(at, week, TEHRAN) == datetime(2025, 5, 10, 0, 0, tzinfo=TEHRAN)
