"""/metrics: Prometheus text with requests, bookings, runs and jobs; not open to everyone."""

from __future__ import annotations

import pytest

from tests.operations.conftest import metric
from tests.recall.conftest import Recall
from tests.recall.test_booking import book


@pytest.fixture
def recall(make, app):
    return Recall(make, app)


def _page(anon_client) -> str:
    response = anon_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return response.get_data(as_text=True)


def test_a_request_is_counted_with_its_endpoint_status_and_latency(client, anon_client):
    labels = {"endpoint": "customers.customers_collection", "method": "GET"}
    before = _page(anon_client)
    assert client.get("/api/v1/customers").status_code == 200
    after = _page(anon_client)
    assert (metric(after, "fieldsvc_http_requests_total", status="200", **labels)
            - metric(before, "fieldsvc_http_requests_total", status="200", **labels)) == 1
    assert (metric(after, "fieldsvc_http_request_duration_seconds_count", **labels)
            - metric(before, "fieldsvc_http_request_duration_seconds_count", **labels)) == 1


def test_a_booking_and_a_409_are_counted(client, anon_client, recall):
    from datetime import timedelta

    from tests.recall.conftest import today_local

    day = today_local() + timedelta(days=1)
    dealer = recall.dealership(places=1)
    campaign = recall.campaign(vins=2)
    first, second = recall.vins(campaign)
    before = _page(anon_client)
    assert book(client, campaign, dealer, day, first).status_code == 201
    assert book(client, campaign, dealer, day, second).status_code == 409
    after = _page(anon_client)
    for outcome in ("booked", "conflict"):
        assert (metric(after, "fieldsvc_recall_bookings_total", outcome=outcome)
                - metric(before, "fieldsvc_recall_bookings_total", outcome=outcome)) == 1


def test_an_optimization_run_and_a_periodic_job_are_counted(app, anon_client, make):
    from fieldsvc.context import SYSTEM, acting_as
    from fieldsvc.dispatch.runs import execute_run, request_run
    from fieldsvc.extensions import db
    from scheduler.jobs import instrumented, sla_watch
    from tests.dispatch.test_release_insertion_api import DAY, _world

    _world(make)
    before = _page(anon_client)
    with app.app_context(), acting_as(SYSTEM):
        run = request_run(db.session, SYSTEM, plan_date=DAY, territory="tehran", time_limit=1)
        db.session.commit()
        assert execute_run(db.session, run.id, "UTC").status.value == "finished"
        db.session.remove()
    instrumented("sla_watch", sla_watch)(app)
    after = _page(anon_client)
    assert (metric(after, "fieldsvc_optimization_runs_total", status="finished")
            - metric(before, "fieldsvc_optimization_runs_total", status="finished")) == 1
    assert (metric(after, "fieldsvc_optimization_assigned_share_count")
            - metric(before, "fieldsvc_optimization_assigned_share_count")) == 1
    assert (metric(after, "fieldsvc_optimization_run_duration_seconds_count")
            - metric(before, "fieldsvc_optimization_run_duration_seconds_count")) == 1
    assert (metric(after, "fieldsvc_periodic_job_runs_total", job="sla_watch", outcome="ok")
            - metric(before, "fieldsvc_periodic_job_runs_total", job="sla_watch",
                     outcome="ok")) == 1
    assert "fieldsvc_db_pool_checked_out" in after
    assert "fieldsvc_mobile_day_cache_total" in after or "fieldsvc_mobile_day_cache" in after


def test_metrics_need_the_token_or_a_local_client(app, anon_client):
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert anon_client.get("/metrics", environ_base=remote).status_code == 403
    app.config["METRICS_TOKEN"] = "s3cret-scrape"
    assert anon_client.get("/metrics").status_code == 401  # loopback no longer enough
    wrong = anon_client.get("/metrics", headers={"Authorization": "Bearer nope"},
                            environ_base=remote)
    assert wrong.status_code == 401
    good = anon_client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"},
                           environ_base=remote)
    assert good.status_code == 200 and b"fieldsvc_http_requests_total" in good.data
    app.config["METRICS_ENABLED"] = False
    assert anon_client.get("/metrics").status_code == 404
