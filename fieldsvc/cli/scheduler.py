"""scheduler, sla-watch, worker: the processes and one-shot jobs of a deployment (SPEC §8)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from fieldsvc.cli.support import cli_actor, fail_on_problem
from fieldsvc.extensions import db

SCHEDULE_HELP = """
\b
Schedules (environment; a 5-field cron line in FIELDSVC_TIMEZONE, a number of seconds,
or "off"):
  FIELDSVC_SCHEDULE_PM_GENERATION   3600        preventive maintenance work orders
  FIELDSVC_SCHEDULE_SLA_WATCH       60          SLA risk/breach flags and escalation
  FIELDSVC_SCHEDULE_NIGHTLY_REPLAN  0 22 * * *  tomorrow's optimization run per territory
                                                (not published)
  FIELDSVC_SCHEDULE_RMA_OVERDUE     3600        overdue advance-exchange returns
  FIELDSVC_SCHEDULE_RUN_REAPER      30          fail optimization runs whose worker died
  FIELDSVC_SCHEDULE_RETENTION       30 3 * * *  purge expired tokens, pings, change feed,
                                                idempotency keys, audit, run payloads
                                                (FIELDSVC_RETENTION_<KIND>_DAYS)
  FIELDSVC_SCHEDULE_EVENT_DELIVERY  2           deliver outbox events: webhooks (with
                                                FIELDSVC_RUN_QUEUE=rq the worker does)
  FIELDSVC_SLA_RISK_MINUTES         60          "at risk" this long before a due time
  FIELDSVC_REPLAN_TIME_LIMIT        60          search seconds of each nightly run
  FIELDSVC_SCHEDULER_RETRY_SECONDS  5           standby: how often to try the lock
  FIELDSVC_JOB_TIME_BUDGET          30          seconds a batched job (SLA watch, PM
                                                generation) goes on before leaving the
                                                rest to its next run
  FIELDSVC_JOB_BATCH_SIZE           200         rows per transaction of a batched job
"""


def _logging() -> None:
    """JSON (or text) log lines on stderr, and this process's metrics port if configured."""
    from fieldsvc.ops import logs, metrics

    app = current_app._get_current_object()
    logs.setup_for(app)
    metrics.serve_on_port(app.config.get("METRICS_PORT", 0))


@click.command("scheduler", help="Run the periodic jobs; exactly one scheduler is active.\n\n"
             "A second one waits as a standby, retrying the lock every few seconds, and takes "
             "over when the active one stops (PostgreSQL: advisory lock; SQLite: a lock file "
             "next to the database). Never start it inside web workers.\n" + SCHEDULE_HELP)
@with_appcontext
def scheduler_command():
    import os

    from apscheduler.executors.pool import ThreadPoolExecutor

    from fieldsvc.db_setup import set_role
    from scheduler.jobs import SchedulerLock, build_scheduler, stop_event

    _logging()
    log = logging.getLogger("fieldsvc.scheduler")
    app = current_app._get_current_object()
    set_role(app, "scheduler")
    executor = ThreadPoolExecutor(4)
    try:
        sched = build_scheduler(app, executor=executor)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    retry = float(app.config["SCHEDULER_RETRY_SECONDS"])
    lock = SchedulerLock(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    # The signal handler only raises a flag; the main thread, waiting on it, does the
    # stopping. (Shutting the scheduler down from the handler raced with its start: a signal
    # between taking the lock and the scheduler running was lost, and the process ran on.)
    stop_requested = threading.Event()
    stopping: list = []
    stop_jobs = stop_event(app)

    def stop(signum, _frame):
        stopping.append(signum)
        stop_jobs.set()  # running jobs end at their next batch
        stop_requested.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announced = False
    while not lock.acquire():
        if not announced:
            log.info("standby: another scheduler is active; retrying every %s s", retry)
            announced = True
        if stop_requested.wait(retry):
            return
    log.info("active: scheduler lock taken (pid %s)", os.getpid())

    def watch_lock():
        if not lock.alive():
            log.error("scheduler lock lost (database connection gone); stopping")
            stopping.append("lock")
            stop_jobs.set()
            stop_requested.set()

    sched.add_job(watch_lock, "interval", seconds=max(1.0, retry), id="lock_watch",
                  max_instances=1, coalesce=True)
    try:
        if not stop_requested.is_set():
            sched.start()
            while not stop_requested.wait(0.5):
                pass
    finally:
        # The lock is released only once no job of ours runs any more, so a standby taking
        # over never overlaps with a job still in flight here. Jobs stop at a batch boundary
        # and every statement is bounded by the role's statement_timeout.
        log.info("stopping: waiting for running jobs")
        if sched.running:
            sched.shutdown(wait=False)  # no new job starts; the lock is still ours
        executor.shutdown(wait=True)
        lock.release()
        log.info("stopped")
    if "lock" in stopping:
        sys.exit(1)


@click.command("sla-watch")
@click.option("--risk-minutes", type=click.IntRange(0, 7 * 24 * 60), default=None,
              help="flag 'at risk' this long before a due time "
                   "[default: FIELDSVC_SLA_RISK_MINUTES or 60]")
@with_appcontext
def sla_watch_command(risk_minutes):
    """Flag work orders whose SLA is at risk or breached; escalate each breach once."""
    from fieldsvc.services.sla_watch import watch
    from scheduler.jobs import risk_minutes as configured

    minutes = risk_minutes if risk_minutes is not None else configured(current_app)
    with cli_actor() as actor, fail_on_problem():
        report = watch(db.session, actor, risk_minutes=minutes,
                       timezone=current_app.config["DEFAULT_TIMEZONE"])
        db.session.commit()
    click.echo(report.summary())
    for item in report.escalated:
        old, new = item["priority"]
        click.echo(f"  work order {item['work_order_id']}: {item['kind']} breached, "
                   f"P{old} -> P{new}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop once the queue is empty")
@with_appcontext
def worker_command(burst):
    """Execute optimization runs from Redis (FIELDSVC_RUN_QUEUE=rq, REDIS_URL), and deliver
    outbox events (webhooks) on a thread of its own.

    Run as many as you like, on any machine that reaches the database and Redis; each run
    executes once whichever worker takes it, and workers share the events to deliver.
    """
    from fieldsvc.db_setup import set_role
    from fieldsvc.dispatch.queue import redis_url, rq_queue_name, work

    app = current_app._get_current_object()
    if app.config.get("RUN_QUEUE") != "rq":
        raise click.ClickException(
            "fieldsvc worker serves FIELDSVC_RUN_QUEUE=rq; with the default (thread) the app "
            "executes runs itself.")
    _logging()
    set_role(app, "worker")
    click.echo(f"worker: queue {rq_queue_name(app)} at {redis_url(app)}", err=True)
    from fieldsvc import events

    delivery, stop_delivery = events.start_thread(app)
    try:
        work(app, burst=burst)
    except Exception as exc:  # Redis unreachable: say so plainly
        from redis.exceptions import ConnectionError as RedisDown

        if isinstance(exc, RedisDown):
            raise click.ClickException(f"Redis does not answer at {redis_url(app)}: {exc}") \
                from None
        raise
    finally:
        # The batch in flight ends with its commit; what it had not committed is sent again
        # by the next worker (at least once).
        stop_delivery.set()
        delivery.join(timeout=float(app.config["WEBHOOK_TIMEOUT_SECONDS"]) + 5)
