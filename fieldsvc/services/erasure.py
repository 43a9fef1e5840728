"""Erasure on request (SPEC §7): remove a customer's personal data, keep service statistics.

What goes: the customer's name (→ "Erased customer #ID"), contact, e-mail, phones and their
lookup keys, notes; each site's name, street address, notes and access hours, with its
coordinates rounded to 2 decimals (about 1 km) so territory statistics still work; the
subject, notes and calling number of every interaction; the subject, description and
calling number of every ticket; notes of recall appointments. What stays: city, region and
territory, assets, work orders, tickets with their category, topic and product, RMAs.

The audit log keeps one "erase" entry that says it happened, and earlier entries about the
customer, its sites, interactions and tickets have their personal values replaced by
"[erased]". The erasing writes themselves are not audited field by field (that would copy
the very data being removed into the log).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, event, select, update
from sqlalchemy.orm import Session, scoped_session

from fieldsvc.context import Actor
from fieldsvc.models import AuditEntry, Customer, Interaction, Site, Ticket, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.notify.models import PENDING, Notification
from fieldsvc.problems import NotFound
from fieldsvc.recall.models import RecallAppointment
from fieldsvc.selfservice.links import revoke_customer_links
from fieldsvc.storage import Storage
from mobile_api.models import Attachment, JobReport

ERASED = "[erased]"
COORDINATE_DECIMALS = 2  # 0.01° of latitude ≈ 1.1 km

# Personal fields per audited table: scrubbed from the audit log.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "customer": frozenset({"name", "contact_name", "email", "phone", "phone_key", "mobile",
                           "mobile_key", "notes"}),
    "site": frozenset({"name", "address", "notes", "access_hours", "latitude", "longitude"}),
    "interaction": frozenset({"subject", "notes", "calling_number"}),
    "ticket": frozenset({"subject", "description", "calling_number"}),
    "recall_appointment": frozenset({"notes"}),
}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def _scrub_audit(session: Session, entity_type: str, ids: list[int]) -> int:
    personal = PERSONAL_FIELDS[entity_type]
    count = 0
    keys = [str(i) for i in ids]
    for start in range(0, len(keys), 500):
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == entity_type,
                                     AuditEntry.entity_id.in_(keys[start:start + 500]))
        ).all()
        for entry in entries:
            changes = entry.changes
            if not isinstance(changes, dict) or not personal & set(changes):
                continue
            scrubbed: dict[str, Any] = {}
            for field, value in changes.items():
                if field in personal:
                    value = ([None if v is None else ERASED for v in value]
                             if isinstance(value, list) else ERASED)
                scrubbed[field] = value
            entry.changes = scrubbed
            count += 1
    return count


def erase_customer(session: Session, customer_id: int, actor: Actor,
                   storage: Storage | None = None) -> dict[str, Any]:
    """Anonymize customer `customer_id` and everything personal hanging off it; idempotent.

    With `storage`, the files of erased attachments are deleted once the transaction
    commits (never before: a rolled-back erasure must not lose them).
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer with id {customer_id}.")
    first_time = customer.erased_at is None
    sites = session.scalars(select(Site).where(Site.customer_id == customer_id)).all()
    interactions = session.scalars(
        select(Interaction).where(Interaction.customer_id == customer_id)).all()
    tickets = session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)).all()
    appointments = session.scalars(
        select(RecallAppointment).where(RecallAppointment.customer_id == customer_id)).all()
    # Signatures and photos taken at the customer's sites are personal data: the rows go,
    # and their files once nothing else refers to the same (content-addressed) file.
    order_ids = select(WorkOrder.id).where(WorkOrder.customer_id == customer_id)
    attachments = session.scalars(
        select(Attachment).where(Attachment.work_order_id.in_(order_ids))).all()
    reports = session.scalars(
        select(JobReport).where(JobReport.work_order_id.in_(order_ids))).all()

    # Flush pending work first so it is audited normally, then write the erasure unaudited.
    session.flush()
    previous = session.info.get("audit_disabled")
    session.info["audit_disabled"] = True
    try:
        customer.name = f"Erased customer #{customer.id}"
        for attr in ("contact_name", "email", "phone", "phone_key", "mobile", "mobile_key",
                     "notes"):
            setattr(customer, attr, None)
        customer.consent_marketing = False
        customer.consent_at = None
        if first_time:
            customer.erased_at = utcnow()
        for site in sites:
            site.name = f"Site #{site.id}"
            site.address = None
            site.notes = None
            site.access_hours = None
            site.latitude = _round(site.latitude)
            site.longitude = _round(site.longitude)
        for interaction in interactions:
            interaction.subject = None
            interaction.notes = None
            interaction.calling_number = None
        # Messages sent or waiting: who they went to and what they said is personal data;
        # nothing more goes out.
        session.execute(
            update(Notification).where(Notification.customer_id == customer.id).values(
                recipient=None, subject=None, body=None, ics=None,
                status=case((Notification.status == PENDING, "cancelled"),
                            else_=Notification.status)))
        for ticket in tickets:
            ticket.subject = ERASED
            ticket.description = None
            ticket.calling_number = None
        for appointment in appointments:
            appointment.notes = None
        for report in reports:
            report.notes = None
        keys = {a.storage_key for a in attachments}
        for attachment in attachments:
            session.delete(attachment)
        session.flush()
        still_used = set(session.scalars(
            select(Attachment.storage_key).where(Attachment.storage_key.in_(keys)))) if keys \
            else set()
    finally:
        if previous is None:
            session.info.pop("audit_disabled", None)
        else:
            session.info["audit_disabled"] = previous

    # Links handed to the customer (visit tracking, recall self-booking) stop opening.
    revoke_customer_links(session, customer.id)
    scrubbed = _scrub_audit(session, "customer", [customer.id])
    scrubbed += _scrub_audit(session, "site", [s.id for s in sites])
    scrubbed += _scrub_audit(session, "interaction", [i.id for i in interactions])
    scrubbed += _scrub_audit(session, "ticket", [t.id for t in tickets])
    scrubbed += _scrub_audit(session, "recall_appointment", [a.id for a in appointments])
    summary = {"sites": len(sites), "tickets": len(tickets),
               "interactions": len(interactions), "attachments": len(attachments),
               "audit_entries_scrubbed": scrubbed}
    if first_time:
        session.add(AuditEntry(
            actor_id=actor.id, actor_name=actor.name[:120], source=actor.source,
            action="erase", entity_type="customer", entity_id=str(customer.id),
            changes={"erased": [None, True], **{k: [None, v] for k, v in summary.items()}},
        ))
    session.flush()
    doomed = sorted(keys - still_used)
    if storage is not None and doomed:
        target = session() if isinstance(session, scoped_session) else session
        event.listen(target, "after_commit", lambda _s: delete_files(storage, doomed),
                     once=True)
    return {"customer_id": customer.id, "erased_at": customer.erased_at,
            "first_time": first_time, **summary,
            "files_deleted": len(doomed)}


def delete_files(storage: Storage, keys: list[str]) -> None:
    """Remove erased attachments' files; called after the erasure has committed."""
    for key in keys:
        storage.delete(key)
