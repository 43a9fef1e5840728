"""A P1 an agent opens from a call reaches the dispatcher's board at once: its emergency
offer aims at the day of its window (not today) and is shown highlighted, with accept."""

from __future__ import annotations

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import InsertionProposal, WorkOrder
from tests.dispatch.test_release_insertion_api import DAY, _published, _world
from tests.reports.conftest import Console


@pytest.fixture
def dispatcher(client_as):
    return client_as("dispatcher")


def test_agent_p1_with_a_window_shows_on_that_days_board_with_accept(app, make, dispatcher):
    skill, techs, _ = _world(make)
    _published(dispatcher, app)
    customer = make.customer(name="Caller with a flood")
    site = make.site(
        customer=customer,
        latitude=35.72,
        longitude=51.41,
        name="Server room",
        timezone="Asia/Tehran",
    )
    ticket = make.ticket(customer, subject="Server room flooded")
    make.session.commit()
    ticket_id, site_id = ticket.id, site.id
    agent = Console(app, "agent", "p1-agent")
    opened = agent.post(
        f"/console/tickets/{ticket_id}/work-orders",
        data={
            "type": "breakdown",
            "site_id": str(site_id),
            "priority": "1",
            "estimated_minutes": "45",
            "day": DAY.isoformat(),
            "window1_from": "09:00",
            "window1_to": "17:00",
            "skills": f"{skill.code}:1",
        },
        follow_redirects=True,
    )
    assert opened.status_code == 200
    assert "Emergency insertion proposed for work order" in opened.data.decode()
    with app.app_context():
        wo = db.session.query(WorkOrder).filter_by(ticket_id=ticket_id).one()
        proposal = db.session.query(InsertionProposal).filter_by(work_order_id=wo.id).one()
        wo_id, proposal_id = wo.id, proposal.id
        assert proposal.plan_date == DAY  # the window's day, not today
        db.session.remove()
    console = Console(app, "dispatcher", "p1-dispatcher")
    board = console.get(
        "/console/dispatch", query_string={"date": DAY.isoformat(), "territory": "tehran"}
    )
    page = board.data.decode()
    assert f'id="p1-offer-{wo_id}"' in page and "Server room flooded" in page
    assert f"/console/dispatch/emergency/{proposal_id}/accept" in page
    accepted = console.post(
        f"/console/dispatch/emergency/{proposal_id}/accept",
        data={"date": DAY.isoformat(), "territory": "tehran"},
    )
    assert accepted.status_code == 302
    with app.app_context():
        done = db.session.get(WorkOrder, wo_id)
        assert done.status.value == "scheduled"
        assert done.technician_id in {t.id for t in techs}
        db.session.remove()
    after = console.get(
        "/console/dispatch", query_string={"date": DAY.isoformat(), "territory": "tehran"}
    )
    assert f'id="p1-offer-{wo_id}"' not in after.data.decode()
