"""The work-order page's slot finder: an agent finds visits for a new breakdown and books one."""

from __future__ import annotations

import re

from fieldsvc.dispatch.queue import get_queue
from fieldsvc.extensions import db
from fieldsvc.models import WorkOrder, WorkOrderSkill
from tests.reports.conftest import DAY
from tests.reports.test_dispatch_board import _run_and_wait


def test_agent_finds_a_slot_for_a_new_breakdown_and_books_it(app, console, make, day_world):
    techs, orders = day_world
    dispatcher = console()
    run_id = _run_and_wait(app, dispatcher)
    assert dispatcher.post(f"/console/dispatch/runs/{run_id}/publish").status_code == 302
    get_queue(app).wait(timeout=60)  # publishing is a job on the run queue
    skill_id = orders[0].skills[0].skill_id
    new = make.work_order(
        site=make.site(latitude=35.71, longitude=51.41), estimated_minutes=45, summary="Leak"
    )
    new.skills.append(WorkOrderSkill(skill_id=skill_id, min_level=2))
    make.session.commit()
    agent = console("agent")
    page = agent.get(f"/console/work-orders/{new.id}").get_data(as_text=True)
    assert "Find a slot" in page
    # Today has no published plan; the published day is DAY (three days ahead).
    found = agent.post(
        f"/console/work-orders/{new.id}/slot-offers", data={"days": "4"}, follow_redirects=True
    )
    html = found.get_data(as_text=True)
    assert DAY.isoformat() in html
    assert techs[0].name in html and techs[1].name in html
    offer = re.search(rf"/console/work-orders/{new.id}/slot-offers/(\d+)/book", html)
    assert offer
    booked = agent.post(offer.group(0), follow_redirects=True).get_data(as_text=True)
    assert f"Work order {new.id} booked with" in booked
    with app.app_context():
        wo = db.session.get(WorkOrder, new.id)
        assert (wo.status.value, wo.pinned) == ("scheduled", True)
        db.session.remove()
    # Scheduled now: the finder is gone from the page.
    assert "Find a slot" not in agent.get(f"/console/work-orders/{new.id}").get_data(as_text=True)
    # Bad input is a message, and a manager may not search.
    bad = agent.post(
        f"/console/work-orders/{orders[1].id}/slot-offers",
        data={"days": "99"},
        follow_redirects=True,
    )
    assert "Search between 1 and 14 days ahead." in bad.get_data(as_text=True)
    assert console("manager").post(f"/console/work-orders/{new.id}/slot-offers").status_code == 403
