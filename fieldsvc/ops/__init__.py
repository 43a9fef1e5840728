"""Operations: request ids, JSON logs, Prometheus metrics, readiness, healing from a lost
database connection (SPEC §8: operators see what it does, on one machine or several).

`init_app` runs first in the app factory, so the request id is set before any other hook
(the auth gate, the rate limiter) can log or answer, and its after-request hook runs last,
seeing the final status.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from fieldsvc.ops import metrics, request_id, resilience
from fieldsvc.ops.health import readiness
from fieldsvc.problems import Forbidden, NotFound, Problem

access_log = logging.getLogger("fieldsvc.access")
bp = Blueprint("ops", __name__)


@bp.get("/readyz")
def readyz():
    """Ready for traffic: database, migrations, Redis, scheduler, workers (503 if not)."""
    ready, checks = readiness(current_app._get_current_object())
    if not ready:
        failed = [name for name, c in checks.items()
                  if c["status"] == "fail" and c["required"] == "yes"]
        raise Problem("Not ready: " + "; ".join(f"{n}: {checks[n]['detail']}" for n in failed),
                      status=503, title="Not ready", slug="not-ready",
                      headers={"Retry-After": "5"}, checks=checks)
    return jsonify(status="ready", checks=checks)


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics_page():
    """Prometheus metrics: with FIELDSVC_METRICS_TOKEN as a bearer token, else local only."""
    app = current_app._get_current_object()
    if not app.config.get("METRICS_ENABLED", True):
        raise NotFound("Metrics are off (FIELDSVC_METRICS=off).")
    token = app.config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
            raise Problem("Send 'Authorization: Bearer <FIELDSVC_METRICS_TOKEN>'.", status=401,
                          title="Unauthorized", slug="unauthorized",
                          headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    elif not _loopback(request.remote_addr):
        raise Forbidden("Metrics are served to this machine only; set FIELDSVC_METRICS_TOKEN "
                        "to scrape them from elsewhere.")
    body, content_type = metrics.render(app)
    return Response(body, content_type=content_type)


def init_app(app: Flask) -> None:
    metrics.watch_pools()

    @app.before_request
    def _start() -> None:
        g.ops_started = time.perf_counter()
        rid = request_id.accept(request.headers.get(request_id.HEADER))
        g.request_id = rid
        g.request_id_token = request_id.set_current(rid)

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        if rid is not None:
            response.headers[request_id.HEADER] = rid
        started = g.get("ops_started")
        if started is None:
            return response
        seconds = time.perf_counter() - started
        metrics.observe_request(request.endpoint, request.method, response.status_code,
                                seconds)
        if access_log.isEnabledFor(logging.INFO):
            # A record made directly: Logger.info would walk the stack for the caller's
            # file and line on every request, which the access line does not need.
            access_log.handle(access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, "%s %s %s",
                (request.method, request.path, response.status_code), None,
                extra={"method": request.method, "path": request.path,
                       "status": response.status_code,
                       "duration_ms": round(seconds * 1000, 3),
                       "endpoint": request.endpoint, "remote_addr": request.remote_addr}))
        return response

    @app.teardown_request
    def _forget(exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            # ValueError: set in another context (a copied one), nothing to undo here.
            with contextlib.suppress(ValueError):
                request_id.reset(token)

    resilience.install(app)
    app.register_blueprint(bp)
