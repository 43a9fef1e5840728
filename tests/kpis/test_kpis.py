"""KPIs and the service index on hand-built data, CSV, weights, bad periods and roles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time

import pytest

import scheduler
from fieldsvc.models import OptimizationRun, ServiceIndexWeight
from fieldsvc.models.enums import (
    AppointmentStatus,
    CampaignStatus,
    RunStatus,
    WorkOrderStatus,
    WorkOrderType,
)
from fieldsvc.recall.models import RecallAppointment, RecallCampaign
from fieldsvc.services.kpis import DEFAULT_WEIGHTS

URL = "/api/v1/reports/kpis"
WEIGHTS_URL = "/api/v1/reports/kpis/weights"
T = "kpi-north"
PERIOD = {"from": "2021-03-01", "to": "2021-03-07", "territory": T}  # 7 local days


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=UTC)


def _plan(*routes) -> dict:
    return scheduler.Plan(routes=list(routes)).to_dict()


def _route(tech_id: int, legs: list[tuple[int, int, int]], back: int) -> scheduler.model.Route:
    """legs: (travel seconds, job start, job end)."""
    stops = [scheduler.model.Stop(kind="job", arrival=start, start=start, end=end,
                                  job_id=str(i), travel_seconds=travel)
             for i, (travel, start, end) in enumerate(legs, 1)]
    return scheduler.model.Route(technician_id=str(tech_id), day=0, start=0, end=20000,
                                 stops=stops, return_travel_seconds=back)


def _run(ctx, day: date, plan: dict, published_at: datetime | None, territory: str = T):
    run = OptimizationRun(plan_date=day, territory=territory, status=RunStatus.FINISHED,
                          published_at=published_at,
                          result={"plan": plan, "origin": at(day.day, 4).isoformat()})
    ctx.add(run)
    ctx.commit()
    return run


@pytest.fixture
def world(make, ctx):
    """The period's data; the expected figures are worked out in test_kpi_figures."""
    site = make.site(territory=T)
    product = make.product()
    a1, a2 = make.asset(product=product, site=site), make.asset(product=product, site=site)
    tech = make.technician(territory=T)  # 08:00–17:00 every day, 30 min break
    S = WorkOrderStatus
    # Completed in the period.
    make.work_order(site=site, asset_id=a1.id, status=S.COMPLETED, first_time_fix=True,
                    created_at=at(2, 8), arrived_at=at(2, 9), completed_at=at(2, 10),
                    response_due_at=at(2, 10), resolution_due_at=at(2, 12),
                    technician_id=tech.id, scheduled_start_at=at(2, 8, 30),
                    scheduled_end_at=at(2, 9, 30))
    make.work_order(site=site, asset_id=a1.id, status=S.COMPLETED, first_time_fix=False,
                    created_at=at(3, 8), arrived_at=at(3, 11), completed_at=at(3, 13),
                    response_due_at=at(3, 10), resolution_due_at=at(3, 12))
    make.work_order(site=site, asset_id=a2.id, status=S.COMPLETED, first_time_fix=True,
                    created_at=at(4, 8), completed_at=at(4, 9))
    # Completed before the period: makes the a2 job above a repeat visit (12 days).
    make.work_order(site=site, asset_id=a2.id, status=S.COMPLETED, first_time_fix=True,
                    created_at=at(19, 8, month=2), completed_at=at(20, 9, month=2))
    # Another territory: counts nowhere here.
    make.work_order(site=make.site(territory="elsewhere"), status=S.COMPLETED,
                    first_time_fix=False, created_at=at(2, 8), completed_at=at(2, 9))
    # Scheduled work of the technician: 120 min, and 90 min estimated (no end); cancelled 0.
    make.work_order(site=site, status=S.SCHEDULED, technician_id=tech.id,
                    scheduled_start_at=at(5, 6), scheduled_end_at=at(5, 8))
    make.work_order(site=site, status=S.DISPATCHED, technician_id=tech.id, estimated_minutes=90,
                    scheduled_start_at=at(6, 6))
    make.work_order(site=site, status=S.CANCELLED, technician_id=tech.id,
                    scheduled_start_at=at(6, 9), scheduled_end_at=at(6, 12))
    # Preventive maintenance due in the period: one open (overdue), one done, one cancelled.
    pm = dict(site=site, type=WorkOrderType.PREVENTIVE)
    make.work_order(**pm, pm_due_on=date(2021, 3, 2))
    make.work_order(**pm, pm_due_on=date(2021, 3, 3), status=S.COMPLETED,
                    completed_at=at(10, 9))
    make.work_order(**pm, pm_due_on=date(2021, 3, 4), status=S.CANCELLED)
    # Plans: an older published plan of 03-03 (all travel) is replaced by a later one;
    # an unpublished run does not count.
    _run(ctx, date(2021, 3, 3), _plan(_route(tech.id, [(5000, 5000, 5001)], 0)),
         at(2, 18))
    _run(ctx, date(2021, 3, 3),
         _plan(_route(tech.id, [(600, 1000, 2800), (900, 3700, 7300)], 300)), at(2, 19))
    _run(ctx, date(2021, 3, 4), _plan(_route(tech.id, [(9000, 9000, 9001)], 0)), None)
    # Recall appointments at a dealership of the region.
    dealer = make.dealership(region=T)
    campaign = RecallCampaign(code="RC-KPI", title="Brake hose", status=CampaignStatus.ACTIVE)
    ctx.add(campaign)
    ctx.flush()
    A = AppointmentStatus
    for n, (status, day) in enumerate([(A.COMPLETED, 2), (A.BOOKED, 3), (A.NO_SHOW, 4),
                                       (A.CANCELLED, 5), (A.COMPLETED, 20)]):
        ctx.add(RecallAppointment(campaign_id=campaign.id, vin=f"VINKPI{n:011d}",
                                  dealership_id=dealer.id, day=date(2021, 3, day),
                                  slot=time(9), status=status))
    ctx.commit()
    return {"campaign": campaign}


def _by_key(body):
    return {k["key"]: k for k in body["kpis"]}


def test_kpi_figures(client, world):
    res = client.get(URL, query_string=PERIOD)
    assert res.status_code == 200, res.json
    k = _by_key(res.json)
    # First-time fix: 2 of the 3 completed in the period and territory.
    assert (k["first_time_fix"]["numerator"], k["first_time_fix"]["denominator"]) == (2, 3)
    assert k["first_time_fix"]["value"] == 0.6667
    # Response: job 1 arrived 09:00 ≤ due 10:00, job 2 at 11:00 > 10:00 → 1 / 2.
    assert (k["sla_response"]["numerator"], k["sla_response"]["denominator"]) == (1, 2)
    # Resolution: 10:00 ≤ 12:00 met, 13:00 > 12:00 missed → 1 / 2.
    assert (k["sla_resolution"]["numerator"], k["sla_resolution"]["denominator"]) == (1, 2)
    # Respond: (60 + 180) / 2 = 120 min; repair: (60 + 120) / 2 = 90 min.
    assert k["mean_time_to_respond"]["value"] == 120.0
    assert k["mean_time_to_repair"]["value"] == 90.0
    # Utilization: work 60 + 120 + 90 = 270 min; shifts 7 days × (540 − 30) = 3570 min.
    assert (k["utilization"]["numerator"], k["utilization"]["denominator"]) == (270.0, 3570.0)
    assert k["utilization"]["value"] == 0.0756
    # Travel: the later plan of 03-03: travel 600 + 900 + 300 = 1800 s; jobs 1800 + 3600 s.
    assert (k["travel_share"]["numerator"], k["travel_share"]["denominator"]) == (1800, 7200)
    assert k["travel_share"]["value"] == 0.25
    # Repeats: job 2 (a1, a day after job 1) and job 3 (a2, 12 days after 02-20) of 3.
    assert (k["repeat_visits"]["numerator"], k["repeat_visits"]["denominator"]) == (2, 3)
    # Overdue PM: 03-02 open of {03-02 open, 03-03 done} (cancelled ones left out).
    assert (k["overdue_pm"]["numerator"], k["overdue_pm"]["denominator"]) == (1, 2)
    # Recall: completed 1 of {completed, booked, no-show} in the period.
    recall = k["recall_completion"]
    assert (recall["numerator"], recall["denominator"], recall["value"]) == (1, 3, 0.3333)
    assert recall["campaigns"][0]["code"] == "RC-KPI"
    # Index with the default weights: 30×.6667 + 10×.5 + 15×.5 + 5×1 + 5×1
    #   + 10×(.0756/.85 = .0889) + 5×(1−.25) + 10×(1−.6667) + 5×(1−.5) + 5×.3333
    #   = 20.001 + 5 + 7.5 + 5 + 5 + .889 + 3.75 + 3.333 + 2.5 + 1.6665 = 54.64 → 54.6
    assert res.json["weights"] == DEFAULT_WEIGHTS
    assert res.json["service_index"] == 54.6
    assert k["utilization"]["normalized"] == 0.0889


def test_index_follows_the_weights(client, world):
    weights = {"first_time_fix": 50, "sla_response": 50}
    assert client.put(WEIGHTS_URL, json={"weights": weights}).status_code == 200
    body = client.get(URL, query_string=PERIOD).json
    # 100 × (50 × .6667 + 50 × .5) / 100 = 58.3
    assert body["service_index"] == 58.3
    assert body["weights"]["travel_share"] == 0


def test_csv_parses_back(client, world):
    res = client.get(URL, query_string={**PERIOD, "format": "csv"})
    assert res.status_code == 200
    assert res.mimetype == "text/csv"
    assert "attachment" in res.headers["Content-Disposition"]
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(res.get_data(as_text=True)))}
    assert rows["first_time_fix"]["numerator"] == "2"
    assert rows["first_time_fix"]["denominator"] == "3"
    assert float(rows["travel_share"]["value"]) == 0.25
    assert float(rows["service_index"]["value"]) == 54.6


def test_monthly_series(client, world):
    body = client.get(URL, query_string={"from": "2021-02-01", "to": "2021-03-31",
                                         "territory": T, "series": "month"}).json
    months = {s["month"]: s for s in body["series"]}
    assert set(months) == {"2021-02", "2021-03"}
    # February: the one completed job on a2 (first-time fix).
    assert months["2021-02"]["values"]["first_time_fix"] == 1.0


def test_empty_period_gives_nulls(client):
    res = client.get(URL, query_string={"from": "2020-01-01", "to": "2020-01-31",
                                        "territory": "nowhere"})
    assert res.status_code == 200
    for kpi in res.json["kpis"]:
        assert kpi["value"] is None, kpi["key"]
        assert kpi["normalized"] is None
    assert res.json["service_index"] is None
    csv_res = client.get(URL, query_string={"from": "2020-01-01", "to": "2020-01-31",
                                            "territory": "nowhere", "format": "csv"})
    assert csv_res.status_code == 200


@pytest.mark.parametrize("query, field", [
    ({"from": "2021-03-07", "to": "2021-03-01"}, "to"),
    ({"from": "2021-01-01", "to": "2022-01-02"}, "to"),  # 367 days
    ({"from": "2021-13-01", "to": "2021-03-01"}, "from"),
    ({"to": "2021-03-01"}, "from"),
    ({"from": "2021-03-01"}, "to"),
    ({"from": "2021-03-01", "to": "2021-03-02", "format": "xml"}, "format"),
    ({"from": "2021-03-01", "to": "2021-03-02", "territory": "x" * 81}, "territory"),
    ({"from": "2021-03-01", "to": "2021-03-02", "bogus": "1"}, "bogus"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
])
def test_bad_periods(client, query, field):
    res = client.get(URL, query_string=query)
    assert res.status_code == 422, res.json
    assert res.mimetype == "application/problem+json"
    assert field in str(res.json["errors"])


def test_366_days_is_allowed(client):
    assert client.get(URL, query_string={"from": "2020-01-01",
                                         "to": "2020-12-31"}).status_code == 200


def test_weights_defaults_and_update(client_as, ctx):
    manager = client_as("manager")
    body = manager.get(WEIGHTS_URL).json
    assert body["weights"] == DEFAULT_WEIGHTS and sum(body["weights"].values()) == 100
    assert body["customized"] is False
    new = {key: 10 for key in DEFAULT_WEIGHTS}
    res = manager.put(WEIGHTS_URL, json={"weights": new})
    assert res.status_code == 200, res.json
    assert res.json["weights"] == new and res.json["customized"] is True
    assert manager.get(WEIGHTS_URL).json["weights"] == new
    stored = {w.key: w.weight for w in ctx.query(ServiceIndexWeight)}
    assert stored == new


@pytest.mark.parametrize("weights, where", [
    ({"first_time_fix": 60, "sla_response": 30}, "_total"),  # sums to 90
    ({"first_time_fix": 101}, "first_time_fix"),
    ({"first_time_fix": 110, "sla_response": -10}, "first_time_fix"),
    ({"first_time_fix": 50.5, "sla_response": 49.5}, "first_time_fix"),
    ({"first_time_fix": "100"}, "first_time_fix"),
    ({"first_time_fix": True}, "first_time_fix"),
    ({"first_time_fix": None}, "first_time_fix"),
    ({"quality": 100}, "quality"),
])
def test_bad_weights_change_nothing(client_as, ctx, weights, where):
    manager = client_as("manager")
    res = manager.put(WEIGHTS_URL, json={"weights": weights})
    assert res.status_code == 422, res.json
    assert where in res.json["errors"]["weights"]
    assert ctx.query(ServiceIndexWeight).count() == 0
    assert manager.get(WEIGHTS_URL).json["weights"] == DEFAULT_WEIGHTS


@pytest.mark.parametrize("body", [{}, {"weights": [1, 2]}, {"weights": {}, "extra": 1}, "x"])
def test_bad_weight_bodies(client_as, body):
    res = client_as("manager").put(WEIGHTS_URL, json=body)
    assert res.status_code == 422


def test_roles(client_as, ctx, make):
    good = {"weights": dict(DEFAULT_WEIGHTS)}
    query = {"from": "2021-03-01", "to": "2021-03-02"}
    refused = [client_as("agent"), client_as("technician", technician_id=make.technician().id),
               client_as("dealership", dealership_id=make.dealership().id)]
    for c in refused:
        assert c.get(URL, query_string=query).status_code == 403
        assert c.get("/api/v1/reports/voice-of-customer", query_string=query).status_code == 403
        assert c.get(WEIGHTS_URL).status_code == 403
        assert c.put(WEIGHTS_URL, json=good).status_code == 403
    dispatcher = client_as("dispatcher")
    assert dispatcher.get(URL, query_string=query).status_code == 200
    assert dispatcher.get(WEIGHTS_URL).status_code == 200
    assert dispatcher.put(WEIGHTS_URL, json=good).status_code == 403
    assert ctx.query(ServiceIndexWeight).count() == 0
    assert client_as("manager").put(WEIGHTS_URL, json=good).status_code == 200


def test_returns_report_still_answers(client):
    res = client.get("/api/v1/reports/returns", query_string={"from": "2021-03-01",
                                                              "to": "2021-03-02"})
    assert res.status_code == 200


def test_a_follow_up_counts_for_resolution_but_not_again_for_response(client, make):
    """A visit that could not be completed, then its follow-up three days later: the
    customer was responded to on time by the first visit; the repair was late."""
    site = make.site(territory=T)
    S = WorkOrderStatus
    due = dict(response_due_at=at(2, 10), resolution_due_at=at(2, 16))
    first = make.work_order(site=site, status=S.CANNOT_COMPLETE, created_at=at(2, 8),
                            arrived_at=at(2, 9), **due)
    make.work_order(site=site, status=S.COMPLETED, first_time_fix=False, created_at=at(2, 10),
                    arrived_at=at(5, 9), completed_at=at(5, 10), follow_up_of_id=first.id,
                    **due)
    k = _by_key(client.get(URL, query_string=PERIOD).json)
    assert k["sla_response"]["denominator"] == 0 and k["sla_response"]["value"] is None
    assert k["mean_time_to_respond"]["value"] is None
    assert (k["sla_resolution"]["numerator"], k["sla_resolution"]["denominator"]) == (0, 1)
    assert k["mean_time_to_repair"]["value"] == 60.0
