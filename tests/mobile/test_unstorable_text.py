"""A phone's report note or checklist with a lone surrogate is refused, and nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldsvc.schemas.common import UNSTORABLE_MESSAGE
from mobile_api.models import JobReport


def test_report_with_a_lone_surrogate_is_422_and_stores_nothing(tech_client, world, ctx):
    url = f"/api/mobile/v1/jobs/{world.jobs[0].id}/report"
    for body, errors in (
            ({"notes": "fixed \ud800"}, {"notes": [UNSTORABLE_MESSAGE]}),
            ({"notes": "ok", "checklist": [{"item": "belt\udfff", "done": True}]},
             {"checklist": {"0": {"item": [UNSTORABLE_MESSAGE]}}})):
        r = tech_client.post(url, json=body)
        assert r.status_code == 422, r.json
        assert r.json["errors"] == errors
    assert ctx.scalar(select(func.count(JobReport.id))) == 0
    assert tech_client.post(url, json={"notes": "fixed"}).status_code == 200
