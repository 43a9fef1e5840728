"""The RMA form of the customer screen (served by rma/console.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from rma.models import Rma


def test_agent_opens_an_rma_for_the_customers_asset(data, page_as, db_session):
    customer = data.customer(name="Rma Owner")
    asset = data.asset(customer)
    other = data.asset(data.customer())
    agent = page_as("agent")
    form = agent.get(f"/console/customers/{customer.id}/rmas/new")
    assert form.status_code == 200 and asset.serial_number.encode() in form.data
    bad = agent.post(f"/console/customers/{customer.id}/rmas", data={
        "csrf_token": agent.csrf, "type": "swap_it", "failure_code": "x" * 41})
    assert bad.status_code == 422 and b"class=\"error\"" in bad.data
    foreign = agent.post(f"/console/customers/{customer.id}/rmas", data={
        "csrf_token": agent.csrf, "type": "repair_and_return", "asset_id": str(other.id)})
    assert foreign.status_code == 422
    unsafe = agent.post(f"/console/customers/{customer.id}/rmas",
                        data={"type": "repair_and_return", "asset_id": str(asset.id)})
    assert unsafe.status_code == 400
    assert db_session(lambda s: s.scalar(select(func.count(Rma.id)))) == 0
    ok = agent.post(f"/console/customers/{customer.id}/rmas", data={
        "csrf_token": agent.csrf, "type": "repair_and_return", "asset_id": str(asset.id),
        "failure_description": "Does not power on"})
    assert ok.status_code == 302
    rma = db_session(lambda s: s.scalar(select(Rma)))
    assert (rma.customer_id, rma.asset_id) == (customer.id, asset.id)
    assert rma.number.encode() in agent.get(f"/console/customers/{customer.id}").data


def test_rma_form_refused_to_roles_without_rma_create(data, page_as):
    customer = data.customer()
    manager = page_as("manager")
    assert manager.get(f"/console/customers/{customer.id}/rmas/new").status_code == 403
