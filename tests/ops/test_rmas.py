"""RMAs: ownership checks, entitlement decision, numbering."""

import re
from datetime import date, timedelta

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AssetContract
from fieldsvc.models.enums import CampaignStatus
from fieldsvc.recall.models import CampaignPart, CampaignVin, RecallCampaign
from rma.models import Rma, RmaTransition
from rma.services import next_number

VIN = "NAS411100G1234567"


def _count(app, model=Rma):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(model.id)))


def _rma(customer_id, **kw):
    body = {"type": "repair_and_return", "customer_id": customer_id,
            "failure_description": "Fuser overheats", "failure_code": "E-301"}
    body.update(kw)
    return body


def test_warranty_entitlement_number_and_history(client, make, app):
    asset = make.asset(warranty_end=date.today() + timedelta(days=30))
    created = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id))
    assert created.status_code == 201, created.json
    body = created.json
    assert body["entitlement"] == "warranty"
    assert "warranty" in body["entitlement_reason"]
    assert body["status"] == "requested"
    assert re.fullmatch(rf"RMA-{date.today():%y%m}-0001", body["number"])
    assert [t["to_status"] for t in body["transitions"]] == ["requested"]
    second = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id))
    assert second.json["number"].endswith("-0002")
    found = client.get(f"/api/v1/rmas?number={body['number'].lower()}")
    assert [r["id"] for r in found.json["items"]] == [body["id"]]


def test_contract_entitlement_when_warranty_expired(client, make, app):
    asset = make.asset(warranty_end=date.today() - timedelta(days=1))
    contract = make.contract(asset.customer)
    with app.app_context():
        db.session.add(AssetContract(asset_id=asset.id, contract_id=contract.id))
        db.session.commit()
    created = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id))
    assert created.json["entitlement"] == "contract"
    assert contract.number in created.json["entitlement_reason"]


def test_expired_contract_does_not_count(client, make, app):
    asset = make.asset()
    contract = make.contract(asset.customer, starts_on=date(2020, 1, 1), ends_on=date(2021, 1, 1))
    with app.app_context():
        db.session.add(AssetContract(asset_id=asset.id, contract_id=contract.id))
        db.session.commit()
    created = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id))
    assert created.json["entitlement"] == "chargeable"


def _recall(app, part_id, status=CampaignStatus.ACTIVE):
    with app.app_context():
        campaign = RecallCampaign(code=f"RC-{status.value}", title="Brake hose", status=status)
        db.session.add(campaign)
        db.session.flush()
        db.session.add_all([CampaignVin(campaign_id=campaign.id, vin=VIN),
                            CampaignPart(campaign_id=campaign.id, part_id=part_id)])
        db.session.commit()


def test_recall_entitlement_needs_active_campaign_and_its_part(client, make, app):
    car = make.asset(vin=VIN)
    hose, other = make.part(), make.part()
    _recall(app, hose.id, CampaignStatus.DRAFT)
    draft = client.post("/api/v1/rmas", json=_rma(car.customer_id, asset_id=car.id,
                                                  part_id=hose.id))
    assert draft.json["entitlement"] == "chargeable"
    _recall(app, hose.id, CampaignStatus.ACTIVE)
    wrong_part = client.post("/api/v1/rmas", json=_rma(car.customer_id, asset_id=car.id,
                                                       part_id=other.id))
    assert wrong_part.json["entitlement"] == "chargeable"
    covered = client.post("/api/v1/rmas", json=_rma(car.customer_id, asset_id=car.id,
                                                    part_id=hose.id, type="advance_exchange"))
    assert covered.json["entitlement"] == "recall"
    assert "RC-active" in covered.json["entitlement_reason"]


def test_asset_of_another_customer_is_refused(client, make, app):
    asset = make.asset()
    stranger = make.customer()
    refused = client.post("/api/v1/rmas", json=_rma(stranger.id, asset_id=asset.id))
    assert refused.status_code == 422
    assert refused.json["errors"]["asset_id"] == ["serial does not belong to this customer"]
    assert _count(app) == 0 and _count(app, RmaTransition) == 0


def test_ticket_and_work_order_must_be_the_customers(client, make, app):
    asset = make.asset()
    ticket = make.ticket()
    order = make.work_order()
    refused = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id,
                                                    ticket_id=ticket.id,
                                                    work_order_id=order.id))
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"ticket_id", "work_order_id"}
    own_ticket = make.ticket(customer=asset.customer)
    ok = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id,
                                               ticket_id=own_ticket.id))
    assert ok.status_code == 201
    assert _count(app) == 1


@pytest.mark.parametrize("change, field", [
    ({"type": "swap"}, "type"), ({"type": None}, "type"), ({"customer_id": 999}, "customer_id"),
    ({"asset_id": 999}, "asset_id"), ({"part_id": 999}, "part_id"),
    ({"quantity": 0}, "quantity"), ({"quantity": "2"}, "quantity"),
    ({"failure_code": "x" * 41}, "failure_code"), ({"status": "approved"}, "status"),
    ({"number": "RMA-1"}, "number"), ({"entitlement": "warranty"}, "entitlement"),
    ({"asset_id": None, "part_id": None}, "part_id"),
])
def test_invalid_rmas_are_422(client, make, app, change, field):
    asset = make.asset()
    body = _rma(asset.customer_id, asset_id=asset.id)
    body.update(change)
    response = client.post("/api/v1/rmas", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert _count(app) == 0


def test_list_filters_and_no_updates_yet(client, make):
    asset = make.asset()
    part = make.part()
    first = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id)).json
    client.post("/api/v1/rmas", json=_rma(asset.customer_id, part_id=part.id,
                                          type="return_for_credit"))
    client.post("/api/v1/rmas", json=_rma(make.customer().id, part_id=part.id))
    mine = client.get(f"/api/v1/rmas?customer_id={asset.customer_id}")
    assert mine.json["total"] == 2
    assert client.get(f"/api/v1/rmas?asset_id={asset.id}").json["total"] == 1
    assert client.get("/api/v1/rmas?type=return_for_credit").json["total"] == 1
    assert client.get("/api/v1/rmas?status=requested").json["total"] == 3
    assert client.get("/api/v1/rmas?status=lost").status_code == 422
    assert client.get(f"/api/v1/rmas/{first['id']}").json["number"] == first["number"]
    assert client.get("/api/v1/rmas/999").status_code == 404
    assert client.patch(f"/api/v1/rmas/{first['id']}", json={}).status_code == 405
    assert client.delete(f"/api/v1/rmas/{first['id']}").status_code == 405


def test_numbering_continues_past_9999_and_per_month(make, ctx, app):
    customer = make.customer()
    today = date(2026, 11, 5)
    for number in ("RMA-2611-9999", "RMA-2610-0042"):
        ctx.add(Rma(number=number, type="repair_and_return", customer_id=customer.id,
                    entitlement="chargeable", entitlement_reason="test"))
    ctx.commit()
    assert next_number(ctx, today) == "RMA-2611-10000"
    assert next_number(ctx, date(2026, 10, 1)) == "RMA-2610-0043"
    assert next_number(ctx, date(2026, 12, 1)) == "RMA-2612-0001"


def test_transition_follows_the_status_machine(client, make, ctx):
    from fieldsvc.context import SYSTEM
    from fieldsvc.models.enums import RmaStatus
    from fieldsvc.problems import Conflict
    from rma.services import transition

    asset = make.asset()
    ident = client.post("/api/v1/rmas", json=_rma(asset.customer_id, asset_id=asset.id)).json["id"]
    rma = ctx.get(Rma, ident)
    with pytest.raises(Conflict):
        transition(ctx, rma, RmaStatus.CLOSED, SYSTEM)
    transition(ctx, rma, RmaStatus.APPROVED, SYSTEM, note="ok")
    assert [(t.from_status, t.to_status) for t in
            ctx.scalars(db.select(RmaTransition).order_by(RmaTransition.id))] == [
        (None, "requested"), ("requested", "approved")]
