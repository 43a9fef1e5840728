"""Where optimization runs execute: one interface, an in-process thread by default.

`FIELDSVC_RUN_QUEUE` chooses: `thread` (default: a worker thread inside this process, the
zero-setup deployment), `inline` (run at once in the caller, for scripts and tests), or
`rq` (several machines: runs go to Redis, `REDIS_URL`, and `fieldsvc worker` processes
anywhere execute them). Every kind ends in the same `execute_run`, which claims the run
with a conditional UPDATE, so a run handed out twice still executes once.

The same queue publishes runs: a job's `task` is `solve` (execute the run) or `publish`
(`fieldsvc.dispatch.publish.execute_publish`, claimed the same way).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from fieldsvc.extensions import db
from fieldsvc.problems import Problem

log = logging.getLogger(__name__)


SOLVE, PUBLISH = "solve", "publish"
TASKS = (SOLVE, PUBLISH)


class RunQueue(Protocol):
    def enqueue(self, run_id: int, request_id: str | None = None,
                task: str = SOLVE) -> None: ...

    def check(self) -> None:
        """Raise QueueUnavailable when runs cannot be queued now."""


class QueueUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "queue-unavailable"


def _execute(app: Flask, run_id: int, request_id: str | None = None,
             task: str = SOLVE) -> None:
    """Solve or publish a run under the request id of the request that asked for it."""
    from fieldsvc.context import SYSTEM, acting_as
    from fieldsvc.dispatch.publish import execute_publish
    from fieldsvc.dispatch.runs import execute_run
    from fieldsvc.ops.request_id import carrying

    with carrying(request_id), app.app_context(), acting_as(SYSTEM):
        log.info("optimization run %s: %s taken by %s (process %s)", run_id, task,
                 socket.gethostname(), os.getpid())
        try:
            if task == PUBLISH:
                execute_publish(db.session, run_id,
                                eta_threshold_minutes=app.config["EVENTS_ETA_MINUTES"])
            else:
                execute_run(db.session, run_id, app.config["DEFAULT_TIMEZONE"])
        finally:
            db.session.remove()


def _warm_up_optimizer() -> None:
    from scheduler.ruin_recreate import warm_up

    warm_up()


class InlineQueue:
    def __init__(self, app: Flask) -> None:
        self.app = app

    def enqueue(self, run_id: int, request_id: str | None = None,
                task: str = SOLVE) -> None:
        _execute(self.app, run_id, request_id, task)

    def check(self) -> None:
        pass


class ThreadQueue:
    """One background thread per process executes runs one after another."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldsvc-run")
        # The optimizer's compiled kernel is loaded (or compiled) before the first run, so
        # that no run pays it inside its own time limit.
        self.lock = threading.Lock()
        self.futures: list[Future] = [self.executor.submit(_warm_up_optimizer)]

    def enqueue(self, run_id: int, request_id: str | None = None,
                task: str = SOLVE) -> None:
        # Requests and the scheduler enqueue from several threads at once.
        with self.lock:
            self.futures = [f for f in self.futures if not f.done()]
            self.futures.append(self.executor.submit(_execute, self.app, run_id, request_id,
                                                     task))

    def check(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued run has executed, including runs enqueued while waiting
        (used by tests and the CLI)."""
        while True:
            with self.lock:
                pending = [f for f in self.futures if not f.done()]
            if not pending:
                return
            for future in pending:
                future.result(timeout=timeout)


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_RQ_QUEUE = "fieldsvc-runs"
# A run's own time limit is at most 600 s; building its input and storing it come on top.
RQ_JOB_TIMEOUT = 1800
# An idle worker renews its registration in Redis about this often; one that died drops
# out of it (and of /readyz's worker count) within this plus RQ's 60 s margin.
WORKER_TTL = 60


def redis_url(app: Flask) -> str:
    return app.config.get("REDIS_URL") or DEFAULT_REDIS_URL


def rq_queue_name(app: Flask) -> str:
    return app.config.get("RQ_QUEUE", DEFAULT_RQ_QUEUE)


def rq_execute(run_id: int, request_id: str | None = None, task: str = SOLVE) -> None:
    """The RQ job: solve or publish one run in the worker's app (see `fieldsvc worker`)."""
    from flask import current_app, has_app_context

    if has_app_context():
        app = current_app._get_current_object()
    else:  # started by a plain `rq worker`: build the app from the environment
        from fieldsvc import create_app

        app = create_app()
    _execute(app, run_id, request_id, task)


class RqQueue:
    """Runs go to a Redis list; `fieldsvc worker` processes on any machine execute them."""

    def __init__(self, app: Flask) -> None:
        from redis import Redis
        from rq import Queue

        self.app = app
        # Short timeouts: a Redis that does not answer is reported at once, not after the
        # client's minutes of retrying.
        connection = Redis.from_url(redis_url(app), socket_connect_timeout=2, socket_timeout=5)
        self.queue = Queue(rq_queue_name(app), connection=connection)

    def enqueue(self, run_id: int, request_id: str | None = None,
                task: str = SOLVE) -> None:
        # A publication may be asked for again after it failed: its job id is new each time.
        job_id = (f"fieldsvc-run-{run_id}" if task == SOLVE
                  else f"fieldsvc-{task}-{run_id}-{uuid.uuid4().hex[:8]}")
        self.queue.enqueue(rq_execute, run_id, request_id, task, job_timeout=RQ_JOB_TIMEOUT,
                           job_id=job_id, description=f"optimization run {run_id}: {task}")

    def check(self) -> None:
        from redis.exceptions import RedisError

        try:
            self.queue.connection.ping()
        except RedisError as exc:
            raise QueueUnavailable(
                f"The run queue (Redis at {redis_url(self.app)}) does not answer; nothing was "
                "queued. Retry shortly.",
                headers={"Retry-After": "10"},
            ) from exc


def work(app: Flask, *, burst: bool = False, fork: bool = True) -> bool:
    """Execute runs from Redis until stopped (or, with `burst`, until the queue is empty).

    Each job runs in a fresh work horse forked from this process (RQ's forking Worker): the
    app, its settings and the optimizer's compiled kernel are loaded once, here, and
    whatever a job leaves behind (memory held by OR-Tools' C++ side, a leak anywhere) dies
    with its horse. The horse drops the connection pool it inherited (without closing the
    parent's connections) and opens its own. `fork=False` runs jobs in this process (RQ's
    SimpleWorker), for a caller that must not fork: a test process with threads running.
    """
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker

    connection = Redis.from_url(redis_url(app))
    queue = Queue(rq_queue_name(app), connection=connection)
    _warm_up_optimizer()  # before taking runs: none pays the kernel's compilation
    with app.app_context():
        _fail_stale_runs(app)
        if fork:
            engine = db.engine
            os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        worker_class = Worker if fork else SimpleWorker
        worker = worker_class([queue], connection=connection, worker_ttl=WORKER_TTL)
        return worker.work(burst=burst)


QUEUES = {"inline": InlineQueue, "thread": ThreadQueue, "rq": RqQueue}


def get_queue(app: Flask) -> RunQueue:
    queue = app.extensions.get("fieldsvc_run_queue")
    if queue is None:
        kind = app.config.get("RUN_QUEUE", "thread")
        if kind not in QUEUES:
            raise RuntimeError(
                f"FIELDSVC_RUN_QUEUE={kind!r}: use one of {', '.join(sorted(QUEUES))}."
            )
        queue = QUEUES[kind](app)
        app.extensions["fieldsvc_run_queue"] = queue
    return queue


def _fail_stale_runs(app: Flask) -> None:
    from fieldsvc.context import SYSTEM, acting_as
    from fieldsvc.dispatch.runs import fail_stale_runs

    with acting_as(SYSTEM):
        fail_stale_runs(db.session)
        db.session.commit()


def check_queue(app: Flask) -> None:
    """503 (QueueUnavailable) when runs cannot be queued: ask before creating one."""
    get_queue(app).check()


def enqueue_after_commit(app: Flask, run_id: int, task: str = SOLVE) -> None:
    """Hand the run to the queue once the request's transaction has committed it.

    Should the queue refuse it even so (Redis went away since `check_queue`), the run is
    failed with the reason at once, never left queued.

    SQLAlchemy also signals `after_commit` when a SAVEPOINT is released (`begin_nested`,
    as `request_run` uses for each run): handing the run over then would let a worker try
    to claim it before the outer transaction made it visible, find nothing queued and leave
    it queued for good. So only the outermost commit hands it over, and the outermost
    rollback forgets it.
    """
    from fieldsvc.ops.request_id import current

    session = db.session()
    pending = session.info.get(_PENDING_RUNS)
    if pending is None:
        pending = session.info[_PENDING_RUNS] = []
        event.listen(session, "after_commit", _hand_over_pending)
        event.listen(session, "after_transaction_end", _forget_pending)
    pending.append((app, run_id, current(), task))


_PENDING_RUNS = "fieldsvc_runs_to_hand_over"


def _hand_over_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released; the runs are not committed yet
    pending = session.info.get(_PENDING_RUNS) or []
    handed, pending[:] = list(pending), []
    for app, run_id, request_id, task in handed:
        try:
            get_queue(app).enqueue(run_id, request_id, task)
        except Exception as exc:  # the queue refused it: record that on the run
            log.exception("optimization run %s (%s) could not be queued", run_id, task)
            _record_unqueued(app, run_id, f"The {task} job could not be queued: {exc}", task)


def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: rolled back, or done
        (session.info.get(_PENDING_RUNS) or []).clear()


def _record_unqueued(app: Flask, run_id: int, reason: str, task: str = SOLVE) -> None:
    from fieldsvc.dispatch.publish import fail_unqueued_publish
    from fieldsvc.dispatch.runs import fail_unqueued_run

    # The request's session is inside its commit: use a connection of its own.
    with Session(db.engine) as session, session.begin():
        if task == PUBLISH:
            fail_unqueued_publish(session, run_id, reason)
        else:
            fail_unqueued_run(session, run_id, reason)
