"""Service KPIs for a period and territory, and the weighted service index (SPEC §1).

A period is `start`..`end`, whole local days in the deployment's time zone. Every KPI
carries its numerator and denominator so a reader can check it; a KPI with nothing to
measure (denominator 0) is null, never a division error.

KPIs (key: definition):

- first_time_fix: completed work orders with first_time_fix / completed work orders
  (completed in the period; territory = the site's).
- sla_response: of those completed with a response due time and an arrival, not follow-ups
  of a failed visit (the customer was responded to by that first visit), arrived_at <=
  response_due_at.
- sla_resolution: of those completed with a resolution due time, completed_at <=
  resolution_due_at.
- mean_time_to_respond: mean minutes created_at → arrived_at over completed ones that arrived,
  follow-ups left out as above.
- mean_time_to_repair: mean minutes arrived_at → completed_at over the same.
- utilization: scheduled work minutes / shift minutes. Work: non-cancelled work orders of
  active technicians (territory = the technician's) scheduled to start in the period, their
  scheduled length (else their estimate). Shift: each day's weekly shift pattern of those
  technicians, less the daily unpaid break.
- travel_share: travel seconds / (travel + service seconds) in the plans in force of the
  published optimization runs of the period's days (the latest published per day and
  territory).
- repeat_visits: completed work orders on an asset completed within 30 days after an earlier
  completed work order on the same asset / completed work orders with an asset.
- overdue_pm: preventive work orders due (pm_due_on) in the period before today and not
  completed or cancelled / preventive work orders due in the period before today.
- recall_completion: appointments of active campaigns on a day in the period that are
  completed / those appointments not cancelled (booked, completed, no-show); with a
  territory, the dealership's region must equal it. Also given per campaign.

Service index (0–100) = 100 × Σ weight × normalized KPI / Σ weight, over the KPIs that have
a value (a null KPI drops out and the others keep their proportions). Normalizations, each
to 0..1 with 1 the best:

- rates where more is better (first_time_fix, sla_response, sla_resolution,
  recall_completion): the rate itself;
- rates where less is better (travel_share, repeat_visits, overdue_pm): 1 − rate;
- utilization: min(1, rate / 0.85) — 85 % of shift time on jobs counts as full marks;
- mean times: min(1, target / minutes) with targets 240 min (respond) and 120 min (repair);
  at or under the target scores 1, twice the target 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from fieldsvc.csvfile import write_csv
from fieldsvc.models import OptimizationRun, ServiceIndexWeight, Site, Technician, WorkOrder
from fieldsvc.models.enums import (
    AppointmentStatus,
    CampaignStatus,
    RunStatus,
    WorkOrderStatus,
    WorkOrderType,
)
from fieldsvc.problems import InvalidInput
from fieldsvc.recall.models import Dealership, RecallAppointment, RecallCampaign

MAX_DAYS = 366
REPEAT_WINDOW = timedelta(days=30)
UTILIZATION_TARGET = 0.85
RESPOND_TARGET_MINUTES = 240.0
REPAIR_TARGET_MINUTES = 120.0

# key: (label, unit, how it is normalized, default weight). Order is the display order.
KPIS: dict[str, tuple[str, str, str, int]] = {
    "first_time_fix": ("First-time-fix rate", "ratio", "rate", 30),
    "sla_response": ("Response within target", "ratio", "rate", 10),
    "sla_resolution": ("Resolution within target", "ratio", "rate", 15),
    "mean_time_to_respond": ("Mean time to respond", "minutes", "time", 5),
    "mean_time_to_repair": ("Mean time to repair", "minutes", "time", 5),
    "utilization": ("Technician utilization", "ratio", "utilization", 10),
    "travel_share": ("Travel share of working time", "ratio", "inverse", 5),
    "repeat_visits": ("Repeat visits (30 days)", "ratio", "inverse", 10),
    "overdue_pm": ("Overdue preventive maintenance", "ratio", "inverse", 5),
    "recall_completion": ("Recall completion", "ratio", "rate", 5),
}
DEFAULT_WEIGHTS: dict[str, int] = {key: spec[3] for key, spec in KPIS.items()}
TIME_TARGETS = {"mean_time_to_respond": RESPOND_TARGET_MINUTES,
                "mean_time_to_repair": REPAIR_TARGET_MINUTES}


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    timezone: str
    territory: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=self.tz).astimezone(UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time(0),
                                tzinfo=self.tz).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def check_period(start: date, end: date) -> None:
    """422 unless start <= end and the period is at most MAX_DAYS days long."""
    if end < start:
        raise InvalidInput({"to": ["Must not be before from."]})
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput({"to": [f"Ask for at most {MAX_DAYS} days at a time."]})


def _ratio(numerator: float | int, denominator: float | int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _kpi(key: str, value: float | None, numerator: float | int | None,
         denominator: float | int | None, **extra: Any) -> dict[str, Any]:
    label, unit, _, _ = KPIS[key]
    return {"key": key, "label": label, "unit": unit, "value": value,
            "numerator": numerator, "denominator": denominator, **extra}


# ---------------------------------------------------------------- the KPIs


def _completed(session: Session, period: Period) -> list[Any]:
    stmt = (select(WorkOrder.id, WorkOrder.asset_id, WorkOrder.first_time_fix,
                   WorkOrder.created_at, WorkOrder.arrived_at, WorkOrder.completed_at,
                   WorkOrder.response_due_at, WorkOrder.resolution_due_at,
                   WorkOrder.follow_up_of_id)
            .where(WorkOrder.status == WorkOrderStatus.COMPLETED,
                   WorkOrder.completed_at >= period.start_at,
                   WorkOrder.completed_at < period.end_at))
    if period.territory is not None:
        stmt = stmt.join(Site, Site.id == WorkOrder.site_id).where(
            Site.territory == period.territory)
    return list(session.execute(stmt))


def _quality(rows: list[Any]) -> list[dict[str, Any]]:
    fixed = sum(1 for r in rows if r.first_time_fix)
    # A follow-up keeps its first visit's due times, but the response was that first visit.
    first_visits = [r for r in rows if r.follow_up_of_id is None and r.arrived_at is not None]
    responded = [r for r in first_visits if r.response_due_at is not None]
    response_met = sum(1 for r in responded if r.arrived_at <= r.response_due_at)
    resolved = [r for r in rows if r.resolution_due_at is not None]
    resolution_met = sum(1 for r in resolved if r.completed_at <= r.resolution_due_at)
    arrived = [r for r in rows if r.arrived_at is not None]
    respond_minutes = sum((r.arrived_at - r.created_at).total_seconds()
                          for r in first_visits) / 60
    repair_minutes = sum((r.completed_at - r.arrived_at).total_seconds() for r in arrived) / 60
    return [
        _kpi("first_time_fix", _ratio(fixed, len(rows)), fixed, len(rows)),
        _kpi("sla_response", _ratio(response_met, len(responded)), response_met,
             len(responded)),
        _kpi("sla_resolution", _ratio(resolution_met, len(resolved)), resolution_met,
             len(resolved)),
        _kpi("mean_time_to_respond",
             round(respond_minutes / len(first_visits), 1) if first_visits else None,
             round(respond_minutes, 1), len(first_visits)),
        _kpi("mean_time_to_repair",
             round(repair_minutes / len(arrived), 1) if arrived else None,
             round(repair_minutes, 1), len(arrived)),
    ]


def _utilization(session: Session, period: Period) -> dict[str, Any]:
    techs_stmt = (select(Technician).where(Technician.active.is_(True))
                  .options(selectinload(Technician.shifts)))
    if period.territory is not None:
        techs_stmt = techs_stmt.where(Technician.territory == period.territory)
    techs = list(session.scalars(techs_stmt))
    shift_minutes = 0
    for tech in techs:
        by_weekday = {s.weekday: s for s in tech.shifts}
        for day in period.days():
            shift = by_weekday.get(day.weekday())
            if shift is None:
                continue
            length = (datetime.combine(day, shift.end_time)
                      - datetime.combine(day, shift.start_time)).total_seconds() / 60
            shift_minutes += max(0, length - (tech.break_minutes or 0))
    work_minutes = 0.0
    if techs:
        rows = session.execute(
            select(WorkOrder.scheduled_start_at, WorkOrder.scheduled_end_at,
                   WorkOrder.estimated_minutes)
            .where(WorkOrder.technician_id.in_([t.id for t in techs]),
                   WorkOrder.status != WorkOrderStatus.CANCELLED,
                   WorkOrder.scheduled_start_at >= period.start_at,
                   WorkOrder.scheduled_start_at < period.end_at))
        for start, end, estimate in rows:
            work_minutes += ((end - start).total_seconds() / 60 if end is not None
                             else estimate)
    return _kpi("utilization", _ratio(work_minutes, shift_minutes), round(work_minutes, 1),
                round(shift_minutes, 1))


def _travel(session: Session, period: Period) -> dict[str, Any]:
    import scheduler
    from fieldsvc.dispatch.insertion import current_plan

    stmt = (select(OptimizationRun)
            .where(OptimizationRun.status == RunStatus.FINISHED,
                   OptimizationRun.published_at.is_not(None),
                   OptimizationRun.plan_date >= period.start,
                   OptimizationRun.plan_date <= period.end)
            .order_by(OptimizationRun.published_at, OptimizationRun.id))
    if period.territory is not None:
        stmt = stmt.where(OptimizationRun.territory == period.territory)
    latest: dict[tuple[date, str | None], OptimizationRun] = {}
    for run in session.scalars(stmt):
        latest[(run.plan_date, run.territory)] = run  # ordered: the last one wins
    travel = service = 0
    for run in latest.values():
        if not run.result or "plan" not in run.result:
            continue
        plan = current_plan(session, run)
        for route in plan.routes:
            travel += route.return_travel_seconds
            for stop in route.stops:
                travel += stop.travel_seconds
                if stop.kind == scheduler.model.STOP_JOB:
                    service += stop.end - stop.start
    return _kpi("travel_share", _ratio(travel, travel + service), travel, travel + service,
                runs=len(latest))


def _repeats(session: Session, period: Period, rows: list[Any]) -> dict[str, Any]:
    with_asset = [r for r in rows if r.asset_id is not None]
    history: dict[int, list[tuple[datetime, int]]] = {}
    assets = sorted({r.asset_id for r in with_asset})
    # In chunks: IN lists stay well under the databases' parameter limits.
    for i in range(0, len(assets), 500):
        for asset_id, completed_at, ident in session.execute(
                select(WorkOrder.asset_id, WorkOrder.completed_at, WorkOrder.id)
                .where(WorkOrder.asset_id.in_(assets[i:i + 500]),
                       WorkOrder.status == WorkOrderStatus.COMPLETED,
                       WorkOrder.completed_at >= period.start_at - REPEAT_WINDOW,
                       WorkOrder.completed_at < period.end_at)):
            history.setdefault(asset_id, []).append((completed_at, ident))
    repeats = sum(
        1 for r in with_asset
        if any(other != r.id and r.completed_at - REPEAT_WINDOW <= done < r.completed_at
               for done, other in history.get(r.asset_id, ())))
    return _kpi("repeat_visits", _ratio(repeats, len(with_asset)), repeats, len(with_asset))


def _overdue_pm(session: Session, period: Period, today: date) -> dict[str, Any]:
    last = min(period.end, today - timedelta(days=1))
    stmt = (select(WorkOrder.status)
            .where(WorkOrder.type == WorkOrderType.PREVENTIVE,
                   WorkOrder.pm_due_on >= period.start,
                   WorkOrder.pm_due_on <= last,
                   WorkOrder.status != WorkOrderStatus.CANCELLED))
    if period.territory is not None:
        stmt = stmt.join(Site, Site.id == WorkOrder.site_id).where(
            Site.territory == period.territory)
    statuses = list(session.scalars(stmt)) if last >= period.start else []
    overdue = sum(1 for s in statuses if s != WorkOrderStatus.COMPLETED)
    return _kpi("overdue_pm", _ratio(overdue, len(statuses)), overdue, len(statuses))


def _recalls(session: Session, period: Period) -> dict[str, Any]:
    completed = func.sum(case((RecallAppointment.status == AppointmentStatus.COMPLETED, 1),
                              else_=0))
    stmt = (select(RecallCampaign.id, RecallCampaign.code,
                   func.count(RecallAppointment.id).label("appointments"),
                   completed.label("completed"))
            .join(RecallAppointment, RecallAppointment.campaign_id == RecallCampaign.id)
            .where(RecallCampaign.status == CampaignStatus.ACTIVE,
                   RecallAppointment.day >= period.start,
                   RecallAppointment.day <= period.end,
                   RecallAppointment.status.in_([AppointmentStatus.BOOKED,
                                                 AppointmentStatus.COMPLETED,
                                                 AppointmentStatus.NO_SHOW]))
            .group_by(RecallCampaign.id, RecallCampaign.code)
            .order_by(RecallCampaign.code))
    if period.territory is not None:
        stmt = stmt.join(Dealership, Dealership.id == RecallAppointment.dealership_id).where(
            Dealership.region == period.territory)
    campaigns = [{"campaign_id": r.id, "code": r.code, "completed": int(r.completed or 0),
                  "appointments": int(r.appointments),
                  "value": _ratio(int(r.completed or 0), int(r.appointments))}
                 for r in session.execute(stmt)]
    done = sum(c["completed"] for c in campaigns)
    total = sum(c["appointments"] for c in campaigns)
    return _kpi("recall_completion", _ratio(done, total), done, total, campaigns=campaigns)


# ---------------------------------------------------------------- index and weights


def normalize(key: str, value: float | None) -> float | None:
    """The KPI on a 0..1 scale where 1 is best (see the module docstring)."""
    if value is None:
        return None
    how = KPIS[key][2]
    if how == "rate":
        score = value
    elif how == "inverse":
        score = 1 - value
    elif how == "utilization":
        score = min(1.0, value / UTILIZATION_TARGET)
    else:  # a mean time in minutes
        score = 1.0 if value <= 0 else min(1.0, TIME_TARGETS[key] / value)
    return round(max(0.0, min(1.0, score)), 4)


def service_index(kpis: list[dict[str, Any]], weights: dict[str, int]) -> float | None:
    """100 × Σ w·n / Σ w over the KPIs with a value; None when none has one."""
    total = scored = 0.0
    for kpi in kpis:
        normalized = kpi.get("normalized")
        weight = weights.get(kpi["key"], 0)
        if normalized is None or weight == 0:
            continue
        total += weight
        scored += weight * normalized
    return round(100 * scored / total, 1) if total else None


def get_weights(session: Session) -> dict[str, int]:
    """The weights in force: the stored ones, else the defaults."""
    stored = {w.key: w.weight for w in session.scalars(select(ServiceIndexWeight))}
    if not stored:
        return dict(DEFAULT_WEIGHTS)
    return {key: stored.get(key, 0) for key in KPIS}


def weights_info(session: Session) -> dict[str, Any]:
    rows = list(session.scalars(select(ServiceIndexWeight)))
    updated = max(rows, key=lambda w: w.updated_at) if rows else None
    return {"weights": get_weights(session), "defaults": dict(DEFAULT_WEIGHTS),
            "labels": {key: spec[0] for key, spec in KPIS.items()},
            "customized": bool(rows),
            "updated_at": updated.updated_at if updated else None}


def validate_weights(weights: dict[str, Any]) -> dict[str, int]:
    """Whole numbers 0–100 per known KPI key (missing ones are 0) summing to 100, or 422."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for key, value in weights.items():
        if key not in KPIS:
            errors[key] = [f"Unknown KPI; use one of: {', '.join(KPIS)}."]
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            errors[key] = ["Give a whole number from 0 to 100."]
        else:
            clean[key] = value
    if errors:
        raise InvalidInput({"weights": errors})
    total = sum(clean.values())
    if total != 100:
        raise InvalidInput({"weights": {"_total": [f"The weights must sum to 100 (they sum "
                                                   f"to {total})."]}})
    return {key: clean.get(key, 0) for key in KPIS}


def set_weights(session: Session, weights: dict[str, Any], actor) -> dict[str, Any]:
    """Store the weights of the service index (all keys, one row each)."""
    clean = validate_weights(weights)
    stored = {w.key: w for w in session.scalars(select(ServiceIndexWeight))}
    for key, value in clean.items():
        row = stored.get(key)
        if row is None:
            session.add(ServiceIndexWeight(key=key, weight=value,
                                           updated_by_id=getattr(actor, "id", None)))
        elif row.weight != value:
            row.weight = value
            row.updated_by_id = getattr(actor, "id", None)
    session.flush()
    return weights_info(session)


# ---------------------------------------------------------------- the report


def compute(session: Session, start: date, end: date, timezone: str,
            territory: str | None = None, today: date | None = None) -> dict[str, Any]:
    """Every KPI of the period with its normalized score and weight, and the service index."""
    check_period(start, end)
    period = Period(start, end, timezone, territory)
    today = today or datetime.now(period.tz).date()
    completed = _completed(session, period)
    kpis = [*_quality(completed), _utilization(session, period), _travel(session, period),
            _repeats(session, period, completed), _overdue_pm(session, period, today),
            _recalls(session, period)]
    weights = get_weights(session)
    for kpi in kpis:
        kpi["normalized"] = normalize(kpi["key"], kpi["value"])
        kpi["weight"] = weights[kpi["key"]]
    return {"from": start, "to": end, "territory": territory, "timezone": timezone,
            "kpis": kpis, "weights": weights, "service_index": service_index(kpis, weights)}


def monthly(session: Session, start: date, end: date, timezone: str,
            territory: str | None = None) -> list[dict[str, Any]]:
    """compute() per calendar month of the period (clipped to it), for trend charts."""
    check_period(start, end)
    out = []
    month_start = start
    while month_start <= end:
        nxt = (month_start.replace(day=1) + timedelta(days=32)).replace(day=1)
        month_end = min(end, nxt - timedelta(days=1))
        report = compute(session, month_start, month_end, timezone, territory)
        out.append({"month": month_start.strftime("%Y-%m"), "from": month_start,
                    "to": month_end, "service_index": report["service_index"],
                    "values": {k["key"]: k["value"] for k in report["kpis"]}})
        month_start = nxt
    return out


CSV_COLUMNS = ("key", "label", "unit", "value", "numerator", "denominator", "normalized",
               "weight")


def to_csv(report: dict[str, Any]) -> str:
    """One line per KPI, then the service index."""
    rows = [[kpi.get(c) for c in CSV_COLUMNS] for kpi in report["kpis"]]
    rows.append(["service_index", "Service index", "score", report["service_index"],
                 "", "", "", sum(report["weights"].values())])
    return write_csv(CSV_COLUMNS, rows)


__all__ = ["DEFAULT_WEIGHTS", "KPIS", "MAX_DAYS", "check_period", "compute", "get_weights",
           "monthly", "normalize", "service_index", "set_weights", "to_csv", "weights_info"]
