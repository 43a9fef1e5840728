"""Where optimization runs execute: one interface, an in-process thread by default.

`FIELDSVC_RUN_QUEUE` chooses: `thread` (default: a worker thread inside this process, the
zero-setup deployment), or `inline` (run at once in the caller, for scripts and tests).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from flask import Flask
from sqlalchemy import event

from fieldsvc.extensions import db


class RunQueue(Protocol):
    def enqueue(self, run_id: int) -> None: ...


def _execute(app: Flask, run_id: int) -> None:
    from fieldsvc.context import SYSTEM, acting_as
    from fieldsvc.dispatch.runs import execute_run

    with app.app_context(), acting_as(SYSTEM):
        try:
            execute_run(db.session, run_id, app.config["DEFAULT_TIMEZONE"])
        finally:
            db.session.remove()


class InlineQueue:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def enqueue(self, run_id: int) -> None:
        _execute(self.app, run_id)


class ThreadQueue:
    """One background thread per process executes runs one after another."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldsvc-run")
        self.futures: list[Future] = []

    def enqueue(self, run_id: int) -> None:
        self.futures = [f for f in self.futures if not f.done()]
        self.futures.append(self.executor.submit(_execute, self.app, run_id))

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued run has executed (used by tests and the CLI)."""
        for future in list(self.futures):
            future.result(timeout=timeout)


def get_queue(app: Flask) -> RunQueue:
    queue = app.extensions.get("fieldsvc_run_queue")
    if queue is None:
        kind = app.config.get("RUN_QUEUE", "thread")
        queue = InlineQueue(app) if kind == "inline" else ThreadQueue(app)
        app.extensions["fieldsvc_run_queue"] = queue
    return queue


def enqueue_after_commit(app: Flask, run_id: int) -> None:
    """Hand the run to the queue once the request's transaction has committed it."""
    session = db.session()
    event.listen(session, "after_commit",
                 lambda _s: get_queue(app).enqueue(run_id), once=True)
