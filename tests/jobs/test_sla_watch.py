"""SLA watch: flags at-risk and breached work orders, escalates each breach exactly once."""

import threading
from datetime import timedelta

from sqlalchemy import select

from fieldsvc.context import Actor
from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry, Interaction, WorkOrder
from fieldsvc.models.base import utcnow
from fieldsvc.models.enums import WorkOrderStatus
from fieldsvc.services.sla_watch import watch

ACTOR = Actor(id=None, name="test", source="job")


def _late(make, now, response_minutes=-10, resolution_minutes=30, **kw):
    """A work order whose response is due `response_minutes` from now (negative: missed)."""
    kw.setdefault("priority", 3)
    return make.work_order(response_due_at=now + timedelta(minutes=response_minutes),
                           resolution_due_at=now + timedelta(minutes=resolution_minutes),
                           created_at=now - timedelta(hours=5), **kw)


def _notifications(session, wo_id=None):
    stmt = select(Interaction).order_by(Interaction.id)
    if wo_id is not None:
        stmt = stmt.where(Interaction.work_order_id == wo_id)
    return session.scalars(stmt).all()


def test_a_breach_is_flagged_and_escalated_once(make):
    now = utcnow()
    session = make.session
    wo = _late(make, now)
    due = (wo.response_due_at, wo.resolution_due_at)
    report = watch(session, ACTOR, now=now, risk_minutes=60)
    session.commit()
    assert report.escalated == [{"work_order_id": wo.id, "kind": "response",
                                 "priority": [3, 2]}]
    session.refresh(wo)
    assert wo.priority == 2
    assert (wo.response_due_at, wo.resolution_due_at) == due  # not recomputed
    assert wo.sla_flags["response"]["state"] == "breached"
    assert wo.sla_flags["response"]["escalated"] is True
    assert wo.sla_flags["resolution"]["state"] == "at_risk"
    [note] = _notifications(session, wo.id)
    assert note.channel.value == "notification" and note.direction.value == "outbound"
    assert str(wo.id) in note.subject and "response" in note.subject
    assert "P3 to P2" in note.notes and note.customer_id == wo.customer_id
    # The change is in the audit log.
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "work_order",
                                                     AuditEntry.entity_id == str(wo.id))).all()
    assert any(a.changes.get("priority") == [3, 2] for a in audit)

    # Again, a minute later: nothing new.
    again = watch(session, ACTOR, now=now + timedelta(minutes=1), risk_minutes=60)
    session.commit()
    assert again.escalated == [] and again.at_risk == [] and again.breached == []
    session.refresh(wo)
    assert wo.priority == 2 and len(_notifications(session, wo.id)) == 1

    # The resolution is missed too: a second, separate escalation.
    later = watch(session, ACTOR, now=now + timedelta(minutes=31), risk_minutes=60)
    session.commit()
    assert later.escalated == [{"work_order_id": wo.id, "kind": "resolution",
                                "priority": [2, 1]}]
    session.refresh(wo)
    assert wo.priority == 1 and wo.sla_flags["resolution"]["state"] == "breached"
    assert len(_notifications(session, wo.id)) == 2


def test_p1_is_not_raised_further_and_settled_targets_are_left_alone(make):
    now = utcnow()
    session = make.session
    top = _late(make, now, priority=1)
    arrived = _late(make, now, resolution_minutes=600, status=WorkOrderStatus.ON_SITE,
                    arrived_at=now - timedelta(minutes=20))
    done = _late(make, now, status=WorkOrderStatus.COMPLETED, completed_at=now)
    cancelled = _late(make, now, status=WorkOrderStatus.CANCELLED)
    fine = _late(make, now, response_minutes=120, resolution_minutes=600)
    report = watch(session, ACTOR, now=now, risk_minutes=60)
    session.commit()
    assert [e["work_order_id"] for e in report.escalated] == [top.id]
    assert report.escalated[0]["priority"] == [1, 1]
    for wo in (arrived, done, cancelled, fine):
        session.refresh(wo)
        assert wo.sla_flags is None, wo.id
    session.refresh(top)
    assert top.priority == 1
    assert "stays P1" in _notifications(session, top.id)[0].notes


def test_two_watchers_at_once_escalate_each_breach_exactly_once(app, make):
    now = utcnow()
    orders = [_late(make, now) for _ in range(15)]
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                reports.append(watch(db.session, ACTOR, now=now, risk_minutes=60))
                db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    escalated = sorted(e["work_order_id"] for r in reports for e in r.escalated)
    assert escalated == sorted(o.id for o in orders)
    session = make.session
    session.expire_all()
    notes = _notifications(session)
    assert sorted(n.work_order_id for n in notes) == sorted(o.id for o in orders)
    assert {wo.priority for wo in session.scalars(select(WorkOrder))} == {2}


def test_sla_watch_command(make, runner):
    now = utcnow()
    wo = _late(make, now)
    result = runner.invoke(args=["sla-watch", "--risk-minutes", "30"])
    assert result.exit_code == 0, result.output
    assert "1 escalations" in result.output
    assert f"work order {wo.id}: response breached, P3 -> P2" in result.output
    again = runner.invoke(args=["sla-watch"])
    assert "0 escalations" in again.output
    assert runner.invoke(args=["sla-watch", "--risk-minutes", "-5"]).exit_code == 2
