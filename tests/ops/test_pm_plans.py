"""Preventive maintenance plans: recurrence validation, occurrences, links."""

from datetime import UTC, date, datetime

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, PmPlan, PmPlanAsset
from fieldsvc.services.pm_plans import RuleError, build_rule, next_after, occurrences

PROBLEM = "application/problem+json"


def _plan(**kw):
    body = {"name": "Quarterly service", "rrule": "FREQ=MONTHLY;INTERVAL=3",
            "dtstart": "2025-01-15T09:00:00+03:30", "timezone": "Asia/Tehran"}
    body.update(kw)
    return body


# The pure occurrence function ------------------------------------------------------------

def test_occurrences_keep_local_wall_time_across_daylight_saving():
    tz = "America/New_York"
    start = datetime(2025, 3, 7, tzinfo=UTC)
    end = datetime(2025, 3, 12, tzinfo=UTC)
    found = occurrences("FREQ=DAILY", datetime(2025, 1, 1, 14, 0, tzinfo=UTC), tz, start, end)
    # 09:00 EST is 14:00 UTC; from 9 March (EDT) 09:00 local is 13:00 UTC.
    assert [o.hour for o in found] == [9, 9, 9, 9, 9]
    assert [o.astimezone(UTC).hour for o in found] == [14, 14, 13, 13, 13]


def test_occurrences_bymonthday_31_skips_short_months_and_minus_one_is_month_end():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2026, 1, 1, tzinfo=UTC)
    dtstart = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    on_31 = occurrences("FREQ=MONTHLY;BYMONTHDAY=31", dtstart, "Europe/Berlin", start, end)
    assert [o.month for o in on_31] == [1, 3, 5, 7, 8, 10, 12]
    last = occurrences("RRULE:FREQ=MONTHLY;BYMONTHDAY=-1", dtstart, "Europe/Berlin", start, end)
    assert [o.date() for o in last][:3] == [date(2025, 1, 31), date(2025, 2, 28),
                                              date(2025, 3, 31)]
    assert len(last) == 12


def test_occurrence_on_a_skipped_wall_time_becomes_the_real_instant():
    found = occurrences("FREQ=DAILY", datetime(2025, 3, 8, 7, 30, tzinfo=UTC),
                        "America/New_York", datetime(2025, 3, 9, tzinfo=UTC),
                        datetime(2025, 3, 10, tzinfo=UTC))
    # 02:30 does not exist on 9 March 2025 in New York; it is 03:30 EDT = 07:30 UTC.
    assert len(found) == 1
    assert found[0].astimezone(UTC) == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)
    assert found[0].hour == 3


def test_occurrences_window_is_half_open_and_until_is_honoured():
    dtstart = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
    found = occurrences("FREQ=DAILY;UNTIL=20250105T235959", dtstart, "UTC",
                        datetime(2025, 1, 1, 6, 0, tzinfo=UTC), datetime(2025, 1, 10, tzinfo=UTC))
    assert [o.day for o in found] == [1, 2, 3, 4, 5]
    nxt = next_after("FREQ=WEEKLY;BYDAY=SA", dtstart, "Asia/Tehran",
                     datetime(2025, 1, 1, tzinfo=UTC), count=2)
    assert [o.weekday() for o in nxt] == [5, 5]


@pytest.mark.parametrize("rule", [
    "garbage", "", "FREQ=HOURLY", "FREQ=MINUTELY", "FREQ=SECONDLY", "FREQ=DAILY;INTERVAL=0",
    "FREQ=WEEKLY;BYDAY=XX", "DTSTART:20250101T000000\nRRULE:FREQ=DAILY",
    "FREQ=DAILY;BYHOUR=8,14", "FREQ=FORTNIGHTLY",
])
def test_build_rule_refuses_bad_or_too_frequent_rules(rule):
    with pytest.raises(RuleError):
        build_rule(rule, datetime(2025, 1, 1, tzinfo=UTC), "UTC")


# The API ---------------------------------------------------------------------------------

def test_create_calendar_plan_with_links_and_next_occurrences(client, make, app):
    asset = make.asset()
    skill = make.skill()
    part = make.part()
    body = _plan(rrule="FREQ=MONTHLY;BYMONTHDAY=-1", checklist=["Clean rollers", "Test print"],
                 asset_ids=[asset.id], skills=[{"skill_id": skill.id, "min_level": 3}],
                 parts=[{"part_id": part.id, "quantity": 2}], lead_days=10)
    created = client.post("/api/v1/pm-plans", json=body)
    assert created.status_code == 201, created.json
    plan = created.json
    assert plan["asset_ids"] == [asset.id]
    assert plan["skills"] == [{"skill_id": skill.id, "min_level": 3}]
    assert plan["parts"] == [{"part_id": part.id, "quantity": 2}]
    assert len(plan["next_occurrences"]) == 5
    days = [datetime.fromisoformat(o) for o in plan["next_occurrences"]]
    assert all(d.utcoffset().total_seconds() == 3.5 * 3600 for d in days)
    assert all(d > datetime.now(UTC) for d in days)
    assert days == sorted(days)
    got = client.get(f"/api/v1/pm-plans/{plan['id']}")
    assert got.json["next_occurrences"] == plan["next_occurrences"]
    listed = client.get(f"/api/v1/pm-plans?asset_id={asset.id}&kind=calendar")
    assert [p["id"] for p in listed.json["items"]] == [plan["id"]]
    assert client.get("/api/v1/pm-plans?kind=meter").json["total"] == 0
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id))
                                 .where(AuditEntry.entity_type == "pm_plan")) == 1


def test_meter_plan(client):
    created = client.post("/api/v1/pm-plans", json={"name": "Every 50k pages",
                                                     "meter_interval": 50000,
                                                     "meter_unit": "pages"})
    assert created.status_code == 201, created.json
    assert created.json["next_occurrences"] == []
    assert created.json["rrule"] is None


@pytest.mark.parametrize("body, fields", [
    ({"name": "x"}, {"rrule", "meter_interval"}),
    (_plan(meter_interval=100, meter_unit="km"), {"rrule", "meter_interval"}),
    (_plan(dtstart=None), {"dtstart"}),
    (_plan(dtstart="2025-01-15T09:00:00"), {"dtstart"}),
    (_plan(dtstart="0001-01-01T00:00:00+03:30"), {"dtstart"}),
    (_plan(dtstart="9999-12-31T23:59:00-05:00"), {"dtstart"}),
    (_plan(rrule="FREQ=HOURLY"), {"rrule"}),
    (_plan(rrule="FREQ=MINUTELY;INTERVAL=5"), {"rrule"}),
    (_plan(rrule="not a rule"), {"rrule"}),
    (_plan(rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"), {"rrule"}),
    (_plan(timezone="Mars/Olympus"), {"timezone"}),
    (_plan(lead_days=366), {"lead_days"}),
    (_plan(lead_days=-1), {"lead_days"}),
    (_plan(estimated_minutes=0), {"estimated_minutes"}),
    (_plan(priority=5), {"priority"}),
    (_plan(checklist=[""]), {"checklist"}),
    (_plan(checklist=["   "]), {"checklist"}),
    (_plan(checklist=["x" * 201]), {"checklist"}),
    (_plan(checklist=[f"step {i}" for i in range(101)]), {"checklist"}),
    (_plan(checklist="clean"), {"checklist"}),
    (_plan(asset_ids=[999]), {"asset_ids"}),
    (_plan(asset_ids=["a"]), {"asset_ids"}),
    (_plan(skills=[{"skill_id": 999}]), {"skills"}),
    (_plan(skills=[{"min_level": 2}]), {"skills"}),
    (_plan(parts=[{"part_id": 1, "quantity": 0}]), {"parts"}),
    ({"name": "m", "meter_interval": 0, "meter_unit": "km"}, {"meter_interval"}),
    ({"name": "m", "meter_interval": 10}, {"meter_unit"}),
    (_plan(name=""), {"name"}),
    (_plan(colour="red"), {"colour"}),
    (_plan(id=3), {"id"}),
])
def test_invalid_plans_are_422_and_write_nothing(client, app, body, fields):
    response = client.post("/api/v1/pm-plans", json=body)
    assert response.status_code == 422, response.json
    assert response.mimetype == PROBLEM
    assert fields <= set(response.json["errors"]), response.json
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PmPlan.id))) == 0


def test_patch_switches_trigger_and_replaces_links(client, make, app):
    a1, a2 = make.asset(), make.asset()
    skill = make.skill()
    plan = client.post("/api/v1/pm-plans",
                       json=_plan(asset_ids=[a1.id], skills=[{"skill_id": skill.id}])).json
    ident = plan["id"]
    half = client.patch(f"/api/v1/pm-plans/{ident}", json={"meter_interval": 1000})
    assert half.status_code == 422  # would leave both triggers
    assert client.get(f"/api/v1/pm-plans/{ident}").json["meter_interval"] is None
    bad_skill = client.patch(f"/api/v1/pm-plans/{ident}", json={"skills": [{"min_level": 2}]})
    assert bad_skill.status_code == 422
    switched = client.patch(f"/api/v1/pm-plans/{ident}", json={
        "rrule": None, "dtstart": None, "meter_interval": 1000, "meter_unit": "hours",
        "asset_ids": [a2.id], "skills": [{"skill_id": skill.id, "min_level": 4}]})
    assert switched.status_code == 200, switched.json
    assert switched.json["asset_ids"] == [a2.id]
    assert switched.json["skills"] == [{"skill_id": skill.id, "min_level": 4}]
    assert switched.json["next_occurrences"] == []
    renamed = client.patch(f"/api/v1/pm-plans/{ident}", json={"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json["meter_unit"] == "hours"
    with app.app_context():
        links = db.session.scalars(db.select(PmPlanAsset.asset_id)).all()
        assert links == [a2.id]


def test_delete_plan(client, make):
    ident = client.post("/api/v1/pm-plans", json=_plan(asset_ids=[make.asset().id])).json["id"]
    assert client.delete(f"/api/v1/pm-plans/{ident}").status_code == 204
    assert client.get(f"/api/v1/pm-plans/{ident}").status_code == 404
    assert client.delete(f"/api/v1/pm-plans/{ident}").status_code == 404


def test_plan_with_work_orders_cannot_be_deleted(client, make):
    ident = client.post("/api/v1/pm-plans", json=_plan()).json["id"]
    make.work_order(pm_plan_id=ident, pm_due_on=date(2025, 4, 15))
    refused = client.delete(f"/api/v1/pm-plans/{ident}")
    assert refused.status_code == 409
    assert client.get(f"/api/v1/pm-plans/{ident}").status_code == 200
