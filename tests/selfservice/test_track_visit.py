"""Tracking a visit from its link: status, first name, ETA window, map; the customer's
own changes (confirm, reschedule into feasible windows, cancel) within the contract's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder
from fieldsvc.models.enums import WorkOrderStatus as S
from fieldsvc.selfservice.models import VisitConfirmation
from mobile_api.models import LocationPing
from tests.selfservice.conftest import self_service_audit

TEHRAN = ZoneInfo("Asia/Tehran")


def _visit(make, status=S.SCHEDULED, hours_ahead=6, **kw):
    tech = make.technician(name="Reza Ahmadi")
    site = make.site(make.customer(name="Mina Karimi"), latitude=35.70, longitude=51.40)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours_ahead)
    wo = make.work_order(
        site=site,
        status=status,
        technician_id=tech.id,
        scheduled_start_at=start,
        scheduled_end_at=start + timedelta(hours=1),
        summary="Boiler does not start",
        **kw,
    )
    return wo, tech


def _status(app, ident):
    with app.app_context():
        wo = db.session.get(WorkOrder, ident)
        value = wo.status.value
        db.session.remove()
        return value


def test_a_planned_visit_shows_first_name_and_planned_window(app, make, customer, link_for):
    wo, _ = _visit(make)
    page = customer.get(link_for(work_order=wo))
    assert page.status_code == 200
    text = page.data.decode()
    assert 'data-status="scheduled"' in text and "Boiler does not start" in text
    assert '<strong id="technician">Reza</strong>' in text and "Ahmadi" not in text
    start = wo.scheduled_start_at.astimezone(TEHRAN)
    low = start - timedelta(minutes=30)
    low = (low - timedelta(minutes=low.minute % 5)).strftime("%H:%M")  # to 5 minutes
    assert f"{low}–" in text and "From today’s plan." in text
    assert 'id="confirm"' in text and 'id="cancel"' in text
    # A plain SVG map of the site; no script and no external tile anywhere.
    assert 'id="map"' in text and "<script" not in text and "http" not in text.split("<main", 1)[1]


def test_on_the_way_the_eta_follows_the_last_ping(app, make, customer, link_for):
    wo, tech = _visit(make, status=S.EN_ROUTE, hours_ahead=1)
    now = datetime.now(UTC)
    make.session.add(
        LocationPing(
            technician_id=tech.id, at=now - timedelta(minutes=1), latitude=35.75, longitude=51.45
        )
    )
    make.session.commit()
    page = customer.get(link_for(work_order=wo)).data.decode()
    assert "The technician is on the way." in page and "From where the technician is" in page
    assert 'id="map-technician"' in page
    assert 'id="confirm"' not in page and 'id="cancel"' not in page  # too late to change


def test_on_site_and_done_say_so(app, make, customer, link_for):
    wo, _ = _visit(make, status=S.ON_SITE, hours_ahead=0)
    page = customer.get(link_for(work_order=wo)).data.decode()
    assert "The technician is with you." in page and 'id="eta"' not in page
    done, _ = _visit(make, status=S.COMPLETED, hours_ahead=-2)
    assert "The visit is done." in customer.get(link_for(work_order=done)).data.decode()


def test_confirm_then_cancel_are_audited_as_self_service(app, make, customer, link_for):
    wo, _ = _visit(make)
    path = link_for(work_order=wo)
    assert customer.submit(path, path + "/confirm").status_code == 303
    page = customer.get(path).data.decode()
    assert 'id="confirmed"' in page
    with app.app_context():
        assert db.session.scalar(db.select(VisitConfirmation.work_order_id)) == wo.id
        db.session.remove()
    assert customer.submit(path, path + "/cancel").status_code == 303
    assert _status(app, wo.id) == "cancelled"
    audit = self_service_audit(app)
    actor = f"customer {wo.customer_id}"
    assert ("visit_confirmation", "create", actor) in audit
    assert ("work_order", "update", actor) in audit


def test_changes_close_before_the_visit_as_the_contract_rules_say(app, make, customer, link_for):
    wo, _ = _visit(make, hours_ahead=1)  # inside the 2-hour cutoff
    path = link_for(work_order=wo)
    page = customer.get(path)
    assert b'id="cancel"' not in page.data
    # A cancel form kept from earlier is refused, and nothing changes.
    from tests.selfservice.conftest import form_fields

    token = form_fields(customer.get("/self-service").data)["csrf_token"]
    answer = customer.post(path + "/cancel", data={"csrf_token": token, "step": "0"})
    assert answer.status_code == 409 and b'id="error"' in answer.data
    assert _status(app, wo.id) == "scheduled"


def test_a_track_link_shows_only_its_own_visit(app, make, customer, link_for):
    mine, _ = _visit(make)
    theirs, _ = _visit(make)
    with app.app_context():
        db.session.get(WorkOrder, theirs.id).summary = "Server room flooded"
        db.session.commit()
        db.session.remove()
    path = link_for(work_order=mine)
    page = customer.get(path).data.decode()
    assert "Server room flooded" not in page and "Boiler does not start" in page
    # Forms carry no ids: what they change is the link's own work order.
    assert f'value="{theirs.id}"' not in page
    assert customer.submit(path, path + "/cancel").status_code == 303
    assert _status(app, theirs.id) == "scheduled" and _status(app, mine.id) == "cancelled"


def test_a_dispatched_technician_too_far_away_moves_the_eta_later(app, make, customer, link_for):
    wo, tech = _visit(make, status=S.DISPATCHED, hours_ahead=3)
    # Isfahan, some 340 km from the Tehran site: not there in three hours.
    make.session.add(
        LocationPing(technician_id=tech.id, at=datetime.now(UTC), latitude=32.65, longitude=51.67)
    )
    make.session.commit()
    page = customer.get(link_for(work_order=wo)).data.decode()
    assert "From where the technician is now." in page
    planned = wo.scheduled_start_at.astimezone(TEHRAN).strftime("%H:%M")
    eta = page.split('id="eta"', 1)[1].split("</strong>", 1)[0]
    assert planned not in eta
