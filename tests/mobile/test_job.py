"""A technician's job through the phone: status, parts, report, uploads, location, access."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from fieldsvc.extensions import db
from fieldsvc.models import StockLevel, StockMovement, WorkOrder, WorkOrderPart
from fieldsvc.models import WorkOrderTransition as T
from mobile_api.models import Attachment, JobReport, LocationPing
from tests.mobile.conftest import today

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64
GIF = b"GIF89a" + b"\x00" * 64


def van_level(ctx, tech, part) -> tuple[int, int]:
    ctx.expire_all()
    level = ctx.scalar(select(StockLevel).where(StockLevel.warehouse_id == tech.van_warehouse_id,
                                                StockLevel.part_id == part.id))
    return level.on_hand, level.reserved


def post(client, url, body, **headers):
    return client.post(url, json=body, headers=headers)


def test_a_full_day_through_the_api(app, tech_client, client, world):
    job, second = world.jobs
    url = f"/api/mobile/v1/jobs/{job.id}"
    r = tech_client.get(url)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    assert tech_client.get(url, headers={"If-None-Match": '"1"'}).status_code == 304

    r = post(tech_client, url + "/status", {"to": "en_route", "lat": 35.70, "lon": 51.40},
             **{"If-Match": '"1"', "Idempotency-Key": "k-en-route"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "en_route" and r.headers["ETag"] == f'"{r.json["version"]}"'

    # The phone tells where it is: the ETA of the job it drives to is recomputed.
    r = post(tech_client, "/api/mobile/v1/location",
             {"at": datetime.now(UTC).isoformat(), "lat": 35.70, "lon": 51.40},
             **{"Idempotency-Key": "k-ping-1"})
    assert r.status_code == 200, r.json
    assert r.json["next_job"]["id"] == job.id and r.json["next_job"]["travel_seconds"] > 0
    eta = client.get(f"/api/v1/work-orders/{job.id}").json["eta_at"]
    assert eta is not None
    assert tech_client.get(url).json["eta"] == r.json["next_job"]["eta"]

    arrived = datetime.now(UTC) - timedelta(minutes=1)
    r = post(tech_client, url + "/status",
             {"to": "on_site", "at": arrived.isoformat(), "lat": 35.75, "lon": 51.41})
    assert r.status_code == 200 and r.json["status"] == "on_site"

    r = post(tech_client, url + "/parts", {"used": [{"part_id": world.part.id, "quantity": 2}]},
             **{"Idempotency-Key": "k-parts"})
    assert r.status_code == 200, r.json
    line = {p["part_id"]: p for p in r.json["parts"]}[world.part.id]
    assert line["issued"] == 2 and line["van_on_hand"] == 3
    r = post(tech_client, url + "/parts",
             {"returned": [{"part_id": world.part.id, "quantity": 1}]})
    assert r.status_code == 200
    assert {p["part_id"]: p for p in r.json["parts"]}[world.part.id]["issued"] == 1

    r = post(tech_client, url + "/report", {
        "checklist": [{"item": "Clean paper path", "done": True, "note": "dusty"}],
        "notes": "Customer asked for a toner quote", "labor_minutes": 40})
    assert r.status_code == 200, r.json
    assert r.json["checklist"][0]["done"] is True
    assert r.json["report"] == {"notes": "Customer asked for a toner quote",
                                "labor_minutes": 40}

    r = tech_client.post(url + "/attachments", data={
        "kind": "signature", "file": (io.BytesIO(PNG), "signature.png")},
        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    attachment = r.json["attachment"]
    assert attachment["content_type"] == "image/png" and attachment["size_bytes"] == len(PNG)
    download = tech_client.get(f"{url}/attachments/{attachment['id']}")
    assert download.status_code == 200 and download.data == PNG
    r = tech_client.post(url + "/attachments", data={
        "kind": "photo", "file": (io.BytesIO(JPEG), "before.jpg")},
        content_type="multipart/form-data")
    assert r.status_code == 201

    r = post(tech_client, url + "/status", {"to": "completed", "resolution": "Roller swapped",
                                           "resolution_code": "ROLLER", "lat": 35.75,
                                           "lon": 51.41})
    assert r.status_code == 200, r.json
    done = r.json
    assert done["status"] == "completed" and done["resolution_code"] == "ROLLER"
    assert done["first_time_fix"] is True
    assert done["times"]["on_site_minutes"] >= 1
    assert done["times"]["travel_minutes"] is not None
    assert len(done["attachments"]) == 2

    with app.app_context():
        s = db.session
        wo = s.get(WorkOrder, job.id)
        assert wo.status.value == "completed" and wo.resolution == "Roller swapped"
        moves = s.execute(select(T.to_status, T.latitude).where(T.work_order_id == job.id)
                          .order_by(T.id)).all()
        assert [m.to_status for m in moves][-3:] == ["en_route", "on_site", "completed"]
        assert moves[-3].latitude == 35.70
        assert van_level(s, world.tech, world.part) == (4, 0)
        kinds = s.scalars(select(StockMovement.kind).where(
            StockMovement.work_order_id == job.id).order_by(StockMovement.id)).all()
        assert [k.value for k in kinds] == ["issue", "return"]
        assert s.scalar(select(JobReport.labor_minutes)) == 40
        assert s.scalar(select(func.count(Attachment.id))) == 2
        assert s.scalar(select(func.count(LocationPing.id))) == 1

    # The day shows the finished job and the next one.
    day = tech_client.get(f"/api/mobile/v1/day?date={today().isoformat()}").json
    assert [j["status"] for j in day["jobs"]] == ["completed", "dispatched"]


def test_cannot_complete_creates_a_follow_up(app, tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/status"
    assert post(tech_client, url, {"to": "en_route"}).status_code == 200
    assert post(tech_client, url, {"to": "on_site"}).status_code == 200
    r = post(tech_client, url, {"to": "cannot_complete"})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = post(tech_client, url, {"to": "cannot_complete", "reason": "Needs a new fuser"})
    assert r.status_code == 200 and r.json["status"] == "cannot_complete"
    with app.app_context():
        follow = db.session.scalar(select(WorkOrder).where(
            WorkOrder.follow_up_of_id == world.jobs[0].id))
        assert follow is not None and follow.status.value == "new"


def test_illegal_or_forbidden_status_changes(tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/status"
    r = post(tech_client, url, {"to": "completed"})
    assert r.status_code == 409 and r.json["current_status"] == "dispatched"
    for body in ({"to": "scheduled"}, {"to": "cancelled", "reason": "x"}, {},
                 {"to": "en_route", "at": "2026-01-01T10:00:00"},
                 {"to": "en_route", "at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()},
                 {"to": "en_route", "lat": 35.7}, {"to": "en_route", "lat": 91, "lon": 0},
                 {"to": "en_route", "technician_id": 3}, {"to": "en_route", "bogus": 1},
                 {"to": "en_route", "first_time_fix": True}, ["en_route"]):
        r = post(tech_client, url, body)
        assert r.status_code == 422, (body, r.json)
    r = tech_client.get(f"/api/mobile/v1/jobs/{world.jobs[0].id}")
    assert r.json["status"] == "dispatched" and r.json["version"] == 1


def test_parts_beyond_van_stock_are_refused_and_change_nothing(app, tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/parts"
    # One roller would fit, the fuser does not: all or nothing.
    r = post(tech_client, url, {"used": [{"part_id": world.part.id, "quantity": 1},
                                         {"part_id": world.scarce.id, "quantity": 2}]},
             **{"Idempotency-Key": "too-many"})
    assert r.status_code == 409, r.json
    assert r.json["available"] == 1 and r.json["requested"] == 2
    with app.app_context():
        s = db.session
        assert van_level(s, world.tech, world.part) == (5, 0)
        assert van_level(s, world.tech, world.scarce) == (1, 0)
        assert s.scalar(select(func.count(StockMovement.id)).where(
            StockMovement.work_order_id == world.jobs[0].id)) == 0
        assert set(s.scalars(select(WorkOrderPart.issued).where(
            WorkOrderPart.work_order_id == world.jobs[0].id))) == {0}
        assert s.get(WorkOrder, world.jobs[0].id).version == 1
    # The refusal is the answer remembered under that key.
    again = post(tech_client, url, {"used": [{"part_id": world.part.id, "quantity": 1},
                                             {"part_id": world.scarce.id, "quantity": 2}]},
                 **{"Idempotency-Key": "too-many"})
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    # Returning what was never issued is refused too.
    r = post(tech_client, url, {"returned": [{"part_id": world.part.id, "quantity": 1}]})
    assert r.status_code == 409


def test_parts_bad_input(tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/parts"
    for body in ({}, {"used": []}, {"used": [{"part_id": world.part.id}]},
                 {"used": [{"part_id": world.part.id, "quantity": 0}]},
                 {"used": [{"part_id": world.part.id, "quantity": "2"}]},
                 {"used": [{"part_id": 2**70, "quantity": 1}]},
                 {"used": [{"part_id": 999999, "quantity": 1}]},
                 {"used": [{"part_id": world.part.id, "quantity": 1, "price": 3}]}):
        r = post(tech_client, url, body)
        assert r.status_code == 422, (body, r.json)


def test_report_bad_input(tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/report"
    for body in ({}, {"notes": "x" * 10_001}, {"labor_minutes": -1}, {"labor_minutes": 5000},
                 {"checklist": [{"done": True}]}, {"notes": "bad\x00byte"}, {"status": "x"}):
        r = post(tech_client, url, body)
        assert r.status_code == 422, (body, r.json)


def _upload(client, job_id, data):
    return client.post(f"/api/mobile/v1/jobs/{job_id}/attachments", data=data,
                       content_type="multipart/form-data")


def test_uploads_too_large_or_of_the_wrong_type(app, tech_client, world):
    job_id = world.jobs[0].id
    app.config["MOBILE_MAX_UPLOAD_BYTES"] = 1000
    try:
        r = _upload(tech_client, job_id, {"kind": "photo",
                                          "file": (io.BytesIO(JPEG + b"x" * 2000), "big.jpg")})
        assert r.status_code == 413, r.json
        assert r.json["max_bytes"] == 1000
    finally:
        app.config["MOBILE_MAX_UPLOAD_BYTES"] = 5 * 1024 * 1024
    # The content decides, not the name or the declared type.
    r = _upload(tech_client, job_id, {"kind": "photo",
                                      "file": (io.BytesIO(GIF), "photo.jpg", "image/jpeg")})
    assert r.status_code == 415 and "image/jpeg" in r.json["allowed"]
    r = _upload(tech_client, job_id, {"kind": "signature", "file": (io.BytesIO(PDF), "s.pdf")})
    assert r.status_code == 415
    r = _upload(tech_client, job_id, {"kind": "photo",
                                      "file": (io.BytesIO(b"<script>"), "x.png")})
    assert r.status_code == 415
    for data in ({"kind": "photo"}, {"file": (io.BytesIO(PNG), "a.png")},
                 {"kind": "selfie", "file": (io.BytesIO(PNG), "a.png")},
                 {"kind": "photo", "file": (io.BytesIO(b""), "empty.png")},
                 {"kind": "photo", "taken_at": "yesterday", "file": (io.BytesIO(PNG), "a.png")},
                 {"kind": "photo", "x": "1", "file": (io.BytesIO(PNG), "a.png")},
                 {"kind": "photo", "file": (io.BytesIO(PNG), "a.png"),
                  "other": (io.BytesIO(PNG), "b.png")}):
        r = _upload(tech_client, job_id, data)
        assert r.status_code == 422, (data, r.json)
    # A PDF is a fine document; control characters in its name are dropped.
    r = _upload(tech_client, job_id, {"kind": "document",
                                      "file": (io.BytesIO(PDF), "d\x00\x1b.pdf")})
    assert r.status_code == 201 and r.json["attachment"]["filename"] == "d.pdf"
    with app.app_context():
        assert db.session.scalar(select(func.count(Attachment.id))) == 1


def test_a_form_part_without_a_name_is_refused_not_a_server_error(app, tech_client, world):
    job_id = world.jobs[0].id
    body = (b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nphoto\r\n"
            b"--B\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--B--\r\n")
    r = tech_client.post(f"/api/mobile/v1/jobs/{job_id}/attachments", data=body,
                         content_type="multipart/form-data; boundary=B")
    assert r.status_code == 422, r.data
    assert r.mimetype == "application/problem+json"
    assert "name" in r.json["errors"]["_schema"][0]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attachment.id))) == 0


def test_another_technicians_job_is_not_found(client_as, tech_client, world):
    theirs = world.other_job.id
    assert tech_client.get(f"/api/mobile/v1/jobs/{theirs}").status_code == 404
    for verb, body in (("status", {"to": "en_route"}), ("report", {"notes": "x"}),
                       ("parts", {"used": [{"part_id": world.part.id, "quantity": 1}]})):
        r = post(tech_client, f"/api/mobile/v1/jobs/{theirs}/{verb}", body)
        assert r.status_code == 404, (verb, r.json)
    assert _upload(tech_client, theirs, {"kind": "photo",
                                         "file": (io.BytesIO(PNG), "a.png")}).status_code == 404
    assert tech_client.get("/api/mobile/v1/jobs/99999999").status_code == 404
    assert tech_client.get(f"/api/mobile/v1/jobs/{2**70}").status_code == 404
    other = client_as("technician", technician_id=world.other.id)
    r = post(other, f"/api/mobile/v1/jobs/{theirs}/status", {"to": "en_route"})
    assert r.status_code == 200


def test_other_roles_are_refused(client_as, client, anon_client, world):
    day = f"/api/mobile/v1/day?date={today().isoformat()}"
    for role in ("dispatcher", "manager", "agent"):
        assert client_as(role).get(day).status_code == 403, role
    # An administrator passes the access gate everywhere, but has no day of their own.
    r = client.get(day)
    assert r.status_code == 404 and "technician" in r.json["detail"]
    assert client_as("dispatcher").post("/api/mobile/v1/location", json={
        "at": datetime.now(UTC).isoformat(), "lat": 1, "lon": 1}).status_code == 403
    assert anon_client.get(day).status_code == 401


def test_location_bad_input_and_old_pings(app, tech_client, world):
    url = "/api/mobile/v1/location"
    now = datetime.now(UTC)
    for body in ({}, {"lat": 1, "lon": 1}, {"at": now.isoformat(), "lat": 91, "lon": 1},
                 {"at": "2026-01-01T10:00:00", "lat": 1, "lon": 1},
                 {"at": (now + timedelta(hours=1)).isoformat(), "lat": 1, "lon": 1},
                 {"at": now.isoformat(), "lat": 1, "lon": 1, "speed": 3}):
        assert post(tech_client, url, body).status_code == 422, body
    assert post(tech_client, url, {"at": now.isoformat(), "lat": 35.7,
                                   "lon": 51.4}).json["next_job"] is not None
    # A ping older than the latest one (replayed from an offline queue) is kept, but does
    # not move the ETA backwards.
    r = post(tech_client, url, {"at": (now - timedelta(minutes=30)).isoformat(), "lat": 30,
                                "lon": 50})
    assert r.status_code == 200 and r.json["next_job"] is None


def test_technician_can_record_that_it_was_not_a_first_time_fix(tech_client, world):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/status"
    for to in ("en_route", "on_site"):
        assert post(tech_client, url, {"to": to}).status_code == 200
    r = post(tech_client, url, {"to": "completed", "resolution_code": "TEMP",
                                "first_time_fix": False})
    assert r.status_code == 200 and r.json["first_time_fix"] is False
