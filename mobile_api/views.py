"""Route table of /api/mobile/v1: the technician's phone.

Views parse, call `mobile_api.sync.run_action` / the day loader, and answer. Every write
accepts an `Idempotency-Key`; job writes accept `If-Match` (the job's `version`, also sent
as `ETag`). Only technicians get in, and only to their own jobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, current_app, json, request, send_file
from flask_smorest import Blueprint
from marshmallow import RAISE, ValidationError

import mobile_api.models  # noqa: F401 - registers the mobile tables
from fieldsvc.context import current_actor
from fieldsvc.extensions import db
from fieldsvc.models import Technician
from fieldsvc.problems import PROBLEM_MIMETYPE, Forbidden, InvalidInput, NotFound, Problem
from fieldsvc.storage import storage_for
from mobile_api import changes, day_cache, jobs
from mobile_api import idempotency as idem
from mobile_api.day import build_jobs, etag, job_rows, latest_cursor
from mobile_api.responses import (
    AttachmentCreatedOut,
    ChangesOut,
    DayOut,
    JobOut,
    LocationOut,
    SyncOut,
)
from mobile_api.schemas import (
    AttachmentFormSchema,
    ChangesArgs,
    DayArgs,
    LocationSchema,
    PartsSchema,
    PickupActionSchema,
    ReportSchema,
    StatusSchema,
    SyncSchema,
)
from mobile_api.sync import Outcome, as_problem, run_action, sync

_KEY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": False,
               "schema": {"type": "string", "maxLength": 200},
               "description": "One per action; a replay returns the first answer."}
_MATCH_HEADER = {"in": "header", "name": "If-Match", "required": False,
                 "schema": {"type": "string"},
                 "description": "The job's ETag (version); stale → 412 with the current job."}
_ETAG = {"ETag": {"description": "The version of what was answered.",
                  "schema": {"type": "string"}}}
_REPLAYED = {"Idempotent-Replayed": {
    "description": "true when this is the stored answer of an earlier request with the "
                   "same Idempotency-Key.", "schema": {"type": "string"}}}
WRITE_DOC = {"parameters": [_KEY_HEADER]}
JOB_WRITE_DOC = {"parameters": [_KEY_HEADER, _MATCH_HEADER]}
# Documentation-only responses (no schema to dump); flask-smorest wants a content_type key.
NOT_MODIFIED = {"description": "Not modified: the ETag sent in If-None-Match is current.",
                "headers": _ETAG, "content_type": None}

blp = Blueprint("mobile", __name__, url_prefix="/api/mobile/v1",
                description="The technician's phone app: the day, the job, offline sync. "
                "Writes accept Idempotency-Key; job writes accept If-Match (the job version).")


@blp.record_once
def _setup(state) -> None:
    changes.install()
    day_cache.init_app(state.app)


@blp.before_request
def _technicians_only() -> None:
    # Other roles are refused (403) by the access gate already; an administrator passes
    # the gate everywhere but has no technician, hence no day and no jobs here.
    actor = current_actor()
    if actor.role == "admin" and actor.technician_id is None:
        raise NotFound("No technician is linked to this account; the mobile API serves a "
                       "technician's own day and jobs.")
    if actor.role != "technician" or actor.technician_id is None:
        raise Forbidden("The mobile API is for technicians; sign in with a technician account "
                        "linked to a technician record.")


def _technician() -> Technician:
    technician = db.session.get(Technician, current_actor().technician_id)
    if technician is None or not technician.active:
        raise Forbidden("Your technician record is inactive.")
    return technician


def _respond(status: int, body, tag: str | None = None, replayed: bool = False) -> Response:
    response = Response(json.dumps(body), status=status,
                        mimetype=PROBLEM_MIMETYPE if status >= 400 else "application/json")
    if tag:
        response.headers["ETag"] = tag
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput({"If-Match": ["Send the job's ETag, e.g. \"3\"."]})
    return int(value)


def _idempotent(technician: Technician, payload: bytes, run: Callable[[], Outcome]):
    """Run a write once per Idempotency-Key; replay its first answer afterwards."""
    key = request.headers.get(idem.HEADER)
    if key is None:
        outcome = run()
        return _respond(outcome.status, outcome.body, outcome.etag)
    idem.check_key(key)
    fp = idem.fingerprint(request.method, request.path, payload)
    claim = idem.claim(db.engine, technician.id, key, request.method, request.path, fp)
    if claim.replay is not None:
        stored = claim.replay
        return _respond(stored.status, stored.body, stored.etag, replayed=True)
    try:
        try:
            outcome = run()
        except ValidationError as exc:
            raise as_problem(exc) from None
    except Problem as exc:
        db.session.rollback()
        if getattr(exc, "final", True):
            idem.finish(db.engine, claim.id,
                        idem.Stored(exc.status, exc.to_dict(), exc.headers.get("ETag")))
        else:  # refused only for the order it came in: the same request may succeed later
            idem.release(db.engine, claim.id)
        raise
    except BaseException:
        db.session.rollback()
        idem.release(db.engine, claim.id)
        raise
    if outcome.final:
        idem.finish_in_session(db.session, claim.id,
                               idem.Stored(outcome.status, outcome.body, outcome.etag))
    else:
        idem.forget_in_session(db.session, claim.id)
    return _respond(outcome.status, outcome.body, outcome.etag)


def _job_write(kind: str, job_id: int | None, data: dict):
    technician = _technician()
    if_match = _if_match()
    payload = idem.canonical(request.get_json(silent=True))
    return _idempotent(technician, payload, lambda: run_action(
        db.session, technician, current_actor(), kind, job_id, data, if_match))


# ------------------------------------------------------------------------------- reads


_NONE_MATCH_HEADER = {"in": "header", "name": "If-None-Match", "required": False,
                      "schema": {"type": "string"},
                      "description": "The ETag of the day the phone holds: 304 if unchanged."}


@blp.route("/day")
@blp.arguments(DayArgs(), location="query", as_kwargs=True, unknown=RAISE)
@blp.doc(parameters=[_NONE_MATCH_HEADER])
@blp.alt_response(200, schema=DayOut, headers=_ETAG, success=True)
@blp.alt_response(304, response=NOT_MODIFIED, success=True)
def day(date):
    """The technician's day: the route with ETAs and all each job needs, in one answer.

    Sent with an `ETag`; with `If-None-Match` of the current one the answer is 304."""
    return day_cache.day_response(db.session, current_actor().technician_id, date,
                                  request.headers.get("If-None-Match"))


@blp.route("/jobs/<int:job_id>")
@blp.doc(parameters=[{**_NONE_MATCH_HEADER,
                      "description": "The job's ETag the phone holds: 304 if unchanged."}])
@blp.alt_response(200, schema=JobOut, headers=_ETAG, success=True)
@blp.alt_response(304, response=NOT_MODIFIED, success=True)
def job(job_id: int):
    """One job of yours, with its ETag (the version to send back in If-Match)."""
    technician = _technician()
    work_order = jobs.own_job(db.session, technician.id, job_id)
    tag = etag(work_order)
    if request.headers.get("If-None-Match") in (tag, "W/" + tag):
        response = Response(status=304)
        response.headers["ETag"] = tag
        return response
    doc = build_jobs(db.session, technician, job_rows(db.session, technician.id, [job_id]))[0]
    return _respond(200, doc, tag)


@blp.route("/changes")
@blp.arguments(ChangesArgs(), location="query", as_kwargs=True, unknown=RAISE)
@blp.alt_response(200, schema=ChangesOut, success=True)
def changes_feed(limit: int, cursor: str | None = None):
    """Jobs assigned, unassigned or changed for you since `cursor`."""
    technician = _technician()
    return _respond(200, changes.changes_since(db.session, technician,
                                               changes.parse_cursor(cursor), limit))


@blp.route("/jobs/<int:job_id>/attachments/<int:attachment_id>")
@blp.alt_response(200, response={
    "description": "The file, with the content type it was stored with.",
    "content": {"application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}},
                "image/*": {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "content_type": None},
    success=True)
def attachment_file(job_id: int, attachment_id: int):
    """Download an attachment of your job."""
    technician = _technician()
    attachment = jobs.get_attachment(db.session, technician.id, job_id, attachment_id)
    storage = storage_for(current_app)
    return send_file(storage.open(attachment.storage_key), mimetype=attachment.content_type,
                     download_name=attachment.filename or f"attachment-{attachment.id}")


# ------------------------------------------------------------------------------ writes


@blp.route("/jobs/<int:job_id>/status", methods=["POST"])
@blp.doc(**JOB_WRITE_DOC)
@blp.arguments(StatusSchema)
@blp.alt_response(200, schema=JobOut, headers={**_ETAG, **_REPLAYED}, success=True)
def job_status(data, job_id: int):
    """Move your job: en_route, on_site, completed, on_hold or cannot_complete."""
    return _job_write("status", job_id, data)


@blp.route("/jobs/<int:job_id>/parts", methods=["POST"])
@blp.doc(**JOB_WRITE_DOC)
@blp.arguments(PartsSchema)
@blp.alt_response(200, schema=JobOut, headers={**_ETAG, **_REPLAYED}, success=True)
def job_parts(data, job_id: int):
    """Parts used from your van, and unused parts returned to it (all or nothing)."""
    return _job_write("parts", job_id, data)


@blp.route("/pickups/<int:pickup_id>", methods=["POST"])
@blp.doc(**JOB_WRITE_DOC)
@blp.arguments(PickupActionSchema)
@blp.alt_response(200, schema=JobOut, headers={**_ETAG, **_REPLAYED}, success=True)
def pickup(data, pickup_id: int):
    """Record the pick-up before a job: its parts move from the warehouse to your van.

    A pick-up is named by the job it serves (the `id` of the day's pick-up stop); the
    job's ETag is its version. With an empty body everything the plan's pick-up still
    lists is taken; a second pick-up of the same parts is 409 `nothing-to-pick-up`."""
    return _job_write("pickup", pickup_id, data)


@blp.route("/jobs/<int:job_id>/report", methods=["POST"])
@blp.doc(**JOB_WRITE_DOC)
@blp.arguments(ReportSchema)
@blp.alt_response(200, schema=JobOut, headers={**_ETAG, **_REPLAYED}, success=True)
def job_report(data, job_id: int):
    """Checklist answers, notes and labour minutes."""
    return _job_write("report", job_id, data)


@blp.route("/location", methods=["POST"])
@blp.doc(**WRITE_DOC)
@blp.arguments(LocationSchema)
@blp.alt_response(200, schema=LocationOut, headers=_REPLAYED, success=True)
def location(data):
    """Where you are; the next job's ETA is recomputed for the dispatcher."""
    return _job_write("location", None, data)


@blp.route("/jobs/<int:job_id>/attachments", methods=["POST"])
@blp.doc(**JOB_WRITE_DOC, requestBody={"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["kind", "file"],
        "properties": {
            "kind": {"type": "string", "enum": ["signature", "photo", "document"]},
            "file": {"type": "string", "format": "binary"},
            "note": {"type": "string", "maxLength": 1000},
            "taken_at": {"type": "string", "format": "date-time"}}}}}})
@blp.alt_response(201, schema=AttachmentCreatedOut, headers={**_ETAG, **_REPLAYED},
                  success=True)
def job_attachment(job_id: int):
    """Upload a signature, photo or document (multipart: kind, file, note, taken_at)."""
    technician = _technician()
    if_match = _if_match()
    upload = request.files.get("file")
    # A part without a name (no name= in its Content-Disposition) is keyed None by the
    # form parser; it would otherwise reach the error message as a None key.
    nameless = None in request.form or None in request.files
    extra_files = sorted(name for name in request.files if name not in ("file", None))
    form = {k: v for k, v in request.form.items() if k is not None}
    errors = {}
    if nameless:
        errors["_schema"] = ["Every part needs a name: Content-Disposition: form-data; "
                             "name=\"...\"."]
    if upload is None:
        errors["file"] = ["Required: the file, as multipart/form-data field 'file'."]
    for name in extra_files:
        errors[name] = ["Unknown field."]
    try:
        data = AttachmentFormSchema().load(form)
    except ValidationError as exc:
        errors.update(as_problem(exc).extensions["errors"])
    if errors:
        raise InvalidInput(errors)
    max_bytes = current_app.config["MOBILE_MAX_UPLOAD_BYTES"]
    content = upload.stream.read(max_bytes + 1)
    payload = idem.canonical({"form": form, "filename": upload.filename,
                              "sha256": hashlib.sha256(content).hexdigest()})

    def run() -> Outcome:
        work_order = jobs.own_job(db.session, technician.id, job_id)
        jobs.check_version(db.session, technician, work_order, if_match)
        body = jobs.add_attachment(db.session, technician, work_order, data, content,
                                   upload.filename, storage_for(current_app), max_bytes,
                                   current_actor())
        return Outcome(201, body, etag(body["job"]["version"]))

    return _idempotent(technician, payload, run)


@blp.route("/sync", methods=["POST"])
@blp.doc(**WRITE_DOC)
@blp.arguments(SyncSchema)
@blp.alt_response(200, schema=SyncOut, headers=_REPLAYED, success=True)
def sync_batch(data):
    """Apply the offline queue in order; one result per action (applied/replayed/rejected)."""
    technician = _technician()

    def run() -> Outcome:
        results = sync(db.session, technician, current_actor(), data["actions"])
        # A batch with an action refused only for its order is not replayed as a whole:
        # sent again, its applied actions replay under their own keys and the rest retry.
        return Outcome(200, {"results": results,
                             "cursor": str(latest_cursor(db.session, technician.id))},
                       final=not any(r.get("retry") for r in results))

    return _idempotent(technician, idem.canonical(request.get_json(silent=True)), run)


blueprints = [blp]
