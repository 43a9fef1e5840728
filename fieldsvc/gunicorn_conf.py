"""gunicorn settings for fieldsvc: shared metrics across workers, a refusal to run
several workers on per-process rate limits, and a worker heap frozen after start-up.

Used as `gunicorn -c python:fieldsvc.gunicorn_conf 'fieldsvc:create_app()'`; the
gunicorn.conf.py next to wsgi.py loads it, so a plain `gunicorn -w 4 wsgi:app` from the
checkout gets it too.

PROMETHEUS_MULTIPROC_DIR must be set before anything imports prometheus-client (it picks
its storage at import): here, at the top of a module outside fieldsvc.ops (whose import
would load the client), in the master (a fresh folder unless the operator named one,
which is emptied at start).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from fieldsvc.heap import post_worker_init  # noqa: F401  (a gunicorn hook)

_OWN_FOLDER = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_FOLDER:
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
                # The app writes its own access line, with the request id.
                "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True}},
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

    try:
        check_rate_limit_storage(server.cfg.workers)
    except SystemExit:
        on_exit(server)
        raise


def child_exit(server, worker) -> None:
    """A worker that ended leaves its live gauges out of the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _OWN_FOLDER:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)

