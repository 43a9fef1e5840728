"""The KPI and voice-of-customer console pages: charts, CSV links, the weights form."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fieldsvc.extensions import db
from fieldsvc.models import ServiceIndexWeight
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.services.kpis import DEFAULT_WEIGHTS
from tests.kpis.conftest import csrf_from

PAGE = "/console/reports/kpis"
VOC = "/console/reports/voice-of-customer"
Q = {"from": "2021-03-01", "to": "2021-03-07"}


def _stored(app) -> dict[str, int]:
    # A short context of its own: an app context held open across console requests would
    # share flask.g (and its cached CSRF token) between them.
    with app.app_context():
        return {w.key: w.weight for w in db.session.query(ServiceIndexWeight)}


def _done(make):
    site = make.site()
    make.work_order(site=site, status=WorkOrderStatus.COMPLETED, first_time_fix=True,
                    created_at=datetime(2021, 3, 2, 8, tzinfo=UTC),
                    completed_at=datetime(2021, 3, 2, 10, tzinfo=UTC))


def test_kpi_page_shows_index_chart_and_csv(page_as, make):
    _done(make)
    client = page_as("manager")
    res = client.get(PAGE, query_string=Q)
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert 'id="kpi-bars"' in html and "<svg" in html and 'id="index-trend"' in html
    # One completed first-time fix, nothing else measurable: the index is 100.
    assert 'id="service-index">100.0' in html
    assert 'id="weights-form"' in html
    csv_res = client.get("/console/reports/kpis.csv", query_string=Q)
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(csv_res.get_data(as_text=True)))}
    assert rows["first_time_fix"]["value"] == "1.0"


def test_bad_period_shows_error_next_to_field(page_as):
    res = page_as("manager").get(PAGE, query_string={"from": "2021-03-07", "to": "2021-03-01"})
    assert res.status_code == 200
    assert 'id="k-to-error"' in res.get_data(as_text=True)
    res = page_as("manager").get(PAGE, query_string={"from": "soon"})
    assert 'id="k-from-error"' in res.get_data(as_text=True)


def test_weights_form_saves_and_refuses(page_as, app):
    client = page_as("manager")
    form = client.get(PAGE).data
    bad = {k: "10" for k in DEFAULT_WEIGHTS} | {"first_time_fix": "x", "csrf_token":
                                                   csrf_from(form)}
    res = client.post("/console/reports/kpis/weights", data=bad)
    assert res.status_code == 422
    assert "Give a whole number" in res.get_data(as_text=True)
    short = {k: "5" for k in DEFAULT_WEIGHTS} | {"csrf_token": csrf_from(form)}
    res = client.post("/console/reports/kpis/weights", data=short)
    assert res.status_code == 422 and "sum to 100" in res.get_data(as_text=True)
    assert _stored(app) == {}
    no_token = {k: "10" for k in DEFAULT_WEIGHTS}
    assert client.post("/console/reports/kpis/weights", data=no_token).status_code == 400
    assert _stored(app) == {}
    good = {k: "10" for k in DEFAULT_WEIGHTS} | {"csrf_token": csrf_from(form)}
    res = client.post("/console/reports/kpis/weights", data=good)
    assert res.status_code == 302
    assert _stored(app) == {k: 10 for k in DEFAULT_WEIGHTS}


def test_roles_on_pages(page_as, app):
    agent = page_as("agent")
    assert agent.get(PAGE).status_code == 403
    assert agent.get(VOC).status_code == 403
    dispatcher = page_as("dispatcher")
    html = dispatcher.get(PAGE).get_data(as_text=True)
    assert 'id="weights-form"' not in html
    good = {k: "10" for k in DEFAULT_WEIGHTS} | {"csrf_token": dispatcher.csrf}
    assert dispatcher.post("/console/reports/kpis/weights", data=good).status_code == 403
    assert _stored(app) == {}


def test_voice_of_customer_page(page_as, make):
    customer = make.customer()
    for region in ("capital", "capital", "fars"):
        make.ticket(customer=customer, category="complaint", region=region,
                    created_at=datetime(2021, 3, 3, 9, tzinfo=UTC))
    client = page_as("manager")
    res = client.get(VOC, query_string={**Q, "group": ["category", "region"]})
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert 'id="voc-trend"' in html and 'id="voc-shares"' in html
    assert "66.7 %" in html  # two of the three complaints from the capital
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/console/reports/voice-of-customer.csv",
        query_string={**Q, "group": ["category", "region"]}).get_data(as_text=True))))
    assert {r["region"] for r in rows if r["level"] == "2"} == {"capital", "fars"}
    bad = client.get(VOC, query_string={**Q, "top": "0"})
    assert bad.status_code == 422 and "Between 1 and 100" in bad.get_data(as_text=True)
