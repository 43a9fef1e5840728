"""Return deadlines are days of the customer's site, never the server's or UTC's day."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.context import SYSTEM
from fieldsvc.dates import today_in
from fieldsvc.extensions import db
from rma.models import Rma
from rma.services import flag_overdue_returns

DEADLINE = date(2026, 3, 10)


def _shipped(kit, make, zone):
    """An advance exchange shipped to a customer whose site keeps `zone` (None: none)."""
    customer = make.customer()
    make.site(customer, timezone=zone)
    part, central = make.part(), make.warehouse()
    kit.receive(part.id, central.id)
    rma = kit.create(type="advance_exchange", customer_id=customer.id, part_id=part.id)
    assert kit.move(rma["id"], to="approved", warehouse_id=central.id).status_code == 200
    shipped = kit.move(rma["id"], to="replacement_shipped")
    assert shipped.status_code == 200, shipped.json
    return shipped.json


def _due_on(app, rma_id, day):
    with app.app_context():
        db.session.execute(db.update(Rma).where(Rma.id == rma_id).values(return_deadline=day))
        db.session.commit()


def _flag(app, now):
    with app.app_context():
        flagged = flag_overdue_returns(db.session, now=now, actor=SYSTEM)
        db.session.commit()
        return flagged


def test_a_return_due_today_in_tehran_is_flagged_exactly_when_the_tehran_day_is_over(
        kit, make, app):
    tehran = _shipped(kit, make, "Asia/Tehran")
    los_angeles = _shipped(kit, make, "America/Los_Angeles")
    configured = _shipped(kit, make, None)  # no zone on the site: FIELDSVC_TIMEZONE
    for rma in (tehran, los_angeles, configured):
        _due_on(app, rma["id"], DEADLINE)
    tz = ZoneInfo("Asia/Tehran")
    last_second = datetime.combine(DEADLINE, time(23, 59, 59), tzinfo=tz)
    next_day = datetime.combine(DEADLINE + timedelta(days=1), time(0, 0, 1), tzinfo=tz)
    # 00:00:01 in Tehran is still the deadline day in UTC (20:30:01): UTC's date would wait
    # three and a half hours more.
    assert next_day.astimezone(ZoneInfo("UTC")).date() == DEADLINE

    assert _flag(app, last_second) == []
    assert _flag(app, next_day) == sorted([tehran["id"], configured["id"]])
    assert kit.rma(tehran["id"]).charge_customer is True
    assert kit.rma(los_angeles["id"]).overdue_flagged_at is None
    # Los Angeles' day is over 11.5 hours later.
    la_next_day = datetime.combine(DEADLINE + timedelta(days=1), time(0, 0, 1),
                                   tzinfo=ZoneInfo("America/Los_Angeles"))
    assert _flag(app, la_next_day - timedelta(seconds=2)) == []
    assert _flag(app, la_next_day) == [los_angeles["id"]]
    assert _flag(app, la_next_day + timedelta(days=3)) == []  # once each


def test_the_deadline_is_counted_from_the_sites_today(kit, make, app):
    # UTC+14 and UTC-11 are never on the same date: the deadlines must differ.
    east = _shipped(kit, make, "Pacific/Kiritimati")
    west = _shipped(kit, make, "Pacific/Pago_Pago")
    assert east["return_deadline"] == (today_in("Pacific/Kiritimati")
                                       + timedelta(days=15)).isoformat()
    assert west["return_deadline"] == (today_in("Pacific/Pago_Pago")
                                       + timedelta(days=15)).isoformat()
    assert east["return_deadline"] != west["return_deadline"]


def test_a_site_zone_must_be_a_real_zone(client, make):
    customer = make.customer()
    bad = client.post("/api/v1/sites", json={"customer_id": customer.id, "name": "HQ",
                                             "timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and "timezone" in bad.json["errors"]
    good = client.post("/api/v1/sites", json={"customer_id": customer.id, "name": "HQ",
                                              "timezone": "Asia/Tehran"})
    assert good.status_code == 201 and good.json["timezone"] == "Asia/Tehran"
