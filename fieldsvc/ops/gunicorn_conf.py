"""gunicorn settings for fieldsvc: shared metrics across workers, and a refusal to run
several workers on per-process rate limits.

Used as `gunicorn -c python:fieldsvc.ops.gunicorn_conf wsgi:app`; the gunicorn.conf.py
next to wsgi.py loads it, so a plain `gunicorn -w 4 wsgi:app` from the checkout gets it too.

PROMETHEUS_MULTIPROC_DIR must be set before the workers import prometheus-client: here, in
the master, at start (a fresh folder unless the operator named one, which is emptied).
"""

from __future__ import annotations

import os
import shutil
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fieldsvc-metrics-")

bind = os.environ.get("FIELDSVC_BIND", "127.0.0.1:8000")
# One log format for gunicorn's own lines and the app's (JSON by default, see fieldsvc.ops.logs).
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"fieldsvc": {"()": "fieldsvc.ops.logs.formatter",
                                "kind": os.environ.get("FIELDSVC_LOG_FORMAT", "json")}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "fieldsvc",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": os.environ.get("FIELDSVC_LOG_LEVEL", "INFO").upper(),
             "handlers": ["stderr"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True}},
}


def on_starting(server) -> None:
    """Empty the metrics folder; refuse per-process rate limits under several workers."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            os.unlink(path)
    from fieldsvc.ops.shared_state import check_rate_limit_storage

    check_rate_limit_storage(server.cfg.workers)


def child_exit(server, worker) -> None:
    """A worker that ended leaves its live gauges out of the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.basename(folder).startswith("fieldsvc-metrics-"):
        shutil.rmtree(folder, ignore_errors=True)
