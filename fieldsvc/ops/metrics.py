"""Prometheus metrics (prometheus-client), safe under several gunicorn workers.

With PROMETHEUS_MULTIPROC_DIR set (the gunicorn config in fieldsvc.gunicorn_conf sets
it), every process writes its samples to files there and /metrics adds them up; without it
(one process) the client's default registry serves them. The metric objects are module
globals because that is how the client registers them: once per process.

Queue figures (depth, failed jobs, workers) are read from Redis when /metrics is scraped,
so they are the same whichever app server answers.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event
from sqlalchemy.pool import Pool

log = logging.getLogger(__name__)

REQUESTS = Counter("fieldsvc_http_requests_total", "HTTP requests answered",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("fieldsvc_http_request_duration_seconds",
                    "Time from the start of a request to its response",
                    ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DB_CHECKED_OUT = Gauge("fieldsvc_db_pool_checked_out",
                       "Database connections in use (all processes)",
                       multiprocess_mode="livesum")
DB_CONNECTIONS = Gauge("fieldsvc_db_pool_connections",
                       "Database connections open (all processes)",
                       multiprocess_mode="livesum")
DB_DISCONNECTS = Counter("fieldsvc_db_disconnects_total",
                         "Requests that lost their database connection, by what followed",
                         ["outcome"])
RUNS = Counter("fieldsvc_optimization_runs_total", "Optimization runs ended, by status",
               ["status"])
RUN_SECONDS = Histogram("fieldsvc_optimization_run_duration_seconds",
                        "Optimization runs from start to end",
                        buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200))
RUN_ASSIGNED = Histogram("fieldsvc_optimization_assigned_share",
                         "Share of a run's work orders that got a technician",
                         buckets=(0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0))
RUN_PHASE_GAIN = Summary("fieldsvc_optimization_phase_gain",
                         "Objective improvement of each optimizer phase (from run stats)",
                         ["phase"])
JOBS = Counter("fieldsvc_periodic_job_runs_total", "Periodic job runs, by job and outcome",
               ["job", "outcome"])
BOOKINGS = Counter("fieldsvc_recall_bookings_total",
                   "Recall booking requests, by outcome (booked, or conflict: 409)",
                   ["outcome"])
DAY_CACHE = Counter("fieldsvc_mobile_day_cache_total",
                    "Technician day lookups, served from the cache or rendered",
                    ["result"])
DAY_CACHE_HIT = DAY_CACHE.labels("hit")
DAY_CACHE_MISS = DAY_CACHE.labels("miss")

# Bookings are counted where the caller sees the outcome: the response of these endpoints.
BOOKING_ENDPOINTS = frozenset({
    "recall_appointments.recall-appointments_collection",
    "recall_appointments.appointment_accept",
    "recall_appointments.appointment_reschedule",
    "portal.book",
    "portal.reschedule",
})


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# ----------------------------------------------------------------------- recording


# Labelled children by label values: `labels()` takes a lock and builds a key each time.
_children: dict[tuple, tuple] = {}


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method, status)
    children = _children.get(key)
    if children is None:
        name = endpoint or "<unmatched>"
        children = _children.setdefault(key, (REQUESTS.labels(name, method, str(status)),
                                              LATENCY.labels(name, method)))
    children[0].inc()
    children[1].observe(seconds)
    if endpoint in BOOKING_ENDPOINTS and method == "POST":
        if 200 <= status < 300:
            BOOKINGS.labels("booked").inc()
        elif status == 409:
            BOOKINGS.labels("conflict").inc()


def observe_run(run: Any) -> None:
    """Count an ended optimization run: status, duration, assigned share, phase gains."""
    status = getattr(run.status, "value", str(run.status))
    RUNS.labels(status).inc()
    if run.started_at is not None and run.finished_at is not None:
        RUN_SECONDS.observe(max(0.0, (run.finished_at - run.started_at).total_seconds()))
    assigned, unassigned = run.assigned_count, run.unassigned_count
    if assigned is not None and unassigned is not None and assigned + unassigned > 0:
        RUN_ASSIGNED.observe(assigned / (assigned + unassigned))
    stats = (run.result or {}).get("stats") or {}
    for phase, gain in (stats.get("phase_gains") or {}).items():
        if isinstance(gain, int | float):
            RUN_PHASE_GAIN.labels(str(phase)).observe(float(gain))


def observe_job(job: str, ok: bool) -> None:
    JOBS.labels(job, "ok" if ok else "failed").inc()


def _checkout(dbapi_connection, connection_record, connection_proxy) -> None:
    DB_CHECKED_OUT.inc()


def _checkin(dbapi_connection, connection_record) -> None:
    DB_CHECKED_OUT.dec()


def _connect(dbapi_connection, connection_record) -> None:
    DB_CONNECTIONS.inc()


def _close(dbapi_connection, connection_record) -> None:
    DB_CONNECTIONS.dec()


def watch_pools() -> None:
    """Follow every connection pool of this process (installed once)."""
    if event.contains(Pool, "checkout", _checkout):
        return
    event.listen(Pool, "checkout", _checkout)
    event.listen(Pool, "checkin", _checkin)
    event.listen(Pool, "connect", _connect)
    event.listen(Pool, "close", _close)
    event.listen(Pool, "close_detached", _close)


# ---------------------------------------------------------------------- exposition


class RqCollector:
    """Queue depth, started and failed jobs and live workers of the run queue, from Redis."""

    def __init__(self, redis_url: str, queue_name: str) -> None:
        self.redis_url, self.queue_name = redis_url, queue_name

    def collect(self):
        from redis import Redis
        from redis.exceptions import RedisError
        from rq import Queue, Worker
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        up = GaugeMetricFamily("fieldsvc_rq_up", "1 when Redis answered this scrape",
                               labels=["queue"])
        families = {
            "depth": GaugeMetricFamily("fieldsvc_rq_queue_depth", "Jobs waiting",
                                       labels=["queue"]),
            "started": GaugeMetricFamily("fieldsvc_rq_started_jobs", "Jobs being executed",
                                         labels=["queue"]),
            "failed": GaugeMetricFamily("fieldsvc_rq_failed_jobs",
                                        "Jobs in the failed registry", labels=["queue"]),
            "workers": GaugeMetricFamily("fieldsvc_rq_workers", "Workers registered",
                                         labels=["queue"]),
        }
        try:
            connection = Redis.from_url(self.redis_url, socket_connect_timeout=1,
                                        socket_timeout=1)
            queue = Queue(self.queue_name, connection=connection)
            figures = {
                "depth": queue.count,
                "started": StartedJobRegistry(queue=queue).count,
                "failed": FailedJobRegistry(queue=queue).count,
                "workers": Worker.count(queue=queue),
            }
        except RedisError as exc:
            log.warning("metrics: Redis does not answer: %s", exc)
            up.add_metric([self.queue_name], 0)
            yield up
            return
        up.add_metric([self.queue_name], 1)
        yield up
        for key, family in families.items():
            family.add_metric([self.queue_name], figures[key])
            yield family


def render(app) -> tuple[bytes, str]:
    """The metrics page: this process's (or every process's) samples plus the queue."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if app.config.get("RUN_QUEUE") == "rq":
        from fieldsvc.dispatch.queue import redis_url, rq_queue_name

        extra = CollectorRegistry()
        extra.register(RqCollector(redis_url(app), rq_queue_name(app)))
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


def serve_on_port(port: int) -> None:
    """Serve this process's metrics on `port` (worker and scheduler processes)."""
    if port <= 0:
        return
    from prometheus_client import start_http_server

    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, registry=registry)
    else:
        start_http_server(port)
    log.info("metrics on port %s", port)


def now() -> float:
    return time.perf_counter()
