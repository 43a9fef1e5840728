"""A P1 work order comes with its emergency insertion offer: created as P1 or raised to P1
(API, SLA watch), the proposal or the reason there is none is in the answer."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.context import Actor
from fieldsvc.extensions import db
from fieldsvc.models import InsertionProposal, Interaction, WorkOrder, WorkOrderWindow
from fieldsvc.models.base import utcnow
from fieldsvc.services.sla_watch import watch
from tests.dispatch.test_release_insertion_api import DAY, _parse, _published, _world
from tests.reports.conftest import Console

TEHRAN = ZoneInfo("Asia/Tehran")
ACTOR = Actor(id=None, name="sla-watch", source="job")


def _window_on_day():
    return {"starts_at": datetime.combine(DAY, time(8), tzinfo=TEHRAN).isoformat(),
            "ends_at": datetime.combine(DAY, time(18), tzinfo=TEHRAN).isoformat()}


def _new_work_order(make, skill, priority):
    site = make.site(latitude=35.72, longitude=51.41)
    return {"site_id": site.id, "summary": "Server room flooded", "priority": priority,
            "estimated_minutes": 45, "skills": [{"skill_id": skill.id, "min_level": 1}],
            "time_windows": [_window_on_day()]}


@pytest.fixture
def dispatcher(client_as):
    return client_as("dispatcher")


def _proposals(app):
    with app.app_context():
        count = db.session.query(InsertionProposal).count()
        db.session.remove()
    return count


def _accept_and_check(app, dispatcher, wo_id, offer, techs):
    assert offer["offered"] is True, offer
    assert offer["technician_id"] in {t.id for t in techs}
    assert offer["plan_date"] == DAY.isoformat()
    assert offer["eta"] <= offer["start"] < offer["end"]
    assert offer["accept_url"] == f"/api/v1/work-orders/{wo_id}/insertion/accept"
    accepted = dispatcher.post(offer["accept_url"], json={"proposal_id": offer["proposal_id"]})
    assert accepted.status_code == 200, accepted.json
    with app.app_context():
        wo = db.session.get(WorkOrder, wo_id)
        assert wo.status.value == "scheduled" and wo.technician_id == offer["technician_id"]
        assert wo.scheduled_start_at == _parse(offer["start"])
        assert wo.eta_at == _parse(offer["eta"])
        for change in offer["eta_changes"]:
            moved = db.session.get(WorkOrder, change["work_order_id"])
            assert moved.scheduled_start_at == _parse(change["new_start"])
            assert moved.eta_at == _parse(change["eta"])
        db.session.remove()


def test_creating_a_p1_offers_an_insertion_that_accepting_applies(app, make, dispatcher):
    skill, techs, _ = _world(make)
    _published(dispatcher, app)
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 1))
    assert created.status_code == 201, created.json
    assert created.json["priority"] == 1 and created.json["status"] == "new"
    _accept_and_check(app, dispatcher, created.json["id"], created.json["insertion"], techs)


def test_a_p3_create_or_change_comes_without_offer(app, make, dispatcher):
    skill, _, _ = _world(make)
    _published(dispatcher, app)
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 3))
    assert created.status_code == 201, created.json
    assert "insertion" not in created.json
    changed = dispatcher.patch(f"/api/v1/work-orders/{created.json['id']}",
                               json={"priority": 2, "description": "dripping"})
    assert changed.status_code == 200 and "insertion" not in changed.json
    assert _proposals(app) == 0


def test_without_a_published_plan_the_p1_is_created_and_the_reason_given(app, make,
                                                                          dispatcher):
    skill, _, _ = _world(make)
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 1))
    assert created.status_code == 201, created.json
    offer = created.json["insertion"]
    assert offer["offered"] is False and "proposal_id" not in offer
    assert "No plan is published for " + DAY.isoformat() in offer["reason"]
    with app.app_context():
        assert db.session.get(WorkOrder, created.json["id"]).priority == 1
        db.session.remove()
    assert _proposals(app) == 0


def test_raising_a_p3_to_p1_offers_an_insertion(app, make, dispatcher):
    skill, techs, _ = _world(make)
    _published(dispatcher, app)
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 3))
    wo_id = created.json["id"]
    raised = dispatcher.patch(f"/api/v1/work-orders/{wo_id}", json={"priority": 1})
    assert raised.status_code == 200, raised.json
    assert raised.json["priority"] == 1
    offer = raised.json["insertion"]
    # Another change of a P1 is no new emergency.
    again = dispatcher.patch(f"/api/v1/work-orders/{wo_id}", json={"description": "worse"})
    assert again.status_code == 200 and "insertion" not in again.json
    # The description change made the offer stale; a fresh escalation is what a user does.
    refused = dispatcher.post(offer["accept_url"], json={"proposal_id": offer["proposal_id"]})
    assert refused.status_code == 409 and refused.json["changed"] == [wo_id]
    lowered = dispatcher.patch(f"/api/v1/work-orders/{wo_id}", json={"priority": 2})
    assert "insertion" not in lowered.json
    raised = dispatcher.patch(f"/api/v1/work-orders/{wo_id}", json={"priority": 1})
    _accept_and_check(app, dispatcher, wo_id, raised.json["insertion"], techs)


def test_bad_input_with_p1_changes_nothing(app, make, dispatcher):
    skill, _, _ = _world(make)
    _published(dispatcher, app)
    body = _new_work_order(make, skill, 1) | {"estimated_minutes": 0}
    refused = dispatcher.post("/api/v1/work-orders", json=body)
    assert refused.status_code == 422
    assert _proposals(app) == 0


def test_the_sla_watch_escalation_to_p1_stores_an_offer_the_board_lists(app, make,
                                                                        dispatcher):
    skill, _, _ = _world(make)
    _published(dispatcher, app)
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 2))
    wo_id = created.json["id"]
    now = utcnow()
    with app.app_context():
        wo = db.session.get(WorkOrder, wo_id)
        wo.response_due_at = now - timedelta(minutes=5)
        db.session.commit()
        report = watch(db.session, ACTOR, now=now, risk_minutes=60, timezone="Asia/Tehran")
        db.session.commit()
        assert [o.work_order_id for o in report.offers] == [wo_id]
        assert report.offers[0].offered, report.offers[0].reason
        proposal_id = report.offers[0].proposal.id
        assert db.session.get(WorkOrder, wo_id).priority == 1
        note = db.session.query(Interaction).filter_by(work_order_id=wo_id).one().notes
        assert f"Emergency insertion proposal {proposal_id}" in note
        db.session.remove()
    console = Console(app, "dispatcher", "offer-dispatcher")
    board = console.get("/console/dispatch", query_string={"date": DAY.isoformat(),
                                                           "territory": "tehran"})
    assert board.status_code == 200
    assert f"Proposal {proposal_id} for work order #{wo_id}".encode() in board.data
    shown = console.get("/console/dispatch", query_string={
        "date": DAY.isoformat(), "territory": "tehran", "proposal": proposal_id})
    assert f"/console/dispatch/emergency/{proposal_id}/accept".encode() in shown.data
    accepted = console.post(f"/console/dispatch/emergency/{proposal_id}/accept",
                            data={"date": DAY.isoformat(), "territory": "tehran"})
    assert accepted.status_code == 302
    with app.app_context():
        assert db.session.get(WorkOrder, wo_id).status.value == "scheduled"
        db.session.remove()
    after = console.get("/console/dispatch", query_string={"date": DAY.isoformat(),
                                                           "territory": "tehran"})
    assert b'id="offers"' not in after.data


def test_the_sla_watch_says_why_when_no_plan_is_published(app, make, dispatcher):
    skill, _, _ = _world(make)
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 2))
    wo_id = created.json["id"]
    now = utcnow()
    with app.app_context():
        db.session.get(WorkOrder, wo_id).response_due_at = now - timedelta(minutes=5)
        db.session.commit()
        report = watch(db.session, ACTOR, now=now, risk_minutes=60, timezone="Asia/Tehran")
        db.session.commit()
        assert report.escalated[0]["priority"] == [2, 1]
        assert not report.offers[0].offered
        note = db.session.query(Interaction).filter_by(work_order_id=wo_id).one().notes
        assert "No emergency insertion proposed: No plan is published" in note
        assert db.session.query(WorkOrderWindow).filter_by(work_order_id=wo_id).count() == 1
        db.session.remove()
    assert _proposals(app) == 0


def test_a_p1_opened_from_a_ticket_says_why_nothing_was_inserted(app, make, dispatcher):
    customer = make.customer()
    site = make.site(customer, name="Workshop")
    ticket = make.ticket(customer, subject="Boiler burst")
    # API: the work order is created and the answer says there is no plan to insert into.
    created = dispatcher.post(f"/api/v1/tickets/{ticket.id}/work-orders",
                              json={"site_id": site.id, "priority": 1})
    assert created.status_code == 201, created.json
    assert created.json["insertion"]["offered"] is False
    assert "No plan is published" in created.json["insertion"]["reason"]
    # Console: the agent sees the same reason after the work order is opened.
    agent = Console(app, "agent", "offer-agent")
    opened = agent.post(f"/console/tickets/{ticket.id}/work-orders", data={
        "type": "breakdown", "site_id": str(site.id), "priority": "1",
        "estimated_minutes": "60"}, follow_redirects=True)
    assert opened.status_code == 200
    text = opened.data.decode()
    assert "opened." in text and "No emergency insertion proposed for work order" in text
    assert "No plan is published" in text
    with app.app_context():
        assert db.session.query(WorkOrder).filter_by(ticket_id=ticket.id).count() == 2
        db.session.remove()


def test_a_failing_proposal_never_fails_the_create(app, make, dispatcher):
    skill, _, _ = _world(make)
    run = _published(dispatcher, app)
    # A stored plan that cannot be read (damaged data): the search itself breaks.
    with app.app_context():
        from fieldsvc.models import OptimizationRun

        stored = db.session.get(OptimizationRun, run["id"])
        stored.result = {**stored.result, "plan": {"routes": "damaged"}}
        db.session.commit()
        db.session.remove()
    created = dispatcher.post("/api/v1/work-orders", json=_new_work_order(make, skill, 1))
    assert created.status_code == 201, created.json
    offer = created.json["insertion"]
    assert offer["offered"] is False and "could not be computed" in offer["reason"]
    with app.app_context():
        assert db.session.get(WorkOrder, created.json["id"]).status.value == "new"
        db.session.remove()
    assert _proposals(app) == 0
