"""seed-demo and demo: a realistic, deterministic data set in one command."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import func, select

from fieldsvc import create_app
from fieldsvc.cli import cli
from fieldsvc.demo.generator import ASSETS
from fieldsvc.extensions import db
from fieldsvc.models import (
    Asset,
    Customer,
    Product,
    Shift,
    Site,
    StockLevel,
    StockMovement,
    Technician,
    TechnicianSkill,
    User,
    Warehouse,
    WorkOrder,
    WorkOrderPart,
    WorkOrderSkill,
    WorkOrderWindow,
)
from fieldsvc.models.enums import MovementKind, WorkOrderStatus, WorkOrderType
from fieldsvc.recall.models import CampaignVin, Dealership, RecallCampaign, RecallCampaignProduct
from fieldsvc.services import kpis as kpi_service
from fieldsvc.vin import has_valid_check_digit

TEHRAN = ZoneInfo("Asia/Tehran")
TODAY = "2026-11-21"  # a Saturday: the next working day is Sunday, a full shift
CITY_BOXES = {  # territory → (lat range, lon range): a few km around each city
    "tehran": ((35.55, 35.90), (51.20, 51.65)),
    "karaj": ((35.68, 35.90), (50.85, 51.05)),
    "isfahan": ((32.55, 32.72), (51.60, 51.72)),
    "shiraz": ((29.55, 29.68), (52.45, 52.62)),
}
# Wall-clock bookkeeping differs between two runs by design; everything else must not.
VOLATILE = {"created_at", "updated_at", "password_hash", "last_login_at"}
# mobile_day_version: the cached day's validator (counts writes, random generations).
SKIPPED_TABLES = {"audit_log", "stock_movement", "mobile_day_version", "mobile_day_tech_version"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_loads_a_consistent_network(app, runner):
    result = runner.invoke(args=["seed-demo", "--today", TODAY])
    assert result.exit_code == 0, result.output
    assert "admin-demo-1404" in result.output
    with app.app_context():
        assert count(Customer) == 500
        assert count(Asset) == ASSETS
        assert count(Dealership) == 6
        techs = db.session.scalars(select(Technician)).all()
        assert len(techs) >= 40
        assert {t.territory for t in techs} == set(CITY_BOXES)
        for tech in techs:
            assert tech.van is not None and tech.van.kind.value == "van"
            assert {s.weekday for s in tech.shifts} == {5, 6, 0, 1, 2, 3}
            assert tech.skills
            (lat_lo, lat_hi), (lon_lo, lon_hi) = CITY_BOXES[tech.territory]
            assert lat_lo < tech.home_latitude < lat_hi and lon_lo < tech.home_longitude < lon_hi
        for site in db.session.scalars(select(Site)):
            (lat_lo, lat_hi), (lon_lo, lon_hi) = CITY_BOXES[site.territory]
            assert lat_lo < site.latitude < lat_hi and lon_lo < site.longitude < lon_hi
        dealer_cities = Counter(d.city for d in db.session.scalars(select(Dealership)))
        assert dealer_cities["Tehran"] == 2 and set(dealer_cities) == {
            "Tehran", "Karaj", "Isfahan", "Shiraz"}

        assets = db.session.scalars(select(Asset)).all()
        serials = [a.serial_number for a in assets if a.serial_number]
        vins = [a.vin for a in assets if a.vin]
        assert len(serials) == len(set(serials)) and len(vins) == len(set(vins))
        assert len(serials) + len(vins) == ASSETS
        assert all(has_valid_check_digit(v) for v in vins)

        # The open work: 300 orders plus the follow-ups of the last days' failed visits.
        open_orders = db.session.scalars(select(WorkOrder).where(
            WorkOrder.status.in_([WorkOrderStatus.NEW, WorkOrderStatus.ON_HOLD]),
            WorkOrder.follow_up_of_id.is_(None))).all()
        assert len(open_orders) == 300
        assert {o.type for o in open_orders} == set(WorkOrderType)
        assert {o.priority for o in open_orders} <= {1, 2, 3, 4}
        assert all(30 <= o.estimated_minutes <= 180 for o in open_orders)
        # Every requirement is met by some technician of the job's territory.
        levels = {}
        for ts in db.session.scalars(select(TechnicianSkill)):
            key = (ts.technician.territory, ts.skill_id)
            levels[key] = max(levels.get(key, 0), ts.level)
        for need in db.session.scalars(select(WorkOrderSkill)):
            territory = need.work_order.site.territory
            assert levels.get((territory, need.skill_id), 0) >= need.min_level
        # Every product declares skills, and wherever one of its units stands some
        # technician of that territory has them all: a job opened on it over the API or in
        # the agent's form gets them, and someone able to do it.
        skills_of = {}
        for ts in db.session.scalars(select(TechnicianSkill)):
            held = skills_of.setdefault(ts.technician_id, (ts.technician.territory, {}))[1]
            held[ts.skill_id] = ts.level
        for product in db.session.scalars(select(Product)):
            assert product.skills, product.code
            kinds = {s.skill.code.split("-")[0] for s in product.skills}
            assert kinds == {product.kind.value}, product.code
            territories = set(db.session.scalars(
                select(Site.territory).join(Asset, Asset.site_id == Site.id)
                .where(Asset.product_id == product.id)))
            for territory in territories:
                assert any(place == territory and all(held.get(s.skill_id, 0) >= s.min_level
                                                      for s in product.skills)
                           for place, held in skills_of.values()), (product.code, territory)
        next_day = db.session.scalar(
            select(func.count(func.distinct(WorkOrderWindow.work_order_id)))
            .where(WorkOrderWindow.starts_at >= datetime(2026, 11, 22, tzinfo=TEHRAN),
                   WorkOrderWindow.starts_at < datetime(2026, 11, 23, tzinfo=TEHRAN)))
        assert next_day >= 180

        campaign = db.session.scalars(select(RecallCampaign)).one()
        model_id = db.session.scalar(select(RecallCampaignProduct.product_id))
        campaign_vins = set(db.session.scalars(select(CampaignVin.vin)))
        model_vins = set(db.session.scalars(select(Asset.vin).where(
            Asset.product_id == model_id)))
        assert campaign_vins == model_vins and len(campaign_vins) > 10
        assert [p.region for p in campaign.phases][0] == "Tehran"
        assert db.session.get(Product, model_id).kind.value == "car"

        # Stock only through the ledger: each level is the sum of its movements.
        ledger = Counter()
        for m in db.session.scalars(select(StockMovement)):
            assert m.kind in (MovementKind.RECEIVE, MovementKind.TRANSFER)
            if m.from_warehouse_id:
                ledger[(m.from_warehouse_id, m.part_id)] -= m.quantity
            if m.to_warehouse_id:
                ledger[(m.to_warehouse_id, m.part_id)] += m.quantity
        levels_now = {(s.warehouse_id, s.part_id): s.on_hand
                      for s in db.session.scalars(select(StockLevel))}
        assert levels_now == {k: v for k, v in ledger.items() if k in levels_now}
        assert all(v == 0 for k, v in ledger.items() if k not in levels_now)
        kinds = Counter(w.kind.value for w in db.session.scalars(select(Warehouse)))
        assert kinds["central"] == 1 and kinds["regional"] == 4 and kinds["van"] == len(techs)

        roles = {u.role.value: u for u in db.session.scalars(select(User))}
        assert set(roles) == {"admin", "manager", "dispatcher", "agent", "technician",
                              "dealership"}
        assert roles["technician"].technician_id and roles["dealership"].dealership_id
        counts_before = {m: count(m) for m in (Customer, Asset, WorkOrder, Shift, User)}

    again = runner.invoke(args=["seed-demo", "--today", TODAY])
    assert again.exit_code != 0
    assert "already holds data" in again.output
    with app.app_context():
        assert {m: count(m) for m in counts_before} == counts_before


def _seeded_rows(tmp_path, name: str) -> dict[str, list[tuple]]:
    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}",
                              "INSTANCE_PATH": str(tmp_path / f"instance-{name}")})
    with application.app_context():
        upgrade()
    result = application.test_cli_runner().invoke(cli, ["seed-demo", "--seed", "7",
                                                        "--today", TODAY])
    assert result.exit_code == 0, result.output
    rows = {}
    with application.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in VOLATILE]
            rows[table.name] = db.session.execute(
                select(*columns).order_by(*table.primary_key.columns)).all()
        db.engine.dispose()
    return rows


def test_same_seed_and_day_give_identical_rows(tmp_path):
    first = _seeded_rows(tmp_path, "a.sqlite3")
    second = _seeded_rows(tmp_path, "b.sqlite3")
    assert first.keys() == second.keys()
    for table in first:
        assert first[table] == second[table], table
    assert len(first["customer"]) == 500


def test_demo_no_serve_migrates_and_seeds_a_fresh_sqlite_file_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    application = create_app({"SQLALCHEMY_DATABASE_URI": url,
                              "INSTANCE_PATH": str(tmp_path / "instance")})
    first = application.test_cli_runner().invoke(cli, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "Seeded demo data" in first.output and "dispatcher-demo-1404" in first.output
    second = application.test_cli_runner().invoke(cli, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "not seeding again" in second.output
    with application.app_context():
        open_orders = db.session.scalar(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.status.in_([WorkOrderStatus.NEW, WorkOrderStatus.ON_HOLD]),
            WorkOrder.follow_up_of_id.is_(None)))
        assert count(Customer) == 500 and open_orders == 300 and count(User) == 6
        db.engine.dispose()


def test_demo_no_serve_on_the_configured_database_does_not_duplicate(app, runner):
    first = runner.invoke(args=["demo", "--no-serve", "--today", TODAY])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert count(Customer) == 500 and count(Asset) == ASSETS and count(User) == 6


def test_demo_history_gives_every_kpi_a_plausible_value(app, runner):
    """The KPIs are computed by the KPI code from the seeded history, none left empty
    (one seeding serves both halves: it is the slow part)."""
    result = runner.invoke(args=["seed-demo", "--today", TODAY])
    assert result.exit_code == 0, result.output
    today = date.fromisoformat(TODAY)
    with app.app_context():
        report = kpi_service.compute(db.session, today - timedelta(days=30),
                                     today - timedelta(days=1), "Asia/Tehran", today=today)
        values = {k["key"]: k for k in report["kpis"]}
        for key in ("first_time_fix", "sla_response", "sla_resolution", "utilization",
                    "repeat_visits", "overdue_pm"):
            assert 0 < values[key]["value"] < 1, (key, values[key])
            assert values[key]["denominator"] > 50, (key, values[key])
        assert values["first_time_fix"]["value"] > 0.8
        assert values["sla_response"]["value"] > 0.6
        assert 0.4 < values["utilization"]["value"] < 0.95
        assert 30 < values["mean_time_to_repair"]["value"] < 240
        assert 60 < values["mean_time_to_respond"]["value"] < 72 * 60
        assert 40 < report["service_index"] < 100
        # Failed visits were followed up on the same asset; parts were used on some.
        follow_ups = db.session.scalars(select(WorkOrder).where(
            WorkOrder.follow_up_of_id.is_not(None))).all()
        assert follow_ups
        assert all(f.asset_id == f.follow_up_of.asset_id for f in follow_ups)
        assert all(f.follow_up_of.status is WorkOrderStatus.CANNOT_COMPLETE
                   for f in follow_ups)
        done = [f for f in follow_ups if f.status is WorkOrderStatus.COMPLETED]
        assert all(f.scheduled_start_at > f.follow_up_of.arrived_at for f in done)
        # The last days' failures have their follow-up open, as reporting one opens it,
        # with the first visit's due times; the failed visit itself is closed.
        waiting = [f for f in follow_ups if f.status is WorkOrderStatus.NEW]
        assert waiting and len(waiting) + len(done) == len(follow_ups)
        for f in waiting:
            assert f.technician_id is None and f.skills
            assert f.created_at == f.follow_up_of.updated_at
            assert f.response_due_at == f.follow_up_of.response_due_at
        used = db.session.scalar(select(func.count()).select_from(WorkOrderPart).where(
            WorkOrderPart.issued > 0))
        assert used > 100
    _plans_repeats_and_recall(app, values, today)


def _plans_repeats_and_recall(app, values: dict, today: date) -> None:
    """Past days have published plans (legs timed by the optimizer's travel model), repeat
    visits are a minority, and the capital's recall phase has invitations, bookings, done
    remedies and no-shows, every held place counted in the dealership's ledger."""
    import scheduler
    from fieldsvc.models import OptimizationRun
    from fieldsvc.models.enums import AppointmentStatus, RunStatus
    from fieldsvc.recall.models import DealershipDay, RecallAppointment
    from scheduler.matrix import GeodesicProvider

    with app.app_context():
        assert 0.08 < values["travel_share"]["value"] < 0.35, values["travel_share"]
        assert values["travel_share"]["runs"] >= 20
        assert 0.02 < values["repeat_visits"]["value"] < 0.15, values["repeat_visits"]
        assert 0.75 < values["recall_completion"]["value"] < 1, values["recall_completion"]
        assert values["recall_completion"]["denominator"] >= 10
        # Most completed visits are on a known asset (installations of new equipment are not).
        completed = db.session.scalars(select(WorkOrder.asset_id).where(
            WorkOrder.status == WorkOrderStatus.COMPLETED)).all()
        assert sum(a is not None for a in completed) > 0.8 * len(completed)

        # A past day's published plan: its stops are the work orders done that day, in
        # the order driven, and each leg takes what the travel model says.
        run = db.session.scalars(select(OptimizationRun).where(
            OptimizationRun.plan_date == today - timedelta(days=3),  # a full working day
            OptimizationRun.territory == "tehran")).one()
        assert run.status is RunStatus.FINISHED and run.published_at is not None
        plan = scheduler.Plan.from_dict(run.result["plan"])
        route = max(plan.routes, key=lambda r: len(r.job_ids()))
        orders = [db.session.get(WorkOrder, int(j)) for j in route.job_ids()]
        assert all(o.technician_id == int(route.technician_id) for o in orders)
        assert [o.scheduled_start_at for o in orders] == sorted(o.scheduled_start_at
                                                                for o in orders)
        travel = GeodesicProvider()
        job_stops = [s for s in route.stops if s.kind == scheduler.model.STOP_JOB]
        for k in range(1, len(orders)):
            a = scheduler.Location(orders[k - 1].site.latitude, orders[k - 1].site.longitude)
            b = scheduler.Location(orders[k].site.latitude, orders[k].site.longitude)
            assert job_stops[k].travel_seconds == travel.pair(a, b)[0]
        assert any(s.kind == scheduler.model.STOP_BREAK for s in route.stops)

        # Recall: every status is there, and the ledger counts exactly the held places.
        statuses = Counter(a.status for a in db.session.scalars(select(RecallAppointment)))
        assert all(statuses[s] > 0 for s in AppointmentStatus), statuses
        for pool in db.session.scalars(select(DealershipDay)):
            holding = db.session.scalar(select(func.count()).select_from(RecallAppointment)
                                        .where(RecallAppointment.pool_id == pool.id))
            assert pool.booked == holding <= pool.capacity
        done = db.session.scalars(select(RecallAppointment).where(
            RecallAppointment.status == AppointmentStatus.COMPLETED)).all()
        for appointment in done:
            remedy = db.session.get(WorkOrder, appointment.work_order_id)
            assert remedy.status is WorkOrderStatus.COMPLETED
            assert (remedy.type, remedy.asset_id) == (WorkOrderType.RECALL, appointment.asset_id)
        # Owners in the capital still to book: affected cars with no appointment yet.
        booked_vins = set(db.session.scalars(select(RecallAppointment.vin)))
        waiting = db.session.scalars(
            select(Asset).join(CampaignVin, CampaignVin.asset_id == Asset.id)
            .join(Site, Site.id == Asset.site_id)
            .where(Site.region == "Tehran", CampaignVin.vin.not_in(booked_vins))).all()
        assert waiting
        customer_id = waiting[0].customer_id

    # The demo's own agent sees the car on the customer screen, with the booking form.
    from tests.access.test_console import csrf_from

    client = app.test_client()
    form = client.get("/login")
    signed_in = client.post("/login", data={"csrf_token": csrf_from(form.data),
                                            "username": "agent",
                                            "password": "agent-demo-1404"})
    assert signed_in.status_code == 302
    screen = client.get(f"/console/customers/{customer_id}").get_data(as_text=True)
    recalls = screen.split('id="recalls"')[1].split("</section>")[0]
    assert waiting[0].vin in recalls and "Book this recall" in recalls
