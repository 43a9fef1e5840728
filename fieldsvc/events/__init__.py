"""Events out: the transactional outbox, its dispatcher and the webhook channel.

Services call `fieldsvc.events.outbox.emit()` in their own transaction; the dispatcher
(`fieldsvc.events.dispatcher`) runs in `fieldsvc worker` when FIELDSVC_RUN_QUEUE=rq, else
as a job of `fieldsvc scheduler`, and hands each event to every registered channel
(`fieldsvc.events.channels`). The HTTP surface is in fieldsvc.events.api.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from fieldsvc.events.dispatcher import DeliveryReport

log = logging.getLogger("fieldsvc.events")


def register(app: Flask) -> None:
    """Register the channels every app has (webhooks)."""
    from fieldsvc.events.channels import register_channel
    from fieldsvc.events.webhooks import WebhookChannel

    register_channel(app, WebhookChannel(app.config))


def deliver(
    app: Flask, *, budget_seconds: float, stop: threading.Event | None = None
) -> DeliveryReport:
    """Fan out and deliver what is due, in an app context, for at most `budget_seconds`."""
    from fieldsvc.events.channels import channels_of
    from fieldsvc.events.dispatcher import DeliverySettings, pump
    from fieldsvc.extensions import db

    settings = DeliverySettings.from_config(app.config)
    executor = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="events")
    try:
        with app.app_context():
            try:
                report = pump(
                    db.session,
                    channels_of(app),
                    settings,
                    executor,
                    budget_seconds=budget_seconds,
                    stop=(stop.is_set if stop is not None else lambda: False),
                )
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()
    finally:
        # A send still out past its batch's time was counted as failed; do not wait for it
        # (it ends by the webhook timeout).
        executor.shutdown(wait=False, cancel_futures=True)
    return report


def run_forever(app: Flask, stop: threading.Event) -> None:
    """Deliver continuously until `stop` is set: the loop of `fieldsvc worker`'s thread."""
    idle = float(app.config["EVENTS_POLL_SECONDS"])
    while not stop.is_set():
        try:
            report = deliver(app, budget_seconds=30, stop=stop)
            if report.fanned_out or report.attempted:
                log.info("events: %s", report.summary())
        except Exception:
            log.exception("event delivery failed; trying again")
        stop.wait(idle)


def start_thread(app: Flask) -> tuple[threading.Thread, threading.Event]:
    """Deliver events on a daemon thread of this process (the rq worker)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(app, stop), name="event-delivery", daemon=True
    )
    thread.start()
    return thread, stop
