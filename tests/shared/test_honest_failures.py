"""Failures that used to be hidden: a broken job import, a console page past the policy."""

from __future__ import annotations

import importlib
import sys

import pytest

from fieldsvc.auth import policy
from fieldsvc.models import WorkOrder
from tests.console.conftest import data, page_as  # noqa: F401 - fixtures


@pytest.mark.parametrize("module", ["rma.services", "fieldsvc.services.pm_generation"])
def test_a_broken_job_import_stops_the_scheduler(monkeypatch, module):
    # None in sys.modules makes `import module` raise ImportError, as a broken module does.
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, "scheduler.jobs", raising=False)
    with pytest.raises(ImportError):
        importlib.import_module("scheduler.jobs")


def test_console_work_order_page_applies_the_object_policy(app, data, page_as,  # noqa: F811
                                                             monkeypatch):
    job = data.work_order()
    agent = page_as("agent")
    assert agent.get(f"/console/work-orders/{job.id}").status_code == 200
    # A policy that scopes agents to their own technician's jobs (an agent has none): the
    # page must answer 404 exactly as the API does, not show the job.
    monkeypatch.setitem(policy.SCOPES, (policy.AGENT, "work-orders"),
                        policy.Scope(WorkOrder, "technician_id", "technician_id"))
    assert agent.get(f"/console/work-orders/{job.id}").status_code == 404
    api = agent.get(f"/api/v1/work-orders/{job.id}")
    assert api.status_code in (401, 404)
    dispatcher = page_as("dispatcher")
    assert dispatcher.get(f"/console/work-orders/{job.id}").status_code == 200


def test_every_navigation_endpoint_is_registered(app):
    from fieldsvc.console import NAVIGATION

    missing = [endpoint for endpoint, *_ in NAVIGATION if endpoint not in app.view_functions]
    assert missing == []


@pytest.mark.parametrize("role", ["admin", "manager", "dispatcher", "agent"])
def test_every_navigation_link_opens(app, page_as, role):  # noqa: F811
    from fieldsvc.console import navigation_for

    with app.test_request_context():
        links = navigation_for(role)
    assert links
    client = page_as(role)
    shell = client.get("/console").get_data(as_text=True)
    for url, _label in links:
        assert f'href="{url}"' in shell
        response = client.get(url)
        assert response.status_code == 200, (role, url, response.status_code)
