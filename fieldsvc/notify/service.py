"""Queueing customer notifications with the change that causes them, and sending them.

Queueing decides everything that depends on the moment of the change: whether the customer
may be contacted at all (not erased, not opted out, an address for the channel), the
language, the text, and when it may go (after quiet hours in the customer's zone). Sending
only delivers what is due, re-checking consent, and logs each message on the customer's
single screen as an outbound interaction.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from fieldsvc.dates import zone_of
from fieldsvc.models import Customer, Interaction
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import Direction, InteractionChannel
from fieldsvc.notify import channels as channel_mod
from fieldsvc.notify.messages import language_of, render
from fieldsvc.notify.models import FAILED, PENDING, SENT, Notification
from fieldsvc.sql import insert_ignore

log = logging.getLogger(__name__)

# Messages that are worthless once late: they are dropped, not held, in quiet hours.
PERISHABLE = frozenset({"en_route"})
SUPPRESSED = "suppressed"
CANCELLED = "cancelled"


def parse_quiet_hours(spec: str | None) -> tuple[time, time] | None:
    """ "21:00-08:00" → (21:00, 08:00); empty → None. ValueError when malformed."""
    if not spec or not spec.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in spec.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours must look like 21:00-08:00, got {spec!r}") from None
    if start == end:
        raise ValueError(f"quiet hours {spec!r} start and end at the same time")
    return start, end


def quiet_until(now: datetime, zone: ZoneInfo, quiet: tuple[time, time] | None) -> datetime | None:
    """The end of the quiet period `now` falls in (aware UTC), or None outside quiet hours."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(zone)
    clock = local.time()
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # across midnight, e.g. 21:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, zone).astimezone(now.tzinfo)


def reachable(customer: Customer | None) -> bool:
    """Whether this customer may get service messages at all."""
    return (
        customer is not None and customer.erased_at is None and not customer.notifications_opt_out
    )


def will_reach(customer: Customer | None) -> bool:
    """Whether a message queued now would go anywhere: the customer may be contacted and has
    an address on a channel this deployment has configured."""
    return (
        customer is not None
        and reachable(customer)
        and bool(_addresses(customer, current_app.config))
    )


def _addresses(customer: Customer, config) -> list[tuple[str, str]]:
    out = []
    if customer.email and channel_mod.email_channel(config) is not None:
        out.append(("email", customer.email))
    number = customer.mobile or customer.phone
    if number and channel_mod.sms_provider(config) is not None:
        out.append(("sms", number))
    return out


def queue(
    session: Session,
    customer: Customer | None,
    kind: str,
    values: dict[str, Any],
    *,
    dedupe_key: str,
    zone: str | None = None,
    work_order_id: int | None = None,
    ics: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Queue `kind` for `customer` on every channel it can be reached by; ids of new rows.

    Runs inside the caller's transaction. Nothing is queued for an erased or opted-out
    customer, nor on a channel the deployment has not configured. The same `dedupe_key`
    queued twice (a retried job, an event seen twice) adds nothing.
    """
    if not reachable(customer):
        return []
    assert customer is not None
    config = current_app.config
    now = now or utcnow()
    tz = ZoneInfo(zone_of(zone))
    language = language_of(customer.language, config.get("NOTIFY_DEFAULT_LANGUAGE", "fa"))
    subject, body = render(kind, language, name=customer.contact_name or customer.name, **values)
    held = quiet_until(now, tz, parse_quiet_hours(config.get("NOTIFY_QUIET_HOURS")))
    status = PENDING
    if held is not None and kind in PERISHABLE:
        status = SUPPRESSED
    rows = [
        {
            "customer_id": customer.id,
            "work_order_id": work_order_id,
            "kind": kind,
            "channel": channel,
            "language": language,
            "recipient": address,
            "subject": subject,
            "body": body,
            "ics": ics if channel == "email" else None,
            "dedupe_key": dedupe_key,
            "status": status,
            "send_after": held or now,
            "attempts": 0,
            "last_error": "quiet hours" if status == SUPPRESSED else None,
            "created_at": now,
        }
        for channel, address in _addresses(customer, config)
    ]
    if not rows:
        return []
    table = cast(Table, Notification.__table__)
    result = session.execute(
        insert_ignore(
            session.get_bind().dialect.name, table, rows, index_elements=["dedupe_key", "channel"]
        ).returning(table.c.id)
    )
    return [row[0] for row in result]


def _backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour, with ±20 % jitter so retries spread out."""
    base = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def _claim_next(session: Session, now: datetime) -> Notification | None:
    stmt = (
        select(Notification)
        .where(Notification.status == PENDING, Notification.send_after <= now)
        .order_by(Notification.send_after, Notification.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return session.scalars(stmt).first()


def send_due(
    session: Session, *, now: datetime | None = None, limit: int = 200, config=None
) -> dict[str, int]:
    """Send up to `limit` due messages, one transaction each; counts by outcome.

    A message sent but not yet marked (the process died in between) is sent again on the
    next pass: at least once, never lost.
    """
    config = config or current_app.config
    email = channel_mod.email_channel(config)
    sms = channel_mod.sms_provider(config)
    max_attempts = int(config.get("NOTIFY_MAX_ATTEMPTS", 6))
    counts = {SENT: 0, "retry": 0, FAILED: 0, CANCELLED: 0}
    for _ in range(limit):
        moment = now or utcnow()
        note = _claim_next(session, moment)
        if note is None:
            break
        customer = session.get(Customer, note.customer_id)
        to, subject, body = note.recipient, note.subject or "", note.body
        if not reachable(customer) or not to or body is None:
            note.status, note.last_error = CANCELLED, "customer opted out or was erased"
            session.commit()
            counts[CANCELLED] += 1
            continue
        try:
            if note.channel == "email":
                if email is None:
                    raise channel_mod.DeliveryError("no SMTP server configured")
                email.send(to, subject, body, language=note.language, ics=note.ics)
            else:
                if sms is None:
                    raise channel_mod.DeliveryError("no SMS provider configured")
                sms.send(to, body)
        except channel_mod.DeliveryError as exc:
            note.attempts += 1
            note.last_error = str(exc)[:400]
            if note.attempts >= max_attempts:
                note.status = FAILED
                counts[FAILED] += 1
            else:
                note.send_after = moment + _backoff(note.attempts)
                counts["retry"] += 1
            log.warning("notification %s (%s) not sent: %s", note.id, note.channel, exc)
            session.commit()
            continue
        note.attempts += 1
        note.status, note.sent_at, note.last_error = SENT, moment, None
        interaction = Interaction(
            customer_id=note.customer_id,
            channel=InteractionChannel.NOTIFICATION,
            direction=Direction.OUTBOUND,
            work_order_id=note.work_order_id,
            subject=f"{note.channel.upper()}: {note.subject}"[:200],
            notes=note.body,
            calling_number=note.recipient if note.channel == "sms" else None,
            occurred_at=moment,
        )
        session.add(interaction)
        session.flush()
        note.interaction_id = interaction.id
        session.commit()
        counts[SENT] += 1
    return counts
