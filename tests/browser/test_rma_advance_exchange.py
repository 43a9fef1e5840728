"""An advance-exchange RMA from the console: the agent picks the replacement from the parts
in stock, listed under the customer's product they were used on."""

from __future__ import annotations

from sqlalchemy import select

from fieldsvc.context import SYSTEM
from fieldsvc.extensions import db
from fieldsvc.models import WorkOrderPart
from fieldsvc.models.enums import WarehouseKind
from fieldsvc.services import stock
from rma.models import Rma
from tests.factories import Factories


def _world(app) -> dict:
    with app.app_context():
        make = Factories(db.session)
        printer = make.product(name="LaserJet 4000")
        customer = make.customer(name="Sara Ahmadi", phone="0912 345 6789")
        site = make.site(customer, name="Sara's office")
        asset = make.asset(customer, product=printer, site=site, serial_number="SN-LJ-77")
        fuser = make.part(sku="FUS-4000", name="Fuser unit")
        roller = make.part(sku="ROL-1", name="Pickup roller")
        missing = make.part(sku="GONE-1", name="Formatter board")
        central = make.warehouse(kind=WarehouseKind.CENTRAL)
        stock.receive(db.session, fuser.id, 3, central.id, SYSTEM)
        stock.receive(db.session, roller.id, 7, central.id, SYSTEM)
        # Another customer's LaserJet needed a fuser and a formatter (none in stock now).
        other = make.asset(make.customer(name="Beta Bank"), product=printer)
        earlier = make.work_order(make.site(other.customer), asset_id=other.id)
        db.session.add_all([WorkOrderPart(work_order_id=earlier.id, part_id=fuser.id,
                                          quantity=1),
                            WorkOrderPart(work_order_id=earlier.id, part_id=missing.id,
                                          quantity=1)])
        db.session.commit()
        return {"customer": customer.id, "asset": asset.id, "fuser": fuser.id,
                "roller": roller.id, "missing": missing.id}


def test_agent_opens_an_advance_exchange_with_a_stocked_replacement(page, login, app):
    ids = _world(app)
    login("agent")
    page.goto(f"/console/customers/{ids['customer']}")
    with page.expect_navigation():
        page.click("text=Open an RMA")
    # The fuser is listed under the customer's printer, the roller among other stock,
    # the formatter (nothing in stock) not at all.
    under_printer = page.locator("#part_id optgroup[label='LaserJet 4000'] option")
    assert under_printer.all_inner_texts() == ["FUS-4000 · Fuser unit (3 in stock)"]
    others = page.locator("#part_id optgroup[label='Other parts in stock'] option")
    assert others.all_inner_texts() == ["ROL-1 · Pickup roller (7 in stock)"]
    assert page.locator(f"#part_id option[value='{ids['missing']}']").count() == 0

    page.select_option("#type", "advance_exchange")
    page.select_option("#asset_id", str(ids["asset"]))
    page.select_option("#part_id", str(ids["fuser"]))
    page.fill("#failure_code", "FUSER")
    page.fill("#failure_description", "Pages come out smeared")
    with page.expect_navigation():
        page.click("text=Request the RMA")
    assert "requested" in page.inner_text("body")
    with app.app_context():
        rma = db.session.scalar(select(Rma))
        assert (rma.type.value, rma.asset_id, rma.part_id) == (
            "advance_exchange", ids["asset"], ids["fuser"])
        db.session.remove()


def test_an_advance_exchange_without_a_part_says_what_is_missing(page, login, app):
    ids = _world(app)
    login("agent")
    page.goto(f"/console/customers/{ids['customer']}/rmas/new")
    page.select_option("#type", "advance_exchange")
    page.select_option("#asset_id", str(ids["asset"]))
    with page.expect_navigation():
        page.click("text=Request the RMA")
    assert "stocked replacement" in page.inner_text("#rma-form")
    with app.app_context():
        assert db.session.scalar(select(Rma)) is None
        db.session.remove()
