"""One write of the phone, run the same way from its endpoint or from a sync batch.

`run_action` is the single path: it finds the technician's job, checks the version the
phone wrote against, and calls the job service. `sync` applies a batch of queued actions in
the order they were made offline, each in its own savepoint and under its own
Idempotency-Key, and explains every action it did not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import delete, false
from sqlalchemy.orm import Session

from fieldsvc.context import Actor
from fieldsvc.models import Technician
from fieldsvc.problems import InvalidInput, Problem, invalid_input
from mobile_api import idempotency as idem
from mobile_api import jobs
from mobile_api.day import etag
from mobile_api.schemas import (
    LocationSchema,
    PartsSchema,
    PickupActionSchema,
    ReportSchema,
    StatusSchema,
)

PREFIX = "/api/mobile/v1"
SCHEMAS = {"status": StatusSchema, "parts": PartsSchema, "pickup": PickupActionSchema,
           "report": ReportSchema, "location": LocationSchema}
HANDLERS = {"status": jobs.change_status, "parts": jobs.record_parts,
            "pickup": jobs.record_pickup, "report": jobs.record_report}
# What a refusal means for the phone, by problem type.
REASONS = {
    "reassigned": "The job was reassigned meanwhile.",
    "not-found": "No such job of yours.",
    "precondition-failed": "The job changed since the action was made (stale version).",
    "illegal-transition": "The job's status does not allow this change now.",
    "insufficient-stock": "Not enough stock on the van (or at the pick-up warehouse).",
    "nothing-to-pick-up": "The pick-up is done already, or none is planned.",
    "idempotency-in-progress": "The same action is being applied by another request.",
    "validation": "The action is invalid.",
    "conflict": "The action conflicts with the job's current state.",
    "not-released": "The job is not released to you yet.",
    "parts-need-time": "The job is completed: send the parts again with the time they "
                       "were used (`at`).",
}


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    etag: str | None = None
    # False: not remembered under the Idempotency-Key (the same request is judged again).
    final: bool = True


def path_of(kind: str, job_id: int | None) -> str:
    """The endpoint an action stands for (part of its idempotency fingerprint)."""
    if kind == "location":
        return f"{PREFIX}/location"
    if kind == "pickup":
        return f"{PREFIX}/pickups/{job_id}"
    return f"{PREFIX}/jobs/{job_id}/{kind}"


def run_action(session: Session, technician: Technician, actor: Actor, kind: str,
               job_id: int | None, data: dict[str, Any], if_match: int | None) -> Outcome:
    if kind == "location":
        return Outcome(200, jobs.record_location(session, technician, data))
    work_order = jobs.own_job(session, technician.id, job_id)
    jobs.check_version(session, technician, work_order, if_match)
    doc = HANDLERS[kind](session, technician, work_order, data, actor)
    return Outcome(200, doc, etag(doc["version"]))


def as_problem(exc: ValidationError) -> InvalidInput:
    return invalid_input(exc)


def _result(action: dict[str, Any], status: str, http_status: int, body: Any,
            slug: str | None = None) -> dict[str, Any]:
    result = {"id": action.get("id"), "seq": action.get("seq"), "type": action["type"],
              "job_id": action.get("job_id"), "status": status, "http_status": http_status}
    if http_status >= 400 and isinstance(body, dict):
        slug = slug or str(body.get("type", "")).rsplit("/", 1)[-1]
        result["reason"] = slug
        result["detail"] = body.get("detail") or REASONS.get(slug, "Refused.")
    result["response"] = body
    return result


def sync(session: Session, technician: Technician, actor: Actor,
         actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply queued actions in the order they were made; one result per action."""
    if session.get_bind().dialect.name == "sqlite":
        # pysqlite opens a transaction only before a write, and an outermost SAVEPOINT is a
        # transaction of its own on SQLite (its RELEASE commits, and a later write in a new
        # one fails at once if another writer committed since it read). A write first makes
        # the batch one transaction holding the database's write lock, waited for as usual.
        session.execute(delete(idem.table).where(false()))
    ordered = sorted(enumerate(actions), key=lambda pair: (pair[1].get("seq", pair[0]),
                                                           pair[0]))
    results: list[dict[str, Any]] = []
    for _, action in ordered:
        kind, job_id, body = action["type"], action.get("job_id"), action["body"]
        path = path_of(kind, job_id)
        fp = idem.fingerprint("POST", path, idem.canonical(body))
        try:
            key = idem.check_key(action["idempotency_key"], "idempotency_key")
            claim = idem.claim_in_session(session, technician.id, key, "POST", path, fp)
        except Problem as exc:
            results.append(_result(action, "rejected", exc.status, exc.to_dict()))
            continue
        if claim.replay is not None:
            results.append(_result(action, "replayed", claim.replay.status, claim.replay.body))
            continue
        try:
            with session.begin_nested():
                try:
                    data = SCHEMAS[kind]().load(body)
                except ValidationError as exc:
                    raise as_problem(exc) from None
                outcome = run_action(session, technician, actor, kind, job_id, data,
                                     action.get("if_match"))
        except Problem as exc:
            stored = idem.Stored(exc.status, exc.to_dict(), exc.headers.get("ETag"))
            result = _result(action, "rejected", exc.status, stored.body)
            if getattr(exc, "final", True):
                idem.finish_in_session(session, claim.id, stored)
            else:  # refused only for its order: the same action is judged again when resent
                idem.forget_in_session(session, claim.id)
                result["retry"] = True
            results.append(result)
            continue
        idem.finish_in_session(session, claim.id,
                               idem.Stored(outcome.status, outcome.body, outcome.etag))
        results.append(_result(action, "applied", outcome.status, outcome.body))
    return results
