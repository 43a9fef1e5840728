"""The retention job purges what has expired, kind by kind, and keeps the rest."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fieldsvc.config import retention_days
from fieldsvc.extensions import db
from fieldsvc.models import AuthToken, OptimizationRun
from fieldsvc.models.audit import AuditEntry
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import RunStatus
from mobile_api.models import IdempotencyKey, JobChange, LocationPing
from scheduler import jobs
from tests.conftest import make_user


def _count(app, model, *where):
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def _age(app, make, days):
    """One row of every kind, `days` old."""
    then = utcnow() - timedelta(days=days)
    tech = make.technician()
    user = make_user(app, "dispatcher")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(AuthToken.__table__.insert().values(
            user_id=user, token_hash=f"{days:064d}", kind="api", created_at=then,
            expires_at=then + timedelta(hours=1)))
        conn.execute(LocationPing.__table__.insert().values(
            technician_id=tech.id, at=then, latitude=35.7, longitude=51.4, received_at=then))
        conn.execute(JobChange.__table__.insert().values(
            technician_id=tech.id, work_order_id=1, kind="updated", created_at=then))
        conn.execute(IdempotencyKey.__table__.insert().values(
            technician_id=tech.id, key=f"k{days}", method="POST", path="/x",
            fingerprint="f", state="done", created_at=then))
        conn.execute(AuditEntry.__table__.insert().values(
            at=then, actor_name="t", source="test", action="update", entity_type="x",
            entity_id="1", changes={}))
        conn.execute(OptimizationRun.__table__.insert().values(
            plan_date=then.date(), horizon_days=1, territory=f"t{days}", parameters={},
            status=RunStatus.FINISHED, progress=1.0, message="finished",
            input_snapshot={"jobs": []}, result={"plan": {}}, assigned_count=3,
            started_at=then, finished_at=then, created_at=then, updated_at=then))


def test_expired_rows_go_recent_ones_stay(app, make):
    app.config["RETENTION_DAYS"] = retention_days({"FIELDSVC_RETENTION_AUDIT_DAYS": "365"})
    _age(app, make, 1000)  # past every retention
    _age(app, make, 3)  # within every retention
    audit_before = _count(app, AuditEntry)
    summary = jobs.retention(app)
    assert "1 tokens" in summary and "1 pings" in summary and "1 changes" in summary
    assert "1 idempotency" in summary and "1 run_payloads" in summary
    for model in (AuthToken, LocationPing, JobChange, IdempotencyKey):
        assert _count(app, model) == 1, model
    assert _count(app, AuditEntry) == audit_before - 1
    # A run keeps its row and figures; only the old one's payload went.
    with app.app_context():
        runs = {r.territory: r for r in db.session.scalars(select(OptimizationRun))}
        assert runs["t1000"].result is None and runs["t1000"].input_snapshot is None
        assert runs["t1000"].assigned_count == 3
        assert runs["t3"].result == {"plan": {}}
        db.session.remove()
    assert "purged nothing" in jobs.retention(app)  # nothing more to do


def test_retention_is_configured_per_kind():
    days = retention_days({"FIELDSVC_RETENTION_PINGS_DAYS": "0",
                           "FIELDSVC_RETENTION_IDEMPOTENCY_DAYS": "1"})
    assert days["pings"] == 0  # kept forever
    assert days["idempotency"] == 7  # a phone may retry for a week
    assert days["audit"] == 730
    with pytest.raises(ValueError, match="FIELDSVC_RETENTION_AUDIT_DAYS"):
        retention_days({"FIELDSVC_RETENTION_AUDIT_DAYS": "-1"})


def test_a_kind_kept_forever_is_left_alone(app, make):
    app.config["RETENTION_DAYS"] = retention_days({"FIELDSVC_RETENTION_PINGS_DAYS": "0"})
    _age(app, make, 1000)
    jobs.retention(app)
    assert _count(app, LocationPing) == 1 and _count(app, JobChange) == 0
