"""Contact center pages: find the caller, the single view, log the call, call-backs."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldsvc.models import Customer, Interaction


def test_phone_search_in_caller_id_format_opens_the_customer(data, page_as):
    customer = data.customer(name="Sara Ahmadi", phone="0912 345 6789")
    agent = page_as("agent")
    response = agent.get("/console/customers", query_string={"q": "+98 912-345 6789"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/console/customers/{customer.id}")
    page = agent.get(response.headers["Location"])
    assert page.status_code == 200 and b"Sara Ahmadi" in page.data


def test_search_by_name_serial_and_vin_lists_matches(data, page_as):
    a = data.customer(name="Reza Karimi")
    b = data.customer(name="Reza Moradi")
    unit = data.asset(a, serial_number="SN-PRINT-1")
    data.asset(b, vin="NAAM11CA9KK123456")
    agent = page_as("agent")
    both = agent.get("/console/customers?q=reza")
    assert both.status_code == 200
    assert b"Reza Karimi" in both.data and b"Reza Moradi" in both.data
    assert agent.get(f"/console/customers?q={unit.serial_number}").headers["Location"].endswith(
        f"/customers/{a.id}")
    assert agent.get("/console/customers?q=naam11ca9kk123456").headers["Location"].endswith(
        f"/customers/{b.id}")
    none = agent.get("/console/customers?q=nobody-here")
    assert none.status_code == 200 and b'id="no-results"' in none.data


def test_single_view_shows_everything_about_the_customer(data, page_as):
    customer = data.customer(name="Mina Rahimi", phone="021 5555 0001")
    site = data.site(customer, name="Head office")
    asset = data.asset(customer, site=site, serial_number="SN-MINA-1")
    data.ticket(customer, subject="Paper jam again")
    data.work_order(site, summary="Replace fuser")
    agent = page_as("agent")
    page = agent.get(f"/console/customers/{customer.id}").data.decode()
    for text in ("Head office", asset.serial_number, "Paper jam again", "Replace fuser",
                 'id="log-call"', "Open a ticket"):
        assert text in page



def test_a_visit_that_could_not_be_completed_is_past_and_its_follow_up_open(data, page_as):
    """Reporting "cannot complete" closes the visit and opens a follow-up: the agent sees
    the follow-up under open work and the failed visit among the past ones."""
    from fieldsvc.models.enums import WorkOrderStatus

    customer = data.customer(name="Omid Farahani")
    site = data.site(customer, name="Head office")
    failed = data.work_order(site, summary="Fuser fault, part to order",
                             status=WorkOrderStatus.CANNOT_COMPLETE)
    data.work_order(site, summary="Fit the ordered fuser", follow_up_of_id=failed.id)
    page = page_as("agent").get(f"/console/customers/{customer.id}").data.decode()
    open_part = page.split('id="open-work-orders"')[1].split("</table>")[0]
    past_part = page.split('id="past-work-orders"')[1].split("</table>")[0]
    assert "Fit the ordered fuser" in open_part and "Fuser fault" not in open_part
    assert "Fuser fault, part to order" in past_part

def test_customer_page_queries_do_not_grow_with_history(app, data, page_as):
    from sqlalchemy import event

    from fieldsvc.extensions import db

    customer = data.customer()
    site = data.site(customer)
    agent = page_as("agent")

    def count() -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert agent.get(f"/console/customers/{customer.id}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    data.work_order(site)
    data.ticket(customer)
    data.asset(customer, site=site)
    small = count()
    for _ in range(6):
        data.work_order(site)
        data.ticket(customer)
        data.asset(customer, site=site)
    assert count() == small


def test_incoming_call_opens_the_one_match_and_offers_the_call_form(data, page_as):
    data.customer(name="Ali Ahmadi", mobile="0912 000 1111")
    agent = page_as("agent")
    response = agent.get("/console/calls/incoming?number=00989120001111")
    assert response.status_code == 302
    page = agent.get(response.headers["Location"])
    assert b"Ali Ahmadi" in page.data
    assert b'value="00989120001111"' in page.data  # the call form carries the number
    assert b"call_started" in response.headers["Location"].encode()


def test_unknown_caller_call_is_logged_with_the_number(app, page_as, db_session):
    app.config["WORKING_HOURS"] = "00:00-23:59"
    agent = page_as("agent")
    page = agent.get("/console/calls/incoming?number=0935 999 0000")
    assert page.status_code == 200 and b"Unknown caller" in page.data
    bad = agent.post("/console/calls", data={"csrf_token": agent.csrf, "channel": "call",
                                             "calling_number": "9" * 41})
    assert bad.status_code == 422 and b'id="calling_number-error"' in bad.data
    ok = agent.post("/console/calls", data={"csrf_token": agent.csrf, "channel": "call",
                                            "direction": "inbound",
                                            "calling_number": "0935 999 0000",
                                            "subject": "Wrong number?"})
    assert ok.status_code == 302
    logged = db_session(lambda s: s.scalar(select(Interaction)))
    assert logged.customer_id is None and logged.calling_number == "0935 999 0000"


def test_unknown_caller_gets_the_new_customer_form_and_validation_next_to_fields(
        app, page_as, db_session):
    # Agents register an unknown caller as a customer while on the phone.
    agent = page_as("agent")
    page = agent.get("/console/calls/incoming?number=0935 123 4567")
    assert page.status_code == 200 and b"Unknown caller" in page.data
    assert b'value="0935 123 4567"' in page.data
    bad = agent.post("/console/customers", data={"csrf_token": agent.csrf, "name": "",
                                                  "phone": "0935 123 4567",
                                                  "tier": "standard"})
    assert bad.status_code == 422
    assert b'id="name-error"' in bad.data
    assert db_session(lambda s: s.scalar(select(func.count(Customer.id)))) == 0
    bad_tier = agent.post("/console/customers", data={"csrf_token": agent.csrf, "name": "X",
                                                       "tier": "platinum"})
    assert bad_tier.status_code == 422 and b'id="tier-error"' in bad_tier.data
    ok = agent.post("/console/customers", data={"csrf_token": agent.csrf, "name": "New Caller",
                                                 "phone": "0935 123 4567", "tier": "standard",
                                                 "number": "0935 123 4567"})
    assert ok.status_code == 302
    created = db_session(lambda s: s.scalar(select(Customer)))
    assert created.name == "New Caller" and created.phone_key == "9351234567"


def test_roles_without_customer_rights_cannot_create_customers(page_as):
    # Dispatchers read customers but do not register them (the policy matrix).
    dispatcher = page_as("dispatcher")
    response = dispatcher.post("/console/customers",
                               data={"csrf_token": dispatcher.csrf, "name": "X"})
    assert response.status_code == 403


def test_log_the_call_records_an_interaction_and_shows_it(app, data, page_as, db_session):
    app.config["WORKING_HOURS"] = "00:00-23:59"
    customer = data.customer(name="Caller One")
    agent = page_as("agent")
    response = agent.post(f"/console/customers/{customer.id}/interactions", data={
        "csrf_token": agent.csrf, "channel": "call", "direction": "inbound",
        "calling_number": "+98 912 345 6789", "subject": "Asked about warranty",
        "notes": "Told them it runs until next year"})
    assert response.status_code == 302
    logged = db_session(lambda s: s.scalar(select(Interaction)))
    assert logged.customer_id == customer.id and logged.subject == "Asked about warranty"
    page = agent.get(f"/console/customers/{customer.id}").data
    assert b"Asked about warranty" in page and b"Call logged." in page


def test_log_call_without_csrf_token_is_refused_and_changes_nothing(data, page_as, db_session):
    customer = data.customer()
    agent = page_as("agent")
    response = agent.post(f"/console/customers/{customer.id}/interactions",
                          data={"channel": "call", "subject": "forged"})
    assert response.status_code == 400
    assert db_session(lambda s: s.scalar(select(func.count(Interaction.id)))) == 0


def test_log_call_with_bad_values_shows_errors_next_to_the_fields(data, page_as, db_session):
    customer = data.customer()
    agent = page_as("agent")
    response = agent.post(f"/console/customers/{customer.id}/interactions", data={
        "csrf_token": agent.csrf, "channel": "pigeon", "subject": "x" * 201})
    assert response.status_code == 422
    assert b'id="channel-error"' in response.data and b'id="subject-error"' in response.data
    assert db_session(lambda s: s.scalar(select(func.count(Interaction.id)))) == 0
    assert agent.post("/console/customers/999999/interactions",
                      data={"csrf_token": agent.csrf, "channel": "call"}).status_code == 404


def test_calls_outside_working_hours_go_to_the_call_back_queue(app, data, page_as, db_session):
    app.config["WORKING_HOURS"] = "00:00-00:00"  # always closed
    customer = data.customer(name="Night Caller")
    agent = page_as("agent")
    page = agent.get(f"/console/customers/{customer.id}")
    assert b'id="outside-hours"' in page.data
    agent.post(f"/console/customers/{customer.id}/interactions", data={
        "csrf_token": agent.csrf, "channel": "call", "subject": "Car will not start"})
    queue = agent.get("/console/callbacks")
    assert queue.status_code == 200 and b"Night Caller" in queue.data
    pending = db_session(lambda s: s.scalar(select(Interaction)))
    assert pending.callback_due_at is not None and pending.callback_done_at is None
    unsafe = agent.post(f"/console/callbacks/{pending.id}/done")
    assert unsafe.status_code == 400
    done = agent.post(f"/console/callbacks/{pending.id}/done", data={"csrf_token": agent.csrf})
    assert done.status_code == 302
    assert db_session(lambda s: s.get(Interaction, pending.id)).callback_done_at is not None
    assert b'id="queue-empty"' in agent.get("/console/callbacks").data


def test_roles_without_access_are_refused(data, page_as):
    customer = data.customer()
    tech = data.technician()
    technician = page_as("technician", technician_id=tech.id)
    dealer = data.dealership()
    dealership = page_as("dealership", dealership_id=dealer.id)
    for client, status in ((technician, 403), (dealership, 302)):
        for url in ("/console/customers", f"/console/customers/{customer.id}",
                    "/console/calls/incoming?number=1", "/console/callbacks",
                    "/console/tickets", "/console/tickets/new"):
            assert client.get(url).status_code == status, url


def test_pages_need_sign_in(anon_client):
    for url in ("/console/customers", "/console/tickets", "/console/work-orders",
                "/console/callbacks"):
        response = anon_client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
