"""Deliver the outbox: fan events out to the channels, send what is due, keep the score.

At least once: a delivery is claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
dispatchers share the work; SQLite has one writer), sent, and marked delivered in the same
transaction. A process that dies after sending and before its commit leaves the row pending,
and it is sent again: the receiver may see an event twice (same `webhook-id`), never zero
times.

Order per aggregate: a delivery is due only when no earlier event of its aggregate is still
pending for the same target (nor still waiting to be fanned out), so one slow or failing
event holds back the later ones of its aggregate, and only those. A dead letter no longer
holds anything back.

Backoff: after failed attempt n the next waits base * 2^(n-1) seconds (at most the maximum),
times a random factor in [0.5, 1.5) so that a receiver coming back is not hit by every
retry at once. After the last attempt the delivery is dead; an admin may replay it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from fieldsvc.events.channels import Channel, Outcome, Send
from fieldsvc.events.models import DeliveryStatus, EventDelivery, OutboxEvent
from fieldsvc.models.base import utcnow


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 8
    backoff_seconds: float = 10.0
    backoff_max_seconds: float = 3600.0
    batch_size: int = 200
    concurrency: int = 16
    batch_seconds: float = 60.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        return cls(
            max_attempts=int(config["EVENTS_MAX_ATTEMPTS"]),
            backoff_seconds=float(config["EVENTS_BACKOFF_SECONDS"]),
            backoff_max_seconds=float(config["EVENTS_BACKOFF_MAX_SECONDS"]),
            batch_size=int(config["EVENTS_BATCH_SIZE"]),
            concurrency=int(config["EVENTS_CONCURRENCY"]),
            batch_seconds=float(config["EVENTS_BATCH_SECONDS"]),
        )


def backoff(
    settings: DeliverySettings, attempts: int, rand: Callable[[], float] = random.random
) -> timedelta:
    """The wait after `attempts` failed attempts: exponential, capped, with jitter."""
    base = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * (0.5 + rand()))


def fan_out(session: Session, channels: Mapping[str, Channel], limit: int) -> int:
    """Create the deliveries of up to `limit` events not yet fanned out; how many events."""
    events = list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.fanned_out_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not events:
        return 0
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for name, channel in channels.items():
        wanted = channel.targets(session, events)
        for event in events:
            rows.extend(
                {
                    "event_id": event.id,
                    "channel": name,
                    "target_id": target,
                    "aggregate_type": event.aggregate_type,
                    "aggregate_id": event.aggregate_id,
                    "sequence": event.sequence,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for target in wanted.get(event.id, ())
            )
    if rows:
        session.execute(insert(EventDelivery), rows)
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([event.id for event in events]))
        .values(fanned_out_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(events)


def due_query(now: datetime, limit: int):
    earlier = aliased(EventDelivery)
    unfanned = aliased(OutboxEvent)
    d = EventDelivery
    return (
        select(d)
        .where(
            d.status == DeliveryStatus.PENDING,
            d.next_attempt_at <= now,
            ~exists().where(
                and_(
                    earlier.channel == d.channel,
                    earlier.target_id == d.target_id,
                    earlier.aggregate_type == d.aggregate_type,
                    earlier.aggregate_id == d.aggregate_id,
                    earlier.sequence < d.sequence,
                    earlier.status == DeliveryStatus.PENDING,
                )
            ),
            ~exists().where(
                and_(
                    unfanned.aggregate_type == d.aggregate_type,
                    unfanned.aggregate_id == d.aggregate_id,
                    unfanned.sequence < d.sequence,
                    unfanned.fanned_out_at.is_(None),
                )
            ),
        )
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=d)
    )


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    fanned_out: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed + self.dead

    def summary(self) -> str:
        return (
            f"{self.fanned_out} events fanned out, {self.delivered} delivered, "
            f"{self.failed} to retry, {self.dead} dead"
        )


def record(
    delivery: EventDelivery,
    outcome: Outcome,
    settings: DeliverySettings,
    now: datetime,
    rand: Callable[[], float] = random.random,
) -> None:
    """Write one attempt's outcome on its delivery: delivered, a retry later, or dead."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_latency_ms = (
        round(outcome.latency_ms, 2) if outcome.latency_ms is not None else None
    )
    delivery.last_error = outcome.error[:500] if outcome.error else None
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif not outcome.retry or delivery.attempts >= settings.max_attempts:
        delivery.status = DeliveryStatus.DEAD
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts, rand)


def _send_all(executor: ThreadPoolExecutor, sends: list[Send], seconds: float) -> list[Outcome]:
    """Run the sends side by side; one without an outcome after `seconds` counts as failed.

    The claimed rows stay locked (and the transaction open) while the batch is out, so it
    must end well within the database's idle-in-transaction timeout; a send still running
    then may still reach its receiver, which is why it is retried (at least once)."""
    futures = [executor.submit(send) for send in sends]
    done, _ = wait(futures, timeout=seconds)
    return [
        f.result()
        if f in done
        else Outcome(False, error=f"No answer within the batch's {seconds:g} s.")
        for f in futures
    ]


def _unknown_channel(name: str) -> Send:
    def send() -> Outcome:
        return Outcome(False, error=f"No channel {name} is registered in this process.")

    return send


def deliver_due(
    session: Session,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    executor: ThreadPoolExecutor,
    *,
    now: datetime | None = None,
) -> DeliveryReport:
    """Claim one batch of due deliveries, send them side by side, record the outcomes.

    The caller commits: until then the rows stay locked (PostgreSQL) and pending."""
    report = DeliveryReport()
    claimed = list(session.scalars(due_query(now or utcnow(), settings.batch_size)))
    if not claimed:
        return report
    events = {
        e.id: e
        for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_({d.event_id for d in claimed}))
        )
    }
    by_channel: dict[str, list[int]] = {}
    for index, delivery in enumerate(claimed):
        by_channel.setdefault(delivery.channel, []).append(index)
    sends: list[Send] = [_unknown_channel(d.channel) for d in claimed]
    for name, indexes in by_channel.items():
        channel = channels.get(name)
        if channel is None:
            continue
        prepared = channel.prepare(
            session, [(claimed[i], events[claimed[i].event_id]) for i in indexes]
        )
        for index, send in zip(indexes, prepared, strict=True):
            sends[index] = send
    outcomes = _send_all(executor, sends, settings.batch_seconds)
    recorded_at = now or utcnow()
    for delivery, outcome in zip(claimed, outcomes, strict=True):
        record(delivery, outcome, settings, recorded_at)
        if delivery.status == DeliveryStatus.DELIVERED:
            report.delivered += 1
        elif delivery.status == DeliveryStatus.DEAD:
            report.dead += 1
        else:
            report.failed += 1
    session.flush()
    return report


def pump(
    session: Session,
    channels: Mapping[str, Channel],
    settings: DeliverySettings,
    executor: ThreadPoolExecutor,
    *,
    budget_seconds: float,
    stop: Callable[[], bool] = lambda: False,
) -> DeliveryReport:
    """Fan out and deliver, a committed batch at a time, until nothing is due, the budget
    is spent or `stop()` says so."""
    total = DeliveryReport()
    deadline = time.monotonic() + budget_seconds
    while True:
        total.fanned_out += fan_out(session, channels, settings.batch_size)
        session.commit()
        report = deliver_due(session, channels, settings, executor)
        session.commit()
        total.delivered += report.delivered
        total.failed += report.failed
        total.dead += report.dead
        idle = report.attempted == 0 and not session.scalar(
            select(exists().where(OutboxEvent.fanned_out_at.is_(None)))
        )
        if idle or stop() or time.monotonic() >= deadline:
            return total


def replay(session: Session, delivery: EventDelivery) -> EventDelivery:
    """Send a dead (or delivered) delivery again, with a fresh set of attempts."""
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.delivered_at = None
    session.flush()
    return delivery
