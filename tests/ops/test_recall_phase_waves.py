"""Recall phases of one wave: several regions sharing a sequence number."""

from fieldsvc.extensions import db
from fieldsvc.recall.models import CampaignPhase

# The capital first, then the provinces: the demo campaign has this shape.
WAVES = [{"sequence": 1, "region": "Tehran", "starts_on": "2025-01-01"},
         {"sequence": 2, "region": "Alborz", "starts_on": "2025-01-15"},
         {"sequence": 2, "region": "Isfahan", "starts_on": "2025-01-15"},
         {"sequence": 2, "region": "Fars", "starts_on": "2025-01-20"}]


def _phases(app):
    with app.app_context():
        rows = db.session.scalars(db.select(CampaignPhase).order_by(CampaignPhase.region))
        return [(p.sequence, p.region, p.starts_on.isoformat()) for p in rows]


def test_create_and_patch_back_a_campaign_with_waves(client, app):
    created = client.post("/api/v1/recall-campaigns", json={
        "code": "RC-WAVES", "title": "Fuel pump relay", "phases": WAVES})
    assert created.status_code == 201, created.json
    assert sorted((p["sequence"], p["region"]) for p in created.json["phases"]) == [
        (1, "Tehran"), (2, "Alborz"), (2, "Fars"), (2, "Isfahan")]
    ident = created.json["id"]

    # Sending the campaign's own phases back unchanged is accepted and changes nothing.
    shown = client.get(f"/api/v1/recall-campaigns/{ident}").json["phases"]
    before = _phases(app)
    patched = client.patch(f"/api/v1/recall-campaigns/{ident}", json={"phases": shown})
    assert patched.status_code == 200, patched.json
    assert _phases(app) == before


def test_a_later_wave_may_not_start_before_any_phase_of_an_earlier_one(client, app):
    created = client.post("/api/v1/recall-campaigns", json={
        "code": "RC-WAVES", "title": "Fuel pump relay", "phases": WAVES})
    ident = created.json["id"]
    before = _phases(app)
    # Isfahan (wave 2) would start before Shiraz (wave 1) does.
    bad = client.patch(f"/api/v1/recall-campaigns/{ident}", json={"phases": [
        {"sequence": 1, "region": "Tehran", "starts_on": "2025-01-01"},
        {"sequence": 1, "region": "Shiraz", "starts_on": "2025-03-01"},
        {"sequence": 2, "region": "Isfahan", "starts_on": "2025-02-01"}]})
    assert bad.status_code == 422
    assert "Isfahan" in bad.json["errors"]["phases"][0]
    assert _phases(app) == before
    # The same region twice stays refused, within a wave as across waves.
    twice = client.patch(f"/api/v1/recall-campaigns/{ident}", json={"phases": [
        {"sequence": 2, "region": "Fars", "starts_on": "2025-02-01"},
        {"sequence": 2, "region": "fars", "starts_on": "2025-02-01"}]})
    assert twice.status_code == 422
    assert _phases(app) == before
