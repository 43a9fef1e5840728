"""Console reports for managers: KPIs with the service index and its weights, and the voice of
the customer. Charts are inline SVG drawn on the server (no chart library, no script); CSV
downloads come from the same services as the API's ?format=csv.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from fieldsvc.auth.decorators import roles_required
from fieldsvc.console.forms import ConsoleForm
from fieldsvc.console.i18n import gettext as _
from fieldsvc.context import current_actor
from fieldsvc.dates import local_today
from fieldsvc.extensions import db
from fieldsvc.hooks import hooks_of
from fieldsvc.models import Site, Technician
from fieldsvc.problems import InvalidInput
from fieldsvc.services import kpis as kpi_service
from fieldsvc.services import voice_of_customer as voc_service

bp = Blueprint("console_reports", __name__, url_prefix="/console/reports")
READERS = ("manager", "dispatcher", "admin")
WEIGHT_WRITERS = ("manager", "admin")


def _today() -> date:
    return local_today()


def _period(default_days: int) -> tuple[dict[str, str], dict[str, list[str]], date, date]:
    """from/to of the query string, as typed (for the form) and parsed; errors by field."""
    today = _today()
    values = {"from": request.args.get("from", "").strip(),
              "to": request.args.get("to", "").strip()}
    errors: dict[str, list[str]] = {}
    parsed = {}
    for name, default in (("from", today - timedelta(days=default_days - 1)), ("to", today)):
        raw = values[name]
        try:
            parsed[name] = date.fromisoformat(raw) if raw else default
            if not 1900 <= parsed[name].year <= 2200:
                raise ValueError
        except ValueError:
            errors[name] = ["Give a day as YYYY-MM-DD."]
            parsed[name] = default
        values[name] = values[name] or parsed[name].isoformat()
    if not errors:
        try:
            kpi_service.check_period(parsed["from"], parsed["to"])
        except InvalidInput as exc:
            errors.update(exc.extensions.get("errors") or {"to": [str(exc.detail)]})
    return values, errors, parsed["from"], parsed["to"]


def _text(name: str, limit: int = 80) -> str | None:
    value = request.args.get(name, "").strip()[:limit]
    return value or None


# ---------------------------------------------------------------- SVG geometry


def bar_chart(rows: list[tuple[str, float | None, str]], width: int = 640) -> dict[str, Any]:
    """Horizontal bars of values 0..1: (label, value or None, shown text)."""
    label_w, row_h, pad = 230, 26, 6
    plot_w = width - label_w - 70
    bars = []
    for i, (label, value, shown) in enumerate(rows):
        y = pad + i * row_h
        bars.append({"label": label, "y": y, "text_y": y + row_h / 2 + 4,
                     "w": round(plot_w * max(0.0, min(1.0, value)), 1) if value is not None
                     else 0, "shown": shown, "missing": value is None})
    return {"width": width, "height": pad * 2 + row_h * len(rows), "label_w": label_w,
            "plot_w": plot_w, "row_h": row_h - 8, "bars": bars}


def line_chart(points: list[tuple[str, float | None]], top: float | None = None,
               width: int = 640, height: int = 220) -> dict[str, Any]:
    """A line over months: (label, value or None); None breaks the line."""
    left, right, upper, lower = 44, 34, 14, 30
    values = [v for _k, v in points if v is not None]
    top = top or (max(values) if values else 1) or 1
    step = (width - left - right) / max(1, len(points) - 1)
    plot_h = height - upper - lower
    dots, segments, current = [], [], []
    for i, (label, value) in enumerate(points):
        x = round(left + (i * step if len(points) > 1 else (width - left - right) / 2), 1)
        if value is None:
            if current:
                segments.append(current)
            current = []
            dots.append({"x": x, "label": label, "value": None})
            continue
        y = round(upper + plot_h * (1 - min(value, top) / top), 1)
        current.append(f"{x},{y}")
        dots.append({"x": x, "y": y, "label": label, "value": value})
    if current:
        segments.append(current)
    ticks = [{"y": round(upper + plot_h * (1 - f), 1), "value": round(top * f, 1)}
             for f in (0, 0.5, 1)]
    return {"width": width, "height": height, "left": left, "base": upper + plot_h,
            "right": width - right, "dots": dots, "lines": [" ".join(s) for s in segments],
            "ticks": ticks, "label_y": height - 8}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _shown(kpi: dict[str, Any]) -> str:
    if kpi["value"] is None:
        return "—"
    return f"{kpi['value']:.0f} min" if kpi["unit"] == "minutes" else _pct(kpi["value"])


# ---------------------------------------------------------------- KPIs


class WeightsForm(ConsoleForm):
    """Only the CSRF token: the weight fields are checked by the service."""


def _territories(chosen: str | None) -> list[str]:
    """The known territories (of sites and of technicians), and the chosen one if it is not."""
    known: set[str] = set()
    for column in (Site.territory, Technician.territory):
        known.update(t for t in db.session.scalars(
            select(column).where(column.is_not(None)).distinct()) if t and t.strip())
    if chosen:
        known.add(chosen)
    return sorted(known, key=str.casefold)


def _kpi_page(weight_values: dict[str, str] | None = None,
              weight_errors: dict[str, list[str]] | None = None, status: int = 200):
    values, errors, start, end = _period(30)
    territory = _text("territory")
    values["territory"] = territory or ""
    tz = current_app.config["DEFAULT_TIMEZONE"]
    report = series = None
    if not errors:
        report = kpi_service.compute(db.session, start, end, tz, territory)
        series = kpi_service.monthly(db.session, start, end, tz, territory)
    role = current_user.user.role.value
    info = kpi_service.weights_info(db.session)
    query = {k: v for k, v in values.items() if v}
    return render_template(
        "console/reports/kpis.html", values=values, errors=errors, report=report,
        kpi_chart=bar_chart([(k["label"], k["normalized"], _shown(k)) for k in report["kpis"]])
        if report else None,
        trend=line_chart([(s["month"], s["service_index"]) for s in series], top=100)
        if series else None,
        shown=_shown, pct=_pct, info=info, can_weigh=role in WEIGHT_WRITERS,
        form=WeightsForm(), weight_values=weight_values or {
            k: str(v) for k, v in info["weights"].items()},
        weight_errors=weight_errors or {},
        csv_url=url_for("console_reports.kpis_csv", **query), query=query,
        territories=_territories(territory)), status


@bp.get("/kpis")
@roles_required(*READERS)
def kpis():
    return _kpi_page()


@bp.get("/kpis.csv")
@roles_required(*READERS)
def kpis_csv():
    values, errors, start, end = _period(30)
    if errors:
        return Response("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), 422,
                        mimetype="text/plain")
    report = kpi_service.compute(db.session, start, end, current_app.config["DEFAULT_TIMEZONE"],
                                 _text("territory"))
    return Response(kpi_service.to_csv(report), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="kpis-{start}-{end}.csv"'})


@bp.post("/kpis/weights")
@roles_required(*WEIGHT_WRITERS)
def save_weights():
    form = WeightsForm()
    typed = {k: request.form.get(k, "").strip() for k in kpi_service.KPIS}
    if not form.validate_on_submit():
        return _kpi_page(typed, {"_total": ["The form expired; send it again."]}, 400)
    errors: dict[str, list[str]] = {}
    weights: dict[str, Any] = {}
    for key, raw in typed.items():
        if raw == "":
            weights[key] = 0
        elif raw.isdigit() and len(raw) <= 3:
            weights[key] = int(raw)
        else:
            errors[key] = ["Give a whole number from 0 to 100."]
    if not errors:
        try:
            kpi_service.set_weights(db.session, weights, current_actor())
        except InvalidInput as exc:
            errors = (exc.extensions.get("errors") or {}).get("weights", {})
    if errors:
        db.session.rollback()
        return _kpi_page(typed, errors, 422)
    flash(_("Weights saved."))
    return redirect(url_for("console_reports.kpis", **{
        k: v for k, v in request.args.items() if k in ("from", "to", "territory")}))


# ---------------------------------------------------------------- voice of the customer


def _voc_args() -> tuple[dict[str, Any], dict[str, list[str]], date, date, list[str]]:
    values, errors, start, end = _period(180)
    chosen = [g for g in request.args.getlist("group") if g in voc_service.GROUPS] or \
        ["category"]
    values["group"] = chosen
    values["region"] = _text("region") or ""
    raw_top = request.args.get("top", "10").strip() or "10"
    values["top"] = raw_top
    if not (raw_top.isdigit() and 1 <= int(raw_top) <= voc_service.MAX_TOP):
        errors["top"] = [_("Between 1 and %(n)s.", n=voc_service.MAX_TOP)]
    return values, errors, start, end, chosen


@bp.get("/voice-of-customer")
@roles_required(*READERS)
def voice_of_customer():
    values, errors, start, end, groups = _voc_args()
    data = None
    trend = shares = None
    if not errors:
        data = voc_service.report(db.session, start, end,
                                  current_app.config["DEFAULT_TIMEZONE"], groups,
                                  values["region"] or None, int(values["top"]),
                                  hooks=hooks_of(current_app))
        trend = line_chart([(m["month"], m["tickets"]) for m in data["months"]])
        busiest = [m for m in data["months"] if m["tickets"]]
        if busiest:
            last = busiest[-1]["month"]
            first = [r for r in data["items"] if r["month"] == last and r["level"] == 1]
            shares = {"month": last, "chart": bar_chart(
                [(str(r[groups[0]] if r[groups[0]] is not None else "(none)"), r["share"],
                  _pct(r["share"])) for r in first])}
    query = {"from": values["from"], "to": values["to"], "group": groups,
             "region": values["region"], "top": values["top"]}
    query = {k: v for k, v in query.items() if v}
    return render_template(
        "console/reports/voice_of_customer.html", values=values, errors=errors, data=data,
        groups=groups, all_groups=voc_service.GROUPS, trend=trend, shares=shares, pct=_pct,
        csv_url=url_for("console_reports.voc_csv", **query),
        faults_csv_url=url_for("console_reports.voc_csv", part="faults", **query)), \
        (422 if errors else 200)


@bp.get("/voice-of-customer.csv")
@roles_required(*READERS)
def voc_csv():
    values, errors, start, end, groups = _voc_args()
    if errors:
        return Response("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()), 422,
                        mimetype="text/plain")
    data = voc_service.report(db.session, start, end, current_app.config["DEFAULT_TIMEZONE"],
                              groups, values["region"] or None, int(values["top"]),
                              hooks=hooks_of(current_app))
    part = "faults" if request.args.get("part") == "faults" else "tickets"
    body = voc_service.faults_csv(data) if part == "faults" else voc_service.tickets_csv(data)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition":
            f'attachment; filename="voice-of-customer-{part}-{start}-{end}.csv"'})

