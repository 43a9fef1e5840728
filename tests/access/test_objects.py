"""Object-level access: technicians and dealerships reach only their own rows (else 404)."""

from __future__ import annotations

from datetime import date

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.recall.models import RecallAppointment, RecallCampaign


@pytest.fixture
def two_technicians(make, client_as):
    mine, other = make.technician(), make.technician()
    site = make.site()
    own_jobs = [make.work_order(site=site, technician_id=mine.id,
                                status=WorkOrderStatus.DISPATCHED) for _ in range(2)]
    other_job = make.work_order(site=site, technician_id=other.id,
                                status=WorkOrderStatus.DISPATCHED)
    unassigned = make.work_order(site=site)
    return {
        "client": client_as("technician", technician_id=mine.id),
        "me": mine.id, "other": other.id,
        "own_jobs": [j.id for j in own_jobs], "other_job": other_job.id,
        "unassigned": unassigned.id,
    }


def test_technician_lists_only_their_own_work_orders(two_technicians):
    t = two_technicians
    listed = t["client"].get("/api/v1/work-orders")
    assert listed.status_code == 200
    assert sorted(i["id"] for i in listed.json["items"]) == sorted(t["own_jobs"])
    assert listed.json["total"] == 2
    # A filter naming someone else's id does not widen the scope.
    other = t["client"].get("/api/v1/work-orders", query_string={"technician_id": t["other"]})
    if other.status_code == 200:
        assert other.json["items"] == [] and other.json["total"] == 0


def test_technician_guessing_other_ids_gets_404_everywhere(two_technicians):
    t = two_technicians
    c = t["client"]
    for ident in (t["other_job"], t["unassigned"], 999_999):
        assert c.get(f"/api/v1/work-orders/{ident}").status_code == 404
        assert c.get(f"/api/v1/work-orders/{ident}/transitions").status_code == 404
        moved = c.post(f"/api/v1/work-orders/{ident}/transitions", json={"to": "en_route"})
        assert moved.status_code == 404
        assert c.patch(f"/api/v1/work-orders/{ident}", json={"resolution": "x"}).status_code \
            == 404
    # The answer for someone else's job is the same as for a job that does not exist.
    assert c.get(f"/api/v1/work-orders/{t['other_job']}").json["detail"].replace(
        str(t["other_job"]), "N") == c.get("/api/v1/work-orders/999999").json["detail"].replace(
        "999999", "N")
    assert c.get(f"/api/v1/work-orders/{t['own_jobs'][0]}").status_code == 200


def test_technician_moves_own_job_but_only_in_the_field_states(app, two_technicians):
    t = two_technicians
    c = t["client"]
    job = t["own_jobs"][0]
    refused = c.post(f"/api/v1/work-orders/{job}/transitions", json={"to": "cancelled"})
    assert refused.status_code == 403
    reassigned = c.post(f"/api/v1/work-orders/{job}/transitions",
                        json={"to": "en_route", "technician_id": t["other"]})
    assert reassigned.status_code == 403
    moved = c.post(f"/api/v1/work-orders/{job}/transitions", json={"to": "en_route"})
    assert moved.status_code in (200, 201), moved.json
    with app.app_context():
        assert db.session.get(WorkOrder, job).status == WorkOrderStatus.EN_ROUTE


def test_technician_cannot_mass_assign_planning_fields(app, two_technicians):
    t = two_technicians
    job = t["own_jobs"][0]
    for body in ({"technician_id": t["other"]}, {"priority": 1}, {"pinned": True},
                 {"resolution": "fixed", "priority": 1}):
        response = t["client"].patch(f"/api/v1/work-orders/{job}", json=body)
        assert response.status_code == 403, body
        assert response.mimetype == "application/problem+json"
    with app.app_context():
        row = db.session.get(WorkOrder, job)
        assert (row.technician_id, row.priority, row.pinned) == (t["me"], 3, False)


def test_technician_sees_only_their_own_technician_record(two_technicians):
    t = two_technicians
    c = t["client"]
    assert c.get(f"/api/v1/technicians/{t['me']}").status_code == 200
    assert c.get(f"/api/v1/technicians/{t['other']}").status_code == 404
    listed = c.get("/api/v1/technicians")
    assert [i["id"] for i in listed.json["items"]] == [t["me"]]
    assert c.get(f"/api/v1/technicians/{t['other']}/absences").status_code == 404


@pytest.fixture
def two_dealerships(app, make, client_as):
    mine, other = make.dealership(), make.dealership()
    with app.app_context():
        campaign = RecallCampaign(code="RC-1", title="Airbag")
        db.session.add(campaign)
        db.session.flush()
        appointments = {}
        for n, dealer in enumerate([mine, mine, other]):
            row = RecallAppointment(campaign_id=campaign.id, vin=f"VIN{n:014d}",
                                    dealership_id=dealer.id, day=date(2030, 1, 2 + n))
            db.session.add(row)
            db.session.flush()
            appointments.setdefault(dealer.id, []).append(row.id)
        db.session.commit()
        db.session.remove()
    return {"client": client_as("dealership", dealership_id=mine.id), "me": mine.id,
            "other": other.id, "mine": appointments[mine.id],
            "theirs": appointments[other.id]}


def test_dealership_reaches_only_its_own_dealership(two_dealerships):
    d = two_dealerships
    c = d["client"]
    assert c.get(f"/api/v1/dealerships/{d['me']}").status_code == 200
    assert c.get(f"/api/v1/dealerships/{d['other']}").status_code == 404
    assert c.get(f"/api/v1/dealerships/{d['other']}/holidays").status_code == 404
    listed = c.get("/api/v1/dealerships")
    assert [i["id"] for i in listed.json["items"]] == [d["me"]]
    capacity = f"/api/v1/dealerships/{d['other']}/capacity?from=2030-01-01&to=2030-01-07"
    assert c.get(capacity).status_code == 404


def test_dealership_sees_only_its_own_appointments(two_dealerships):
    d = two_dealerships
    c = d["client"]
    listed = c.get("/api/v1/recall-appointments")
    assert listed.status_code == 200
    assert sorted(i["id"] for i in listed.json["items"]) == sorted(d["mine"])
    widened = c.get("/api/v1/recall-appointments", query_string={"dealership_id": d["other"]})
    assert widened.status_code == 200 and widened.json["items"] == []
    for ident in d["theirs"]:
        assert c.get(f"/api/v1/recall-appointments/{ident}").status_code == 404
    assert c.get(f"/api/v1/recall-appointments/{d['mine'][0]}").status_code == 200
    booked = c.post("/api/v1/recall-appointments",
                    json={"campaign_id": 1, "vin": "X", "dealership_id": d["other"],
                          "day": "2030-01-05"})
    assert booked.status_code in (403, 405)
    assert c.get("/api/v1/work-orders").status_code == 403
    assert c.get("/api/v1/customers").status_code == 403
