"""Publishing a run is a job on the run queue: asked for once, executed once, followed on
the run."""

from sqlalchemy import func, select

from fieldsvc.dispatch.publish import execute_publish, request_publish
from fieldsvc.dispatch.queue import get_queue
from fieldsvc.dispatch.runs import execute_run, request_run
from fieldsvc.models import WorkOrder, WorkOrderTransition
from fieldsvc.models.enums import WorkOrderStatus
from tests.dispatch.test_runs import ACTOR, DAY, _finished_run, _small_world
from tests.dispatch.test_runs_api import _wait


def _scheduled_transitions(session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(WorkOrderTransition)
        .where(WorkOrderTransition.to_status == "scheduled")
    )


def test_asking_twice_queues_one_publication_that_runs_once(make):
    _, orders, run = _finished_run(make)
    session = make.session
    assert request_publish(session, run, ACTOR) is True
    session.commit()
    assert run.publish_status == "queued" and run.published_at is None
    # Asked again while queued: nothing new is queued, nothing is written.
    assert request_publish(session, run, ACTOR) is False
    session.commit()
    done = execute_publish(session, run.id)
    assert done.publish_status == "done" and done.publish_progress == 1.0
    assert done.published_at is not None
    assert sorted(done.publish_report["scheduled"]) == sorted(o.id for o in orders)
    # The same job handed out twice (a queue redelivery) does nothing the second time.
    assert execute_publish(session, run.id) is None
    assert _scheduled_transitions(session) == len(orders)


def test_a_publication_overtaken_by_a_newer_plan_fails_and_changes_nothing(make):
    _, orders, older = _finished_run(make)
    session = make.session
    assert request_publish(session, older, ACTOR)
    session.commit()
    newer = request_run(session, ACTOR, plan_date=DAY, territory="tehran", time_limit=1)
    session.commit()
    newer = execute_run(session, newer.id, "Asia/Tehran")
    assert request_publish(session, newer, ACTOR)
    session.commit()
    assert execute_publish(session, newer.id).publish_status == "done"
    before = {
        o.id: (o.technician_id, o.scheduled_start_at)
        for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_([o.id for o in orders])))
    }
    failed = execute_publish(session, older.id)
    assert failed.publish_status == "failed" and failed.published_at is None
    assert "newer run" in failed.publish_message
    session.expire_all()
    after = {
        o.id: (o.technician_id, o.scheduled_start_at)
        for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_([o.id for o in orders])))
    }
    assert after == before
    assert _scheduled_transitions(session) == len(orders)


def test_publish_over_http_answers_202_and_the_run_shows_the_job(client, make, app):
    _, orders = _small_world(make)
    accepted = client.post(
        "/api/v1/optimization-runs",
        json={"date": DAY.isoformat(), "territory": "tehran", "time_limit": 1},
    )
    run = _wait(client, accepted.json["id"])
    get_queue(app).wait(timeout=30)
    assert run["publish"]["status"] is None
    answer = client.post(f"/api/v1/optimization-runs/{run['id']}/publish")
    assert answer.status_code == 202, answer.json
    assert answer.headers["Location"].endswith(f"/optimization-runs/{run['id']}")
    assert answer.json["id"] == run["id"] and "result" not in answer.json
    assert answer.json["publish"]["status"] in ("queued", "running", "done")
    get_queue(app).wait(timeout=60)
    shown = client.get(f"/api/v1/optimization-runs/{run['id']}").json
    assert shown["publish"]["status"] == "done" and shown["publish"]["progress"] == 1.0
    assert shown["publish"]["message"].startswith("published in ")
    assert len(shown["publish"]["report"]["scheduled"]) == len(orders)
    # Lists show the job's state, not its report.
    listed = client.get("/api/v1/optimization-runs").json["items"][0]
    assert listed["publish"]["status"] == "done" and "report" not in listed["publish"]
    # Published: asking again is refused and writes nothing.
    again = client.post(f"/api/v1/optimization-runs/{run['id']}/publish")
    assert again.status_code == 409
    assert "already published" in again.json["detail"]
    statuses = client.get("/api/v1/work-orders", query_string={"status": "scheduled"})
    assert statuses.json["total"] == len(orders)
    assert {o.status for o in make.session.scalars(select(WorkOrder))} == {
        WorkOrderStatus.SCHEDULED
    }
