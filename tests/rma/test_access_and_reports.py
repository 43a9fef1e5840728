"""Who sees RMAs, opening one from a job, and the returns report (JSON and CSV)."""

from datetime import UTC, date, datetime

from fieldsvc.extensions import db
from rma.models import Rma


def test_technician_sees_rmas_of_own_work_orders_only(kit, make, client_as):
    tech, other = make.technician(), make.technician()
    site = make.site()
    mine = make.work_order(site=site, technician_id=tech.id)
    theirs = make.work_order(site=site, technician_id=other.id)
    part = make.part()
    techie = client_as("technician", technician_id=tech.id)
    created = techie.post(f"/api/v1/work-orders/{mine.id}/rmas",
                          json={"type": "return_for_credit", "part_id": part.id})
    assert created.status_code == 201, created.json
    kit.create(type="return_for_credit", customer_id=site.customer_id, part_id=part.id,
               work_order_id=theirs.id)
    listed = techie.get(f"/api/v1/work-orders/{mine.id}/rmas")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json["items"]] == [created.json["id"]]
    assert techie.get(f"/api/v1/work-orders/{theirs.id}/rmas").status_code == 404
    assert techie.post(f"/api/v1/work-orders/{theirs.id}/rmas",
                       json={"type": "return_for_credit", "part_id": part.id}
                       ).status_code == 404
    # The RMA list and items are not theirs to browse, nor to move.
    assert techie.get("/api/v1/rmas").status_code == 403
    assert techie.get(f"/api/v1/rmas/{created.json['id']}").status_code == 403
    assert kit.move(created.json["id"], client=techie, to="approved").status_code == 403
    assert kit.client.get(f"/api/v1/work-orders/{theirs.id}/rmas").json["total"] == 1


def test_work_order_rma_input(kit, make):
    site = make.site()
    asset = make.asset(site=site)
    order = make.work_order(site=site, asset_id=asset.id)
    url = f"/api/v1/work-orders/{order.id}/rmas"
    for body, field in (({"type": "return_for_credit", "customer_id": 1}, "customer_id"),
                        ({"type": "return_for_credit", "work_order_id": 1}, "work_order_id"),
                        ({"type": "nope"}, "type"),
                        ({"type": "return_for_credit", "part_id": 999}, "part_id"),
                        ({"type": "return_for_credit", "asset_id": make.asset().id},
                         "asset_id")):
        response = kit.client.post(url, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"]
    assert kit.client.post("/api/v1/work-orders/999/rmas",
                           json={"type": "return_for_credit"}).status_code == 404
    made = kit.client.post(url, json={"type": "repair_and_return"}).json
    assert (made["asset_id"], made["whole_unit"]) == (asset.id, True)


def test_dealership_sees_no_rmas_and_roles_split_the_steps(kit, make, client_as):
    dealer = client_as("dealership", dealership_id=make.dealership().id)
    customer = make.customer()
    part, central = make.part(), make.warehouse()
    kit.receive(part.id, central.id)
    rma = kit.create(type="advance_exchange", customer_id=customer.id, part_id=part.id)
    assert dealer.get("/api/v1/rmas").status_code == 403
    assert dealer.get(f"/api/v1/rmas/{rma['id']}").status_code == 403
    assert dealer.get("/api/v1/reports/returns?from=2026-01-01&to=2026-12-31"
                      ).status_code == 403
    dispatcher, manager = client_as("dispatcher"), client_as("manager")
    assert kit.move(rma["id"], client=dispatcher, to="approved").status_code == 403
    assert kit.move(rma["id"], client=manager, to="approved",
                    warehouse_id=central.id).status_code == 200
    shipped = kit.move(rma["id"], client=dispatcher, to="replacement_shipped")
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["transitions"][-1]["actor_id"] == dispatcher.user_id


def _opened(app, rma_id, when):
    with app.app_context():
        db.session.execute(db.update(Rma).where(Rma.id == rma_id).values(created_at=when))
        db.session.commit()


def test_returns_report(kit, make, app):
    printer, server = make.product(code="PRN-X500"), make.product(code="SRV-R7")
    customer = make.customer()
    a1 = make.asset(customer=customer, product=printer)
    a2 = make.asset(customer=customer, product=server)
    part = make.part()

    def returned(asset, code, result, when):
        rma = kit.create(type="return_for_credit", customer_id=customer.id, asset_id=asset.id,
                         part_id=part.id, failure_code=code)
        kit.move(rma["id"], to="approved")
        kit.move(rma["id"], to="defective_received")
        if result:
            assert kit.move(rma["id"], to="inspected", result=result,
                            disposition="scrap").status_code == 200
        _opened(app, rma["id"], when)

    jan, feb = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC)
    returned(a1, "E-301", "no_fault_found", jan)
    returned(a1, "E-301", "failure_confirmed", jan)
    returned(a1, "E-301", None, jan)
    returned(a2, "PSU", "no_fault_found", feb)
    returned(a2, "PSU", "customer_damage", datetime(2025, 12, 31, 23, 59, tzinfo=UTC))

    url = "/api/v1/reports/returns?from=2026-01-01&to=2026-02-28"
    body = kit.client.get(url).json
    assert body["group"] == ["month", "product", "failure_code"]
    assert body["items"] == [
        {"month": "2026-01", "product_id": printer.id, "product_code": "PRN-X500",
         "failure_code": "E-301", "returns": 3, "inspected": 2, "failure_confirmed": 1,
         "no_fault_found": 1, "customer_damage": 0, "no_fault_found_rate": 0.5},
        {"month": "2026-02", "product_id": server.id, "product_code": "SRV-R7",
         "failure_code": "PSU", "returns": 1, "inspected": 1, "failure_confirmed": 0,
         "no_fault_found": 1, "customer_damage": 0, "no_fault_found_rate": 1.0},
    ]
    by_product = kit.client.get(url + "&group=product").json["items"]
    assert [(r["product_code"], r["returns"]) for r in by_product] == [("PRN-X500", 3),
                                                                       ("SRV-R7", 1)]
    assert "month" not in by_product[0]
    by_month = kit.client.get("/api/v1/reports/returns?from=2025-12-01&to=2026-01-31"
                              "&group=month").json["items"]
    assert [(r["month"], r["returns"], r["customer_damage"]) for r in by_month] == [
        ("2025-12", 1, 1), ("2026-01", 3, 0)]
    csv = kit.client.get(url + "&group=failure_code&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.text.splitlines() == [
        "failure_code,returns,inspected,failure_confirmed,no_fault_found,customer_damage,"
        "no_fault_found_rate",
        "E-301,3,2,1,1,0,0.5",
        "PSU,1,1,0,1,0,1.0",
    ]
    empty = kit.client.get("/api/v1/reports/returns?from=2020-01-01&to=2020-01-31")
    assert empty.json["items"] == []
    assert date.fromisoformat(empty.json["from"]) == date(2020, 1, 1)


def test_returns_report_bad_input(kit):
    base = "/api/v1/reports/returns"
    for query, field in (("?to=2026-01-01", "from"), ("?from=2026-01-01", "to"),
                         ("?from=2026-02-01&to=2026-01-01", "to"),
                         ("?from=2026-13-01&to=2026-12-01", "from"),
                         ("?from=0001-01-01&to=2026-12-01", "from"),
                         ("?from=2026-01-01&to=2026-01-31&group=week", "group"),
                         ("?from=2026-01-01&to=2026-01-31&group=month,month", "group"),
                         ("?from=2026-01-01&to=2026-01-31&group=", "group"),
                         ("?from=2026-01-01&to=2026-01-31&format=xml", "format"),
                         ("?from=2026-01-01&to=2026-01-31&colour=red", "colour")):
        response = kit.client.get(base + query)
        assert response.status_code == 422, (query, response.json)
        assert field in response.json["errors"], (query, response.json)
