"""The cached day answer: ETag / If-None-Match, and never a stale day.

The phone first loads its day (200 + ETag), then revalidates (304). After each kind of
change that alters what the day shows — made by someone else, by any path — the next
request with the old ETag gets the new body, never the old one and never a 304.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from fieldsvc.context import SYSTEM
from fieldsvc.extensions import db
from fieldsvc.models import Ticket, WorkOrderPart, WorkOrderWindow
from fieldsvc.models.enums import TicketStatus, WorkOrderStatus
from fieldsvc.recall.models import RecallAppointment, RecallCampaign
from fieldsvc.services import stock
from rma.models import Rma
from tests.mobile.conftest import today
from tests.mobile.test_day import count_queries


def day_url() -> str:
    return f"/api/mobile/v1/day?date={today().isoformat()}"


@pytest.fixture
def cached(tech_client, world):
    """The day as the phone holds it: body and ETag, already revalidated once (304)."""
    first = tech_client.get(day_url())
    assert first.status_code == 200, first.json
    tag = first.headers["ETag"]
    again = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == tag
    return first.json, tag


def job(body, wo) -> dict:
    return next(j for j in body["jobs"] if j["id"] == wo.id)


def _commit(make, *objs):
    make.session.add_all(objs)
    make.session.commit()


# Each change: (what someone else does, what the technician's next day must show).

def reassign(make, world, client_as):
    dispatcher = client_as("dispatcher")
    # The other technician's day is tight, so the hand assignment needs a reason.
    r = dispatcher.patch(f"/api/v1/work-orders/{world.jobs[0].id}",
                         json={"technician_id": world.other.id,
                               "override_reason": "covering for a colleague"})
    assert r.status_code == 200, r.json
    return lambda body: [j["id"] for j in body["jobs"]] == [world.jobs[1].id]


def edit_problem(make, world, client_as):
    r = client_as("dispatcher").patch(f"/api/v1/work-orders/{world.jobs[1].id}",
                                      json={"description": "Toner smears on the left"})
    assert r.status_code == 200, r.json
    return lambda body: job(body, world.jobs[1])["problem"] == "Toner smears on the left"


def open_ticket(make, world, client_as):
    r = client_as("agent").post("/api/v1/tickets", json={
        "customer_id": world.customer.id, "channel": "phone", "category": "complaint",
        "subject": "Still jamming", "description": "Third time this month"})
    assert r.status_code == 201, r.json
    return lambda body: "Still jamming" in [
        t["subject"] for t in job(body, world.jobs[0])["open_tickets"]]


def close_ticket(make, world, client_as):
    ticket = make.session.query(Ticket).filter_by(customer_id=world.customer.id).one()
    ticket.status = TicketStatus.CLOSED
    make.session.commit()
    return lambda body: job(body, world.jobs[0])["open_tickets"] == []


def customer_phone(make, world, client_as):
    r = client_as("admin").patch(f"/api/v1/customers/{world.customer.id}",
                                 json={"phone": "+98 21 5555 0199"})
    assert r.status_code == 200, r.json
    return lambda body: job(body, world.jobs[0])["customer"]["phone"] == "+98 21 5555 0199"


def customer_renamed_by_sql(make, world, client_as):
    # Not through the ORM: a Core statement (as bulk services and scripts write).
    make.session.execute(text("UPDATE customer SET name = 'Acme Printing Ltd' WHERE id = :id"),
                         {"id": world.customer.id})
    make.session.commit()
    return lambda body: job(body, world.jobs[0])["customer"]["name"] == "Acme Printing Ltd"


def site_access_hours(make, world, client_as):
    site = world.jobs[0].site
    site.access_hours = {"sun": ["09:00", "12:00"]}
    make.session.commit()
    return lambda body: job(body, world.jobs[0])["site"]["access_hours"] == {
        "sun": ["09:00", "12:00"]}


def asset_notes(make, world, client_as):
    world.asset.notes = "Moved to the second floor"
    make.session.commit()
    return lambda body: job(body, world.jobs[0])["asset"]["notes"] == \
        "Moved to the second floor"


def asset_history(make, world, client_as):
    # Another technician fixes the same machine: its service history grows.
    make.work_order(site=world.jobs[0].site, asset_id=world.asset.id,
                    status=WorkOrderStatus.COMPLETED, technician_id=world.other.id,
                    completed_at=datetime.now(UTC) - timedelta(days=1),
                    resolution="Replaced fuser", resolution_code="FUSER")
    return lambda body: [h["resolution_code"] for h in
                         job(body, world.jobs[0])["asset"]["history"]] == ["FUSER", "ROLLER"]


def product_renamed(make, world, client_as):
    world.asset.product.name = "LaserJet 9000 (rev. B)"
    make.session.commit()
    return lambda body: job(body, world.jobs[0])["asset"]["product"]["name"] == \
        "LaserJet 9000 (rev. B)"


def part_renamed(make, world, client_as):
    world.part.name = "Pickup roller kit"
    make.session.commit()
    return lambda body: "Pickup roller kit" in [
        p["name"] for p in job(body, world.jobs[0])["parts"]]


def van_stock_received(make, world, client_as):
    stock.receive(make.session, world.scarce.id, 3, world.tech.van_warehouse_id, SYSTEM)
    make.session.commit()
    return lambda body: {p["part_id"]: p["van_on_hand"] for p in
                         job(body, world.jobs[0])["parts"]}[world.scarce.id] == 4


def van_stock_taken(make, world, client_as):
    # The scarce part goes to another van: the job's part is no longer on this one.
    stock.transfer(make.session, world.scarce.id, 1, world.tech.van_warehouse_id,
                   world.other.van_warehouse_id, SYSTEM)
    make.session.commit()
    return lambda body: {p["part_id"]: p["on_van"] for p in
                         job(body, world.jobs[0])["parts"]}[world.scarce.id] is False


def part_line_added(make, world, client_as):
    _commit(make, WorkOrderPart(work_order_id=world.jobs[1].id, part_id=world.part.id,
                                quantity=1))
    return lambda body: [p["part_id"] for p in job(body, world.jobs[1])["parts"]] == [
        world.part.id]


def window_moved(make, world, client_as):
    window = make.session.query(WorkOrderWindow).filter_by(
        work_order_id=world.jobs[1].id).one()
    window.ends_at = window.ends_at + timedelta(minutes=30)
    make.session.commit()
    ends = window.ends_at
    return lambda body: datetime.fromisoformat(
        job(body, world.jobs[1])["time_windows"][0]["ends_at"]) == ends


def rma_opened(make, world, client_as):
    _commit(make, Rma(number="RMA-2612-0042", type="advance_exchange", status="approved",
                      customer_id=world.customer.id, part_id=world.part.id,
                      entitlement="warranty", entitlement_reason="In warranty"))
    return lambda body: [r["number"] for r in job(body, world.jobs[0])["rmas"]] == [
        "RMA-2612-0042"]


def recall_invited(make, world, client_as):
    campaign = RecallCampaign(code="RC-77", title="Fuser recall")
    _commit(make, campaign)
    _commit(make, RecallAppointment(campaign_id=campaign.id, vin="VIN00000000000077",
                                    customer_id=world.customer.id, status="invited"))
    return lambda body: [a["campaign_code"] for a in job(body, world.jobs[0])["recalls"]] \
        == ["RC-77"]


def technician_renamed(make, world, client_as):
    world.tech.name = "Reza (lead)"
    make.session.commit()
    return lambda body: body["technician"]["name"] == "Reza (lead)"


def phone_report(make, world, client_as):
    # The technician's own write (another request, maybe from the sync queue).
    r = world.phone.post(f"/api/mobile/v1/jobs/{world.jobs[1].id}/report",
                   json={"notes": "Gate code 4411"})
    assert r.status_code == 200, r.json
    return lambda body: job(body, world.jobs[1])["report"]["notes"] == "Gate code 4411"


def dispatcher_puts_on_hold(make, world, client_as):
    r = client_as("dispatcher").post(f"/api/v1/work-orders/{world.jobs[1].id}/transitions",
                                     json={"to": "on_hold", "reason": "Customer away"})
    assert r.status_code == 200, r.json
    return lambda body: job(body, world.jobs[1])["status"] == "on_hold"


CHANGES = [reassign, edit_problem, open_ticket, close_ticket, customer_phone,
           customer_renamed_by_sql, site_access_hours, asset_notes, asset_history,
           product_renamed, part_renamed, van_stock_received, van_stock_taken,
           part_line_added, window_moved, rma_opened, recall_invited, technician_renamed,
           phone_report, dispatcher_puts_on_hold]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_a_change_is_in_the_next_day_never_a_stale_one(make, world, client_as, tech_client,
                                                       cached, change):
    before, tag = cached
    world.phone = tech_client
    shows_it = change(make, world, client_as)
    assert not shows_it(before), "the change must alter the day"
    r = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert r.status_code == 200, (r.status_code, r.data[:200])
    assert shows_it(r.json)
    assert r.headers["ETag"] != tag
    # And it is the day as built from the database now, not a cached one.
    db.session.remove()
    fresh = tech_client.get(day_url())
    assert fresh.json == r.json and fresh.headers["ETag"] == r.headers["ETag"]


def test_unchanged_day_is_304_in_every_spelling(tech_client, cached):
    body, tag = cached
    for header in (tag, "W/" + tag, f'"other", {tag}', "*"):
        r = tech_client.get(day_url(), headers={"If-None-Match": header})
        assert r.status_code == 304, header
        assert r.headers["ETag"] == tag and r.headers["Cache-Control"] == "private, no-cache"
    r = tech_client.get(day_url(), headers={"If-None-Match": '"not-the-tag"'})
    assert r.status_code == 200 and r.json == body and r.headers["ETag"] == tag


def test_a_write_elsewhere_renders_again_but_keeps_the_etag(make, tech_client, cached):
    # Nothing of this technician's day changed: the phone still gets 304.
    body, tag = cached
    make.customer(name="Someone else entirely")
    r = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert r.status_code == 304 and r.headers["ETag"] == tag


def test_another_technician_never_gets_this_day(client_as, world, cached):
    body, tag = cached
    other = client_as("technician", technician_id=world.other.id)
    r = other.get(day_url(), headers={"If-None-Match": tag})
    assert r.status_code == 200
    assert [j["id"] for j in r.json["jobs"]] == [world.other_job.id]
    assert r.headers["ETag"] != tag


def _watched_tables(backend: str) -> set[str]:
    if backend == "postgresql":
        rows = db.session.execute(text(
            "SELECT event_object_table FROM information_schema.triggers "
            "WHERE trigger_name = 'mobile_day_version'"))
    else:
        rows = db.session.execute(text(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'mobile_day_version_%'"))
    return {r[0] for r in rows}


def test_every_table_the_day_reads_bumps_the_version(app, backend, make, tech_client, world):
    """A table read by the day without the trigger would let a cached day go stale."""
    make.session.expire_all()
    with count_queries(app) as statements:
        assert tech_client.get(day_url()).status_code == 200
    names = {t.name for t in db.metadata.sorted_tables}
    read = set()
    for statement in statements:
        for word in re.findall(r"(?:FROM|JOIN)\s+\"?([a-z_]+)", statement):
            if word in names:
                read.add(word)
    read -= {"auth_token", "user_account", "mobile_day_version",  # who calls, the counters
             "mobile_day_tech_version"}
    assert {"work_order", "ticket", "stock_level", "recall_campaign"} <= read
    with app.app_context():
        watched = _watched_tables(backend)
    assert read - watched == set()


def test_a_writer_left_open_holds_up_no_other_writer_through_the_version(app, backend, world):
    """The version is bumped at COMMIT, so an open transaction locks no shared counter row:
    other transactions (whatever their counter slot) write and commit without waiting."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with app.app_context():
        engine = db.engine
        with engine.connect() as open_tx:
            open_tx.execute(text("UPDATE technician SET name = name WHERE id = :i"),
                            {"i": world.tech.id})
            before = open_tx.execute(text("SELECT coalesce(sum(n), 0) FROM mobile_day_version"))
            before = before.scalar()
            for _ in range(48):  # 48 transaction ids cover all 16 slots
                with engine.connect() as other:
                    other.execute(text("SET LOCAL lock_timeout = '3s'"))
                    other.execute(text("UPDATE customer SET name = name WHERE id = :i"),
                                  {"i": world.customer.id})
                    other.commit()
            open_tx.rollback()
        with engine.connect() as check:
            after = check.execute(text("SELECT coalesce(sum(n), 0) FROM mobile_day_version"))
            assert after.scalar() == before + 48  # each committed writer bumped it once
            assert check.execute(text("SELECT count(*) FROM mobile_day_bump")).scalar() == 0


def test_a_write_to_another_technicians_work_keeps_this_day_cached(app, client_as, world,
                                                                    tech_client, cached):
    """Versioned per technician: the day is served from the cache, not built again."""
    body, tag = cached
    r = client_as("dispatcher").patch(f"/api/v1/work-orders/{world.other_job.id}",
                                      json={"description": "Someone else's problem"})
    assert r.status_code == 200, r.json
    with count_queries(app) as statements:
        again = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag
    built = [s for s in statements if re.search(r"FROM\s+\"?work_order\b", s)
             and "mobile_day" not in s]
    assert built == [], statements  # a hit: the version was read, the day was not
    # The other technician's day did change.
    other = client_as("technician", technician_id=world.other.id).get(day_url())
    assert other.json["jobs"][0]["problem"] == "Someone else's problem"
    # And a write to this technician's own work renders this day again.
    r = client_as("dispatcher").patch(f"/api/v1/work-orders/{world.jobs[1].id}",
                                      json={"description": "Paper jam, tray 2"})
    assert r.status_code == 200, r.json
    changed = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert job(changed.json, world.jobs[1])["problem"] == "Paper jam, tray 2"


def test_stock_moving_in_another_technicians_van_keeps_this_day_cached(app, make, world,
                                                                       tech_client):
    """Stock versions the days of the van's technician only: a delivery to someone else's
    van, and a transfer from a depot into it, leave this day cached."""
    depot = make.warehouse(code="DEPOT-N")  # a new warehouse is shown on every day: a miss
    stock.receive(make.session, world.part.id, 4, depot.id, SYSTEM)
    make.session.commit()
    tag = tech_client.get(day_url()).headers["ETag"]
    stock.receive(make.session, world.scarce.id, 2, world.other.van_warehouse_id, SYSTEM)
    stock.transfer(make.session, world.part.id, 1, depot.id, world.other.van_warehouse_id,
                   SYSTEM)
    make.session.commit()
    with count_queries(app) as statements:
        again = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag
    built = [s for s in statements if re.search(r"FROM\s+\"?work_order\b", s)
             and "mobile_day" not in s]
    assert built == [], statements  # a hit: the version was read, the day was not
    # A movement out of this technician's own van renders the day again, with it.
    stock.transfer(make.session, world.scarce.id, 1, world.tech.van_warehouse_id, depot.id,
                   SYSTEM)
    make.session.commit()
    changed = tech_client.get(day_url(), headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert {p["part_id"]: p["on_van"] for p in
            job(changed.json, world.jobs[0])["parts"]}[world.scarce.id] is False
