"""At least once: `kill -9` of the delivering process between sending an event and recording
it leaves the delivery pending, and the next process sends it again (same webhook-id)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from fieldsvc.events.models import DeliveryStatus, EventDelivery
from tests.conftest import authed_client
from tests.events.conftest import Received, outbox

ROOT = Path(__file__).resolve().parents[2]


def _scheduler(app, log: Path) -> subprocess.Popen:
    """A real `fieldsvc scheduler` that only delivers events (every half second)."""
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        PYTHONPATH=str(ROOT),
        FIELDSVC_WEBHOOK_ALLOW_PRIVATE="1",
        FIELDSVC_SCHEDULE_EVENT_DELIVERY="0.5",
        FIELDSVC_SCHEDULE_SLA_WATCH="off",
        FIELDSVC_SCHEDULE_PM_GENERATION="off",
        FIELDSVC_SCHEDULE_NIGHTLY_REPLAN="off",
        FIELDSVC_SCHEDULE_RMA_OVERDUE="off",
        FIELDSVC_SCHEDULE_RUN_REAPER="off",
        FIELDSVC_SCHEDULE_RETENTION="off",
        FIELDSVC_SCHEDULER_RETRY_SECONDS="1",
    )
    env.pop("FIELDSVC_RUN_QUEUE", None)
    return subprocess.Popen(
        [
            "timeout",
            "120",
            sys.executable,
            "-c",
            "from fieldsvc.cli import main; main()",
            "scheduler",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )


def test_kill_9_between_send_and_acknowledgement_delivers_after_restart(
    events_app, make, receiver, tmp_path
):
    admin = authed_client(events_app, "admin")
    created = admin.post(
        "/api/v1/webhook-subscriptions",
        json={"url": receiver.url, "events": ["work_order.created"]},
    )
    assert created.status_code == 201
    answer = admin.post(
        "/api/v1/work-orders", json={"summary": "Lift stuck", "site_id": make.site().id}
    )
    assert answer.status_code == 201
    arrived, release = threading.Event(), threading.Event()

    def hold_first(request: Received) -> None:
        # The first request is received but not answered until the sender is dead.
        if not arrived.is_set():
            arrived.set()
            release.wait(30)

    receiver.before_answer = hold_first
    first = _scheduler(events_app, tmp_path / "first.log")
    try:
        assert arrived.wait(60), (tmp_path / "first.log").read_text()
        # The whole process group: `timeout` and the scheduler under it.
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        release.set()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    (delivery,) = outbox(events_app, EventDelivery)
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0

    second = _scheduler(events_app, tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (delivery,) = outbox(events_app, EventDelivery)
            if delivery.status == DeliveryStatus.DELIVERED:
                break
            time.sleep(0.2)
        assert delivery.status == DeliveryStatus.DELIVERED, (tmp_path / "second.log").read_text()
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        try:
            second.wait(60)  # a stopping scheduler lets its running jobs end first
        except subprocess.TimeoutExpired:
            # Never leave it behind holding the scheduler lock for the tests that follow.
            os.killpg(second.pid, signal.SIGKILL)
            second.wait(10)
            raise AssertionError((tmp_path / "second.log").read_text()[-3000:]) from None
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    # Received twice (once unanswered), never lost; the receiver can drop the duplicate.
    assert len(ids) == 2 and len(set(ids)) == 1
    assert delivery.attempts == 1
