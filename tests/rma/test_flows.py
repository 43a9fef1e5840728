"""Each RMA type end to end, with the stock ledger checked after every step."""

from datetime import date, timedelta

from fieldsvc.dates import today_in
from fieldsvc.models.enums import WarehouseKind


def test_advance_exchange_from_a_warehouse(kit, make):
    site = make.site(region="Tehran")
    asset = make.asset(site=site, warranty_end=date.today() + timedelta(days=90))
    part = make.part(serialized=True)
    central, refurb = make.warehouse(region="Tehran"), make.warehouse()
    kit.receive(part.id, central.id, serial="NEW-1")
    rma = kit.create(type="advance_exchange", customer_id=asset.customer_id,
                     asset_id=asset.id, part_id=part.id)
    assert rma["entitlement"] == "warranty" and rma["whole_unit"] is False
    assert rma["allowed_transitions"] == ["approved", "cancelled", "rejected"]

    approved = kit.move(rma["id"], to="approved", warehouse_id=central.id)
    assert approved.status_code == 200, approved.json
    assert approved.json["replacement_reserved"] == 1
    assert kit.level(central.id, part.id) == (1, 1)
    assert kit.ledger(rma["id"]) == [("reserve", central.id, None, None)]

    shipped = kit.move(rma["id"], to="replacement_shipped", replacement_serial="NEW-1")
    assert shipped.status_code == 200, shipped.json
    body = shipped.json
    assert body["replacement_serial"] == "NEW-1"
    assert body["return_deadline"] == (today_in("Asia/Tehran") + timedelta(days=15)).isoformat()
    assert body["replacement_reserved"] == 0
    assert kit.level(central.id, part.id) == (0, 0)
    assert kit.ledger(rma["id"])[-1] == ("issue", central.id, None, "NEW-1")

    received = kit.move(rma["id"], to="defective_received", defective_serial="OLD-7")
    assert received.status_code == 200, received.json
    quarantine = received.json["quarantine_warehouse_id"]
    warehouse = kit.client.get(f"/api/v1/warehouses/{quarantine}").json
    assert (warehouse["code"], warehouse["kind"]) == ("QUARANTINE-TEHRAN", "quarantine")
    assert kit.level(quarantine, part.id) == (1, 0)
    assert kit.ledger(rma["id"])[-1] == ("receive", None, quarantine, "OLD-7")

    inspected = kit.move(rma["id"], to="inspected", result="failure_confirmed",
                         failure_code="E-302", disposition="restock", warehouse_id=refurb.id,
                         inspection_notes="Thermistor replaced")
    assert inspected.status_code == 200, inspected.json
    assert inspected.json["inspection_failure_code"] == "E-302"
    assert kit.level(quarantine, part.id) == (0, 0)
    assert kit.level(refurb.id, part.id) == (1, 0)
    assert kit.ledger(rma["id"])[-1] == ("transfer", quarantine, refurb.id, "OLD-7")

    closed = kit.move(rma["id"], to="closed")
    assert closed.status_code == 200
    assert closed.json["allowed_transitions"] == []
    assert [t["to_status"] for t in closed.json["transitions"]] == [
        "requested", "approved", "replacement_shipped", "defective_received", "inspected",
        "closed"]
    assert len(kit.ledger(rma["id"])) == 4  # closing moves nothing
    # A second RMA of the same region reuses the quarantine warehouse.
    again = kit.create(type="return_for_credit", customer_id=asset.customer_id,
                       asset_id=asset.id, part_id=part.id)
    kit.move(again["id"], to="approved")
    second = kit.move(again["id"], to="defective_received", defective_serial="OLD-8").json
    assert second["quarantine_warehouse_id"] == quarantine


def test_advance_exchange_swapped_on_site_from_the_van(kit, make, client_as, app):
    tech = make.technician()
    site = make.site()
    asset = make.asset(site=site)
    order = make.work_order(site=site, asset_id=asset.id, technician_id=tech.id)
    part = make.part()
    kit.receive(part.id, tech.van_warehouse_id)
    techie = client_as("technician", technician_id=tech.id)
    created = techie.post(f"/api/v1/work-orders/{order.id}/rmas", json={
        "type": "advance_exchange", "part_id": part.id, "failure_code": "PSU-1",
        "replacement_warehouse_id": tech.van_warehouse_id})
    assert created.status_code == 201, created.json
    rma = created.json
    assert (rma["customer_id"], rma["asset_id"], rma["work_order_id"]) == (
        site.customer_id, asset.id, order.id)

    assert kit.move(rma["id"], to="approved").status_code == 200
    assert kit.level(tech.van_warehouse_id, part.id) == (1, 1)
    shipped = kit.move(rma["id"], to="replacement_shipped")
    assert shipped.status_code == 200, shipped.json
    assert kit.level(tech.van_warehouse_id, part.id) == (0, 0)
    # The swap shows on the job: issued against the work order, linked to the RMA.
    job = kit.client.get(f"/api/v1/work-orders/{order.id}").json
    line = next(p for p in job["parts"] if p["part_id"] == part.id)
    assert (line["reserved"], line["issued"]) == (0, 1)
    assert [k for k, *_ in kit.ledger(rma["id"])] == ["reserve", "issue"]


def test_a_van_ships_only_for_its_own_technicians_job(kit, make):
    tech, other = make.technician(), make.technician()
    site = make.site()
    order = make.work_order(site=site, technician_id=tech.id)
    part = make.part()
    body = {"type": "advance_exchange", "customer_id": site.customer_id, "part_id": part.id}
    refused = kit.client.post("/api/v1/rmas", json=dict(
        body, replacement_warehouse_id=tech.van_warehouse_id))
    assert refused.status_code == 422
    assert "work order" in refused.json["errors"]["replacement_warehouse_id"][0]
    refused = kit.client.post("/api/v1/rmas", json=dict(
        body, work_order_id=order.id, replacement_warehouse_id=other.van_warehouse_id))
    assert refused.status_code == 422
    rma = kit.create(**body, work_order_id=order.id)
    kit.receive(part.id, other.van_warehouse_id)
    moved = kit.move(rma["id"], to="approved", warehouse_id=other.van_warehouse_id)
    assert moved.status_code == 422 and "van" in moved.json["errors"]["warehouse_id"][0]
    assert kit.rma(rma["id"]).status.value == "requested"
    assert kit.level(other.van_warehouse_id, part.id) == (1, 0)


def test_repair_and_return_of_the_whole_unit(kit, make):
    asset = make.asset(serial_number="PRN-0001")
    unit = make.part(serialized=True, name="X500 printer unit")
    rma = kit.create(type="repair_and_return", customer_id=asset.customer_id,
                     asset_id=asset.id, part_id=unit.id, whole_unit=True)
    assert kit.move(rma["id"], to="replacement_shipped").status_code == 409
    approved = kit.move(rma["id"], to="approved")
    assert approved.json["allowed_transitions"] == ["cancelled", "defective_received"]
    skipped = kit.move(rma["id"], to="replacement_shipped")
    assert skipped.status_code == 409
    assert skipped.json["allowed"] == ["cancelled", "defective_received"]

    wrong = kit.move(rma["id"], to="defective_received", defective_serial="PRN-9999")
    assert wrong.status_code == 422
    assert wrong.json["errors"]["defective_serial"] == [
        "serial does not match the customer's asset"]
    missing = kit.move(rma["id"], to="defective_received")
    assert missing.status_code == 422
    assert kit.rma(rma["id"]).status.value == "approved" and kit.ledger(rma["id"]) == []

    received = kit.move(rma["id"], to="defective_received", defective_serial="PRN-0001").json
    quarantine = received["quarantine_warehouse_id"]
    assert kit.level(quarantine, unit.id) == (1, 0)
    assert kit.ledger(rma["id"]) == [("receive", None, quarantine, "PRN-0001")]
    bad = kit.move(rma["id"], to="inspected", result="no_fault_found", disposition="restock",
                   warehouse_id=quarantine)
    assert bad.status_code == 422 and "disposition" in bad.json["errors"]
    inspected = kit.move(rma["id"], to="inspected", result="no_fault_found",
                         disposition="return_to_customer")
    assert inspected.status_code == 200, inspected.json
    assert kit.level(quarantine, unit.id) == (1, 0)  # still here until it ships back
    closed = kit.move(rma["id"], to="closed")
    assert closed.status_code == 200, closed.json
    assert kit.level(quarantine, unit.id) == (0, 0)
    assert kit.ledger(rma["id"])[-1] == ("issue", quarantine, None, "PRN-0001")


def test_return_for_credit_scrapped(kit, make):
    customer = make.customer()
    part = make.part()
    own_quarantine = make.warehouse(kind=WarehouseKind.QUARANTINE, code="Q-MAIN")
    rma = kit.create(type="return_for_credit", customer_id=customer.id, part_id=part.id,
                     quantity=3)
    assert kit.move(rma["id"], to="approved").status_code == 200
    not_quarantine = make.warehouse()
    refused = kit.move(rma["id"], to="defective_received", warehouse_id=not_quarantine.id)
    assert refused.status_code == 422
    assert kit.move(rma["id"], to="defective_received",
                    warehouse_id=own_quarantine.id).status_code == 200
    assert kit.level(own_quarantine.id, part.id) == (3, 0)
    done = kit.move(rma["id"], to="inspected", result="customer_damage", disposition="scrap")
    assert done.status_code == 200, done.json
    assert done.json["charge_customer"] is False  # a credit is refused, nothing is charged
    assert kit.level(own_quarantine.id, part.id) == (0, 0)
    assert kit.ledger(rma["id"]) == [("receive", None, own_quarantine.id, None),
                                     ("scrap", own_quarantine.id, None, None)]
    assert kit.move(rma["id"], to="closed").status_code == 200


def test_return_to_vendor(kit, make):
    customer = make.customer()
    part = make.part()
    vendor = make.warehouse(code="VENDOR-ACME", name="Acme returns desk")
    rma = kit.create(type="return_to_vendor", customer_id=customer.id, part_id=part.id)
    kit.move(rma["id"], to="approved")
    quarantine = kit.move(rma["id"], to="defective_received").json["quarantine_warehouse_id"]
    missing = kit.move(rma["id"], to="inspected", result="failure_confirmed",
                       disposition="to_vendor")
    assert missing.status_code == 422 and "warehouse_id" in missing.json["errors"]
    sent = kit.move(rma["id"], to="inspected", result="failure_confirmed",
                    disposition="to_vendor", warehouse_id=vendor.id)
    assert sent.status_code == 200, sent.json
    assert kit.level(vendor.id, part.id) == (1, 0)
    assert kit.ledger(rma["id"]) == [("receive", None, quarantine, None),
                                     ("transfer", quarantine, vendor.id, None)]
    assert kit.move(rma["id"], to="closed").json["status"] == "closed"


def test_cancel_releases_the_held_replacement(kit, make):
    customer = make.customer()
    part, central = make.part(), make.warehouse()
    kit.receive(part.id, central.id, quantity=2)
    rma = kit.create(type="advance_exchange", customer_id=customer.id, part_id=part.id)
    kit.move(rma["id"], to="approved", warehouse_id=central.id)
    assert kit.level(central.id, part.id) == (2, 1)
    no_reason = kit.move(rma["id"], to="cancelled")
    assert no_reason.status_code == 422 and "note" in no_reason.json["errors"]
    cancelled = kit.move(rma["id"], to="cancelled", note="Customer fixed it")
    assert cancelled.status_code == 200
    assert kit.level(central.id, part.id) == (2, 0)
    assert [k for k, *_ in kit.ledger(rma["id"])] == ["reserve", "release"]
    final = kit.move(rma["id"], to="approved")
    assert final.status_code == 409 and final.json["allowed"] == []
