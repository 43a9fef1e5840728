"""Ticket intake, routing by skill, follow-up until closed, work orders from tickets."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldsvc.models import Interaction, Ticket, WorkOrder
from fieldsvc.models.enums import TicketStatus
from tests.conftest import make_user


def _intake(client, customer_id, **fields):
    form = {"csrf_token": client.csrf, "customer_id": str(customer_id), "category": "complaint",
            "topic": "printer", "channel": "phone", "priority": "2",
            "subject": "Printer smears", "description": "Since Monday", "route": "y"}
    form.update(fields)
    return client.post(f"/console/tickets/new?customer_id={customer_id}", data=form)


def test_intake_opens_the_ticket_and_routes_it_to_the_least_loaded_skilled_agent(
        app, data, page_as, db_session):
    customer = data.customer(region="Tehran")
    busy = make_user(app, "agent", username="busy", agent_skills="printer, complaint")
    free = make_user(app, "agent", username="free", agent_skills="Printer")
    make_user(app, "agent", username="cars", agent_skills="roadside")
    for _ in range(2):
        data.ticket(customer, assigned_user_id=busy)
    agent = page_as("agent")
    response = _intake(agent, customer.id)
    assert response.status_code == 302
    ticket = db_session(lambda s: s.scalars(select(Ticket).order_by(Ticket.id.desc())).first())
    assert ticket.subject == "Printer smears" and ticket.assigned_user_id == free
    page = agent.get(response.headers["Location"])
    assert b"Assigned to free." in page.data
    # the customer's screen lists it
    assert b"Printer smears" in agent.get(f"/console/customers/{customer.id}").data


def test_no_skilled_agent_leaves_the_ticket_in_the_team_queue(data, page_as, db_session):
    customer = data.customer()
    agent = page_as("agent")
    response = _intake(agent, customer.id, topic="boilers")
    assert response.status_code == 302
    assert b"team queue" in agent.get(response.headers["Location"]).data
    assert db_session(lambda s: s.scalar(select(Ticket))).assigned_user_id is None


def test_intake_validation_errors_are_shown_next_to_fields_and_nothing_is_saved(
        data, page_as, db_session):
    customer = data.customer()
    other = data.customer()
    foreign = data.asset(other)
    agent = page_as("agent")
    blank = _intake(agent, customer.id, subject="", category="gossip")
    assert blank.status_code == 422
    assert b'id="subject-error"' in blank.data and b'id="category-error"' in blank.data
    wrong_asset = _intake(agent, customer.id, asset_id=str(foreign.id))
    assert wrong_asset.status_code == 422 and b'id="asset_id-error"' in wrong_asset.data
    long_topic = _intake(agent, customer.id, topic="t" * 121)
    assert long_topic.status_code == 422 and b'id="topic-error"' in long_topic.data
    no_customer = agent.post("/console/tickets/new", data={
        "csrf_token": agent.csrf, "category": "request", "channel": "phone", "subject": "x",
        "priority": "3"})
    assert no_customer.status_code == 422 and b'id="customer_id-error"' in no_customer.data
    missing = _intake(agent, 987654)
    assert missing.status_code == 422
    forged = agent.post(f"/console/tickets/new?customer_id={customer.id}",
                        data={"customer_id": customer.id, "subject": "x"})
    assert forged.status_code == 400
    assert db_session(lambda s: s.scalar(select(func.count(Ticket.id)))) == 0


def test_follow_up_moves_status_through_the_service_and_logs_notes(
        app, data, page_as, db_session):
    app.config["WORKING_HOURS"] = "00:00-23:59"
    ticket = data.ticket(data.customer())
    agent = page_as("agent")
    url = f"/console/tickets/{ticket.id}/follow-up"
    illegal = agent.post(url, data={"csrf_token": agent.csrf, "status": "closed"})
    assert illegal.status_code == 409 and b"cannot move to closed" in illegal.data
    assert db_session(lambda s: s.get(Ticket, ticket.id)).status == TicketStatus.OPEN
    empty = agent.post(url, data={"csrf_token": agent.csrf})
    assert empty.status_code == 422 and b'id="notes-error"' in empty.data
    for status in ("in_progress", "resolved"):
        assert agent.post(url, data={"csrf_token": agent.csrf, "status": status,
                                     "notes": f"now {status}"}).status_code == 302
    closed = agent.post(url, data={"csrf_token": agent.csrf, "status": "closed"})
    assert closed.status_code == 302
    saved = db_session(lambda s: s.get(Ticket, ticket.id))
    assert saved.status == TicketStatus.CLOSED and saved.closed_at is not None
    notes = db_session(lambda s: list(s.scalars(select(Interaction.notes).where(
        Interaction.ticket_id == ticket.id))))
    assert sorted(notes) == ["now in_progress", "now resolved"]
    page = agent.get(f"/console/tickets/{ticket.id}").data
    assert b"now resolved" in page and b'id="follow-up"' not in page  # closed: no form


def test_manual_assignment_only_to_active_agents(app, data, page_as, db_session):
    ticket = data.ticket(data.customer())
    target = make_user(app, "agent", username="target")
    manager = make_user(app, "manager", username="boss")
    agent = page_as("agent")
    url = f"/console/tickets/{ticket.id}/assign"
    refused = agent.post(url, data={"csrf_token": agent.csrf, "assigned_user_id": str(manager)})
    assert refused.status_code == 422 and b"Choose an active agent." in refused.data
    ok = agent.post(url, data={"csrf_token": agent.csrf, "assigned_user_id": str(target)})
    assert ok.status_code == 302
    assert db_session(lambda s: s.get(Ticket, ticket.id)).assigned_user_id == target


def test_work_order_from_ticket(data, page_as, db_session):
    customer = data.customer()
    site = data.site(customer, name="Workshop")
    ticket = data.ticket(customer, subject="Engine noise")
    agent = page_as("agent")
    page = agent.get(f"/console/tickets/{ticket.id}")
    assert b'id="work-order-form"' in page.data and b"Workshop" in page.data
    bad = agent.post(f"/console/tickets/{ticket.id}/work-orders", data={
        "csrf_token": agent.csrf, "type": "breakdown", "site_id": str(site.id),
        "priority": "2", "estimated_minutes": "0"})
    assert bad.status_code == 422 and b'id="estimated_minutes-error"' in bad.data
    ok = agent.post(f"/console/tickets/{ticket.id}/work-orders", data={
        "csrf_token": agent.csrf, "type": "breakdown", "site_id": str(site.id),
        "priority": "2", "estimated_minutes": "90"})
    assert ok.status_code == 302
    job = db_session(lambda s: s.scalar(select(WorkOrder)))
    assert (job.ticket_id, job.summary, job.site_id) == (ticket.id, "Engine noise", site.id)
    assert db_session(lambda s: s.get(Ticket, ticket.id)).status == TicketStatus.IN_PROGRESS


def test_ticket_list_filters_and_pages(data, page_as):
    customer = data.customer()
    for n in range(30):
        data.ticket(customer, subject=f"Complaint {n:02d}", category="complaint")
    data.ticket(customer, subject="Just a question", category="information")
    agent = page_as("agent")
    first = agent.get("/console/tickets?category=complaint")
    assert first.status_code == 200 and b"30 tickets" in first.data
    assert b"Just a question" not in first.data and b'rel="next"' in first.data
    second = agent.get("/console/tickets?category=complaint&page=2")
    assert second.status_code == 200 and b"Page 2 of 2" in second.data
    bad = agent.get("/console/tickets?status=lost&customer_id=abc")
    assert bad.status_code == 422 and b"Correct the filters" in bad.data
    assert agent.get("/console/tickets/999999").status_code == 404


def test_roles_outside_the_ticket_policy_are_refused(data, page_as):
    ticket = data.ticket(data.customer())
    manager = page_as("manager")  # managers read tickets but do not write them
    assert manager.get(f"/console/tickets/{ticket.id}").status_code == 200
    assert manager.post(f"/console/tickets/{ticket.id}/follow-up",
                        data={"csrf_token": manager.csrf, "notes": "x"}).status_code == 403
    assert manager.get("/console/tickets/new").status_code == 403
