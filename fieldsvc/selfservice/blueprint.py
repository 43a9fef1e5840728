"""The URLs of self-service, one line per route, and their rate limits."""

from __future__ import annotations

from flask import Flask, current_app, request

from fieldsvc.recall.blueprint import add_routes
from fieldsvc.selfservice import views
from fieldsvc.vin import normalize_vin

bp = views.bp

ROUTES = [
    ("GET", "", "home", views.home),
    ("POST", "/recall", "lookup", views.lookup),
    ("GET", "/recall/<token>", "recall", views.recall),
    ("POST", "/recall/<token>/book", "recall_book", views.recall_book),
    ("POST", "/recall/<token>/reschedule", "recall_reschedule", views.recall_reschedule),
    ("POST", "/recall/<token>/cancel", "recall_cancel", views.recall_cancel),
    ("GET", "/recall/<token>/<int:campaign_id>.ics", "recall_ics", views.recall_ics),
    ("GET", "/t/<token>", "track", views.track),
    ("GET", "/t/<token>/windows", "track_windows", views.track_windows),
    ("POST", "/t/<token>/confirm", "track_confirm", views.track_confirm),
    ("POST", "/t/<token>/reschedule", "track_reschedule", views.track_reschedule),
    ("POST", "/t/<token>/cancel", "track_cancel", views.track_cancel),
]
add_routes(bp, ROUTES)
FORMS = {f"selfservice.{endpoint}" for methods, _, endpoint, _ in ROUTES if methods == "POST"}


def _address() -> str:
    return "self-service:ip:" + (request.remote_addr or "unknown")


def _vin() -> str:
    vin = normalize_vin(request.form.get("vin")) or "-"
    return "self-service:vin:" + vin


def _per_address() -> str:
    return current_app.config["SELF_SERVICE_RATE_LIMIT"]


def _per_vin() -> str:
    return current_app.config["SELF_SERVICE_VIN_RATE_LIMIT"]


def _limit(state) -> None:
    """Every form is limited per address; the VIN check per VIN as well (Flask-Limiter)."""
    app: Flask = state.app
    limiter = app.extensions["fieldsvc_limiter"]
    for endpoint in FORMS:
        limited = limiter.limit(_per_address, key_func=_address)(app.view_functions[endpoint])
        if endpoint == "selfservice.lookup":
            limited = limiter.limit(_per_vin, key_func=_vin)(limited)
        app.view_functions[endpoint] = limited


bp.record_once(_limit)
