"""Lists and the pages users open most cost the same number of queries for 3 rows as for 9
(no query per row)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AssetContract, WorkOrderPart, WorkOrderSkill
from tests.console.conftest import data, page_as  # noqa: F401 - fixtures


def _queries(count_queries, get, url: str) -> int:
    with count_queries() as queries:
        response = get(url)
    assert response.status_code == 200, (url, response.status_code)
    return queries.count


def _same_cost(count_queries, get, url: str, add, batch: int = 3) -> tuple[int, int]:
    add(batch)
    few = _queries(count_queries, get, url)
    add(2 * batch)
    many = _queries(count_queries, get, url)
    assert many == few, f"{url}: {few} queries for {batch} rows, {many} for {3 * batch}"
    return few, many


@pytest.fixture
def customer(make):
    return make.customer()


def _assets_with_contracts(make, customer):
    contract = make.contract(customer)
    other = make.contract(customer)

    def add(n):
        for _ in range(n):
            asset = make.asset(customer=customer)
            make.session.add_all([AssetContract(asset_id=asset.id, contract_id=contract.id),
                                  AssetContract(asset_id=asset.id, contract_id=other.id)])
            make.session.commit()
    return add


def test_asset_list(client, make, customer, count_queries):
    _same_cost(count_queries, client.get, "/api/v1/assets?per_page=200",
               _assets_with_contracts(make, customer))
    body = client.get("/api/v1/assets?per_page=200").json
    assert all(len(item["contract_ids"]) == 2 for item in body["items"])


def test_contract_list(client, make, customer, count_queries):
    def add(n):
        for _ in range(n):
            contract = make.contract(customer, targets={1: (60, 120), 2: (120, 240)})
            asset = make.asset(customer=customer)
            make.session.add(AssetContract(asset_id=asset.id, contract_id=contract.id))
            make.session.commit()

    _same_cost(count_queries, client.get, "/api/v1/contracts?per_page=200", add)
    items = client.get("/api/v1/contracts?per_page=200").json["items"]
    assert all(len(c["sla_targets"]) == 2 and len(c["asset_ids"]) == 1 for c in items)


def test_work_order_list(client, make, count_queries):
    skill, part = make.skill(), make.part()
    tech = make.technician(skills={skill: 3})

    def add(n):
        for _ in range(n):
            job = make.work_order(technician_id=tech.id)
            make.session.add_all([WorkOrderSkill(work_order_id=job.id, skill_id=skill.id,
                                                 min_level=2),
                                  WorkOrderPart(work_order_id=job.id, part_id=part.id,
                                                quantity=1)])
            make.session.commit()

    _same_cost(count_queries, client.get, "/api/v1/work-orders?per_page=200", add)


def test_customer_list(client, make, count_queries):
    def add(n):
        for _ in range(n):
            make.site(make.customer())

    _same_cost(count_queries, client.get, "/api/v1/customers?per_page=200", add)


def test_ticket_list(client, make, customer, count_queries):
    def add(n):
        for _ in range(n):
            make.ticket(customer=customer, topic="jam")

    _same_cost(count_queries, client.get, "/api/v1/tickets?per_page=200", add)


@pytest.mark.parametrize("url", ["/console/assets", "/console/work-orders",
                                 "/console/customers", "/console/tickets"])
def test_console_lists(page_as, data, count_queries, url):  # noqa: F811
    customer = data.customer()

    def add(n):
        for _ in range(n):
            site = data.site(customer)
            data.asset(customer=customer, site=site)
            data.work_order(site=site)
            data.ticket(customer=customer)
            data.customer()

    _same_cost(count_queries, page_as("admin").get, url, add)


def test_customer_screen(page_as, data, count_queries):  # noqa: F811
    customer = data.customer()

    def add(n):
        for _ in range(n):
            site = data.site(customer)
            asset = data.asset(customer=customer, site=site)
            data.work_order(site=site, asset_id=asset.id)
            data.ticket(customer=customer, asset_id=asset.id)

    _same_cost(count_queries, page_as("agent").get, f"/console/customers/{customer.id}", add)


def test_dispatch_board(app, page_as, data, count_queries):  # noqa: F811
    tech = data.technician()
    zone = ZoneInfo(app.config["DEFAULT_TIMEZONE"])
    today = datetime.now(zone).date()

    def add(n):
        for i in range(n):
            start = datetime.combine(today, time(8 + i % 8), tzinfo=zone)
            data.work_order(technician_id=tech.id, status="scheduled",
                            scheduled_start_at=start,
                            scheduled_end_at=start + timedelta(minutes=30))
            data.work_order()

    _same_cost(count_queries, page_as("dispatcher").get, "/console/dispatch", add)


def test_count_queries_counts(app, count_queries):
    with count_queries() as queries, app.app_context():
        db.session.execute(db.text("SELECT 1"))
        db.session.execute(db.text("SELECT 2"))
        db.session.remove()
    assert queries.count == 2
