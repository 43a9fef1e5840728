"""What the technician does to a job from the phone, as plain services.

Every function takes the session, the technician, the acting user and the parsed input,
calls the shared domain services (status machine, stock ledger), flushes, and returns the
job's new document. Refusals are `Problem`s; nothing here commits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fieldsvc.api.crud import MAX_ID
from fieldsvc.context import Actor
from fieldsvc.models import Part, Site, Technician, WorkOrder, WorkOrderTransition
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WorkOrderStatus as S
from fieldsvc.problems import Conflict, InvalidInput, NotFound, PreconditionFailed, Problem
from fieldsvc.services import stock
from fieldsvc.services import work_orders as work_order_service
from fieldsvc.services.work_orders import TRANSITIONS
from fieldsvc.storage import Storage
from mobile_api import pickups
from mobile_api.changes import was_assigned
from mobile_api.day import build_jobs, day_bounds, etag, job_rows
from mobile_api.models import Attachment, JobReport, LocationPing
from scheduler.matrix import GeodesicProvider
from scheduler.model import Location

CLOCK_SKEW = timedelta(minutes=5)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Kinds of upload and the file types each accepts, recognised by their first bytes.
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
KIND_TYPES = {
    "signature": frozenset({"image/png", "image/jpeg"}),
    "photo": frozenset({"image/jpeg", "image/png"}),
    "document": frozenset({"application/pdf", "image/jpeg", "image/png"}),
}
# Jobs waiting for the technician, in the order they come.
AHEAD = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE)


# The trip in order. A phone's offline queue may reach the server in any order, so a
# status that lies further along the trip than the job is may arrive before the ones it
# follows.
TRIP = (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED)
# Reason of a transition recorded because a later status (with its phone time) arrived
# first; the transition's own action fills in its time and place when it arrives.
IMPLIED = "Implied by a later status from the phone that arrived first."
LATE = "Sent from the phone; arrived after a later status."


class Reassigned(NotFound):
    slug, title = "reassigned", "Job reassigned"


class NotYet(Conflict):
    """A status ahead of the job's, sent without its time: legal once the earlier ones come.

    Not remembered under its Idempotency-Key (`final` is false): the same action sent
    again is judged again.
    """

    slug, title = "illegal-transition", "Illegal status transition"
    final = False


class PartsNeedTime(Conflict):
    """Parts used on a job that is completed already, sent without the time of use.

    Parts used before the completion are taken with their time (`at`); without it the
    server cannot tell. Not remembered under its Idempotency-Key (`final` is false): the
    phone sends the same action again with `at`, under the same key.
    """

    slug, title = "parts-need-time", "Time of use needed"
    final = False


def own_job(session: Session, technician_id: int, job_id: int) -> WorkOrder:
    """The technician's own job, or 404 (another technician's job is not revealed)."""
    work_order = session.get(WorkOrder, job_id) if 0 < job_id <= MAX_ID else None
    if work_order is None or work_order.technician_id != technician_id:
        if work_order is not None and was_assigned(session, technician_id, job_id):
            raise Reassigned(f"Job {job_id} was reassigned meanwhile; it is no longer yours.",
                             job_id=job_id)
        raise NotFound(f"No job with id {job_id}.")
    return work_order


def job_document(session: Session, technician: Technician, work_order: WorkOrder) -> dict:
    session.flush()
    session.expire(work_order)
    docs = build_jobs(session, technician, job_rows(session, technician.id, [work_order.id]))
    if not docs:  # the change moved the job off this technician (cannot happen today)
        raise NotFound(f"No job with id {work_order.id}.")
    return docs[0]


def check_version(session: Session, technician: Technician, work_order: WorkOrder,
                  if_match: int | None) -> None:
    """412 with the job's current state when the phone wrote against an older version.

    Takes the job's write lock first and compares the version read under it, so that of
    concurrent writers sending the same If-Match one writes and the others get this 412
    (not a failed optimistic update): PostgreSQL locks the row (SELECT ... FOR UPDATE);
    SQLite has one writer at a time, and a no-op UPDATE makes this transaction it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(work_order, with_for_update=True)
    else:
        table = WorkOrder.__table__
        session.execute(update(table).where(table.c.id == work_order.id)
                        .values(version=table.c.version))
        session.refresh(work_order)
    if if_match is not None and if_match != work_order.version:
        raise PreconditionFailed(
            f"Job {work_order.id} changed since you loaded it (now version "
            f"{work_order.version}, you sent {if_match}); here is the current state.",
            current_version=work_order.version,
            job=job_document(session, technician, work_order),
            headers={"ETag": etag(work_order)})


def _touch(work_order: WorkOrder) -> None:
    """Bump the version (ETag) for a change stored beside the work order."""
    work_order.updated_at = utcnow()


def _not_future(at: datetime | None, field: str = "at") -> None:
    if at is not None and at > utcnow() + CLOCK_SKEW:
        raise InvalidInput({field: ["Must not be in the future."]})


# ------------------------------------------------------------------------------ status


def _steps_before(current: S, target: S) -> list[S] | None:
    """The trip's statuses between `current` and `target` (None: target not ahead)."""
    if current not in TRIP:
        return None
    steps: list[S] = []
    status = current
    while target not in TRANSITIONS[status]:
        position = TRIP.index(status) + 1
        if position == len(TRIP):
            return None
        status = TRIP[position]
        steps.append(status)
    return steps or None


def _implied(session: Session, work_order: WorkOrder, target: S,
             at: datetime) -> WorkOrderTransition | None:
    """The implied transition to `target` that an action made at `at` stands for."""
    return session.scalar(
        select(WorkOrderTransition)
        .where(WorkOrderTransition.work_order_id == work_order.id,
               WorkOrderTransition.to_status == target.value,
               WorkOrderTransition.reason == IMPLIED,
               WorkOrderTransition.at >= at)
        .order_by(WorkOrderTransition.id.desc()).limit(1))


def change_status(session: Session, technician: Technician, work_order: WorkOrder,
                  data: dict[str, Any], actor: Actor) -> dict:
    """Move the job through the status machine, with time and place.

    Offline, the phone's statuses may arrive in any order. A status with its phone time
    `at` that lies further along the trip (dispatched, en_route, on_site, completed) is
    applied at once, recording the statuses it skipped as implied at its time; when such
    a skipped status arrives later (made no later than the implied one), it fills in its
    own time and place and changes nothing else. The job never moves back.
    """
    target, at = S(data["to"]), data.get("at")
    if target not in TRANSITIONS[work_order.status]:
        if at is not None and (late := _implied(session, work_order, target, at.astimezone(UTC))):
            _not_future(at)
            late.at = at.astimezone(UTC)
            late.reason = LATE
            late.latitude, late.longitude = data.get("lat"), data.get("lon")
            if target == S.EN_ROUTE or (target == S.ON_SITE and (
                    work_order.started_at is None or work_order.started_at > late.at)):
                work_order.started_at = late.at
            if target == S.ON_SITE:
                work_order.arrived_at = late.at
            _touch(work_order)
            return job_document(session, technician, work_order)
        skipped = _steps_before(work_order.status, target)
        if skipped and at is None:
            current = work_order.status
            raise NotYet(
                f"A {current.value} work order cannot move to {target.value} yet: "
                f"{', '.join(s.value for s in skipped)} first. Send the earlier statuses, or "
                "send this one with the time it happened (`at`).",
                current_status=current.value, requested=target.value,
                allowed=sorted(t.value for t in TRANSITIONS[current]), missing=[
                    s.value for s in skipped])
        if skipped:
            _not_future(at)
            for step in skipped:
                work_order_service.transition(session, work_order, step, actor,
                                              reason=IMPLIED, at=at)
    work_order_service.transition(
        session, work_order, target, actor, reason=data.get("reason"), at=at,
        lat=data.get("lat"), lon=data.get("lon"), resolution=data.get("resolution"),
        resolution_code=data.get("resolution_code"))
    # The technician may know better than the 30-day rule that it was not fixed first time.
    if data.get("first_time_fix") is False:
        work_order.first_time_fix = False
    return job_document(session, technician, work_order)


# ------------------------------------------------------------------------------- parts


def record_parts(session: Session, technician: Technician, work_order: WorkOrder,
                 data: dict[str, Any], actor: Actor) -> dict:
    """Parts used (issued from the van) and unused parts returned to the van, all or none.

    Offline, the parts may reach the server after the job's completion that followed
    them. With its phone time `at` no later than the completion, such an action is applied
    to the completed job (the stock ledger accepts exactly that); one made after the
    completion is refused (409). Without `at` it is refused for now (409
    `parts-need-time`, not remembered under its Idempotency-Key): sent again with `at`, it
    is judged again.
    """
    van = technician.van_warehouse_id
    if van is None:
        raise Conflict("You have no van warehouse; parts cannot be booked from the phone.")
    used, returned = data.get("used") or [], data.get("returned") or []
    at = data.get("at")
    _not_future(at)
    if used and work_order.status in (S.NEW, S.SCHEDULED):
        # Planned but not handed to the technician: the plan may still move it to another
        # van, so nothing is consumed on it before the release (scheduled → dispatched).
        raise Conflict(f"Job {work_order.id} is {work_order.status.value}: it is not released "
                       "to you yet, so no parts can be used on it.", slug="not-released",
                       title="Job not released", current_status=work_order.status.value)
    ids = {line["part_id"] for line in used + returned}
    known = set(session.scalars(select(Part.id).where(Part.id.in_(ids)))) if ids else set()
    errors: dict[str, Any] = {}
    for field, lines in (("used", used), ("returned", returned)):
        bad = {str(i): {"part_id": [f"No part with id {line['part_id']}."]}
               for i, line in enumerate(lines) if line["part_id"] not in known}
        if bad:
            errors[field] = bad
    if errors:
        raise InvalidInput(errors)
    if used and work_order.status == S.COMPLETED and at is None:
        completed = work_order.completed_at and work_order.completed_at.isoformat()
        raise PartsNeedTime(
            f"Job {work_order.id} was completed (at {completed}); parts used on it are taken "
            "only with the time they were used (`at`), no later than the completion. Send "
            "this action again with `at`.",
            current_status=work_order.status.value, completed_at=completed)
    for line in used:
        stock.issue(session, line["part_id"], line["quantity"], van, work_order.id, actor,
                    serial_number=line.get("serial_number"), note="Used on site (mobile)",
                    used_at=at)
    for line in returned:
        stock.return_to_stock(session, line["part_id"], line["quantity"], van, work_order.id,
                              actor, serial_number=line.get("serial_number"),
                              note="Unused, back to the van (mobile)")
    _touch(work_order)
    return job_document(session, technician, work_order)


# ----------------------------------------------------------------------------- pick-up


def record_pickup(session: Session, technician: Technician, work_order: WorkOrder,
                  data: dict[str, Any], actor: Actor) -> dict:
    """The job's parts taken at the pick-up warehouse into the van (stock ledger)."""
    pickups.record_pickup(session, technician, work_order, data, actor)
    _touch(work_order)
    return job_document(session, technician, work_order)


# ------------------------------------------------------------------------------ report


def record_report(session: Session, technician: Technician, work_order: WorkOrder,
                  data: dict[str, Any], actor: Actor) -> dict:
    """Checklist answers, notes and labour minutes."""
    if work_order.status == S.CANCELLED:
        raise Conflict(f"Job {work_order.id} is cancelled; nothing more can be recorded.",
                       current_status=work_order.status.value)
    if "checklist" in data:
        work_order.checklist = [dict(item) for item in data["checklist"] or []]
    if "notes" in data or "labor_minutes" in data:
        report = session.scalar(select(JobReport).where(
            JobReport.work_order_id == work_order.id))
        if report is None:
            report = JobReport(work_order_id=work_order.id)
            session.add(report)
        for key in ("notes", "labor_minutes"):
            if key in data:
                setattr(report, key, data[key])
        report.updated_by_id = actor.id
        report.updated_at = utcnow()
    _touch(work_order)
    return job_document(session, technician, work_order)


# ------------------------------------------------------------------------- attachments


def sniff(data: bytes) -> str | None:
    for content_type, prefixes in MAGIC.items():
        if any(data.startswith(p) for p in prefixes):
            return content_type
    return None


def add_attachment(session: Session, technician: Technician, work_order: WorkOrder,
                   data: dict[str, Any], content: bytes, filename: str | None,
                   storage: Storage, max_bytes: int, actor: Actor) -> dict:
    """Store a signature, photo or document for the job."""
    if not content:
        raise InvalidInput({"file": ["The file is empty."]})
    if len(content) > max_bytes:
        raise Problem(f"The file has {len(content)} bytes; at most {max_bytes} are accepted.",
                      status=413, title="Payload too large", slug="too-large",
                      max_bytes=max_bytes)
    kind = data["kind"]
    content_type = sniff(content)
    if content_type is None or content_type not in KIND_TYPES[kind]:
        allowed = ", ".join(sorted(KIND_TYPES[kind]))
        raise Problem(f"A {kind} must be one of: {allowed} (recognised by its content).",
                      status=415, title="Unsupported media type", slug="unsupported-type",
                      allowed=sorted(KIND_TYPES[kind]))
    if work_order.status == S.CANCELLED:
        raise Conflict(f"Job {work_order.id} is cancelled; nothing more can be recorded.",
                       current_status=work_order.status.value)
    _not_future(data.get("taken_at"), "taken_at")
    key = storage.put(content)
    attachment = Attachment(
        work_order_id=work_order.id, technician_id=technician.id, kind=kind,
        content_type=content_type, filename=_CONTROL.sub("", filename or "")[:200] or None,
        size_bytes=len(content), sha256=key, storage_key=key, note=data.get("note"),
        taken_at=data.get("taken_at"))
    session.add(attachment)
    _touch(work_order)
    doc = job_document(session, technician, work_order)
    return {"attachment": {"id": attachment.id, "kind": kind, "content_type": content_type,
                           "size_bytes": len(content), "sha256": key,
                           "filename": attachment.filename}, "job": doc}


def get_attachment(session: Session, technician_id: int, job_id: int,
                   attachment_id: int) -> Attachment:
    own_job(session, technician_id, job_id)
    attachment = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID \
        else None
    if attachment is None or attachment.work_order_id != job_id:
        raise NotFound(f"No attachment with id {attachment_id} on job {job_id}.")
    return attachment


# ---------------------------------------------------------------------------- location


def record_location(session: Session, technician: Technician, data: dict[str, Any],
                    provider: GeodesicProvider | None = None) -> dict:
    """Store a ping; recompute the ETA of the technician's next job from it."""
    at = data["at"].astimezone(UTC)
    _not_future(at)
    ping = LocationPing(technician_id=technician.id, at=at, latitude=data["lat"],
                        longitude=data["lon"], accuracy_m=data.get("accuracy_m"))
    newer = session.scalar(select(LocationPing.id).where(
        LocationPing.technician_id == technician.id, LocationPing.at > at).limit(1))
    session.add(ping)
    session.flush()
    result: dict[str, Any] = {"ping": {"id": ping.id, "at": at.isoformat(),
                                       "lat": ping.latitude, "lon": ping.longitude},
                              "next_job": None}
    if newer is not None:
        # An old ping replayed from an offline queue says nothing about the ETA now.
        return result
    next_job = update_eta(session, technician, at, data["lat"], data["lon"],
                          provider or GeodesicProvider())
    if next_job is not None:
        result["next_job"] = next_job
    return result


def update_eta(session: Session, technician: Technician, at: datetime, lat: float, lon: float,
               provider: GeodesicProvider) -> dict | None:
    """Write the ETA of the next job to its work order (what the dispatcher sees)."""
    start, end = day_bounds(technician, at.astimezone(ZoneInfo(technician.timezone)).date())
    rows = session.execute(
        select(WorkOrder.id, WorkOrder.status, WorkOrder.arrived_at,
               WorkOrder.estimated_minutes, Site.latitude, Site.longitude)
        .join(Site, Site.id == WorkOrder.site_id)
        .where(WorkOrder.technician_id == technician.id,
               WorkOrder.status.in_(AHEAD + (S.ON_SITE,)),
               WorkOrder.scheduled_start_at >= start, WorkOrder.scheduled_start_at < end)
        .order_by(WorkOrder.scheduled_start_at, WorkOrder.id)).all()
    en_route = [r for r in rows if r.status == S.EN_ROUTE]
    waiting = [r for r in rows if r.status in (S.SCHEDULED, S.DISPATCHED)]
    on_site = [r for r in rows if r.status == S.ON_SITE]
    target = en_route[0] if en_route else waiting[0] if waiting else None
    if target is None or target.latitude is None or target.longitude is None:
        return None
    leave = at
    if not en_route and on_site and on_site[0].arrived_at is not None:
        # Still working: leaves when the current job's estimate is done (or now, if over).
        leave = max(at, on_site[0].arrived_at + timedelta(minutes=on_site[0].estimated_minutes))
    seconds, metres = provider.pair(Location(lat, lon), Location(target.latitude,
                                                                 target.longitude))
    eta = leave + timedelta(seconds=seconds)
    # A plain UPDATE: the ETA is the dispatcher's information and must not invalidate
    # the phone's version (ETag) of the job every few seconds.
    session.execute(update(WorkOrder.__table__).where(WorkOrder.__table__.c.id == target.id)
                    .values(eta_at=eta))
    for obj in session.identity_map.values():
        if isinstance(obj, WorkOrder) and obj.id == target.id:
            session.expire(obj, ["eta_at"])
    return {"id": target.id, "eta": eta.isoformat(), "travel_seconds": seconds,
            "distance_m": metres}
