"""Fixtures for the console's dispatch and report pages: a signed-in console and a small day."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from fieldsvc.models import WorkOrderSkill
from tests.conftest import TEST_PASSWORD, make_user

# A day ahead of any test run, so "not in the past" never bites the emergency insertion.
DAY = date.today() + timedelta(days=3)


def csrf_from(html: bytes) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', html) or re.search(
        rb'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1).decode()


class Console:
    """A test client signed in through the real login form; posts forms with the token."""

    def __init__(self, app, role: str, username: str, **links) -> None:
        make_user(app, role=role, username=username, **links)
        self.app = app
        self.client = app.test_client()
        page = self.get("/login")
        signed = self.post("/login", data={"csrf_token": csrf_from(page.data),
                                           "username": username, "password": TEST_PASSWORD})
        assert signed.status_code == 302, signed.data
        self.token = csrf_from(self.get("/console").data)

    # Each request in an app context of its own: the `make` fixture keeps one pushed for
    # the whole test, and a shared `g` would carry one request's CSRF token into the next.
    def get(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.get(*args, **kwargs)

    def post(self, url, data=None, **kwargs):
        with self.app.app_context():
            return self.client.post(url, data={"csrf_token": getattr(self, "token", ""),
                                               **(data or {})}, **kwargs)

    def raw_post(self, url, data=None):
        """A form post without the CSRF token."""
        with self.app.app_context():
            return self.client.post(url, data=data)


@pytest.fixture
def console(app):
    made: dict[str, Console] = {}

    def build(role: str = "dispatcher", **links) -> Console:
        if role not in made:
            made[role] = Console(app, role, f"console-{role}", **links)
        return made[role]

    return build


@pytest.fixture
def day_world(make):
    """Two technicians with hvac and four hvac jobs around Tehran (positions 0.01° apart)."""
    skill = make.skill("hvac")
    techs = [make.technician(skills={skill: 3}, name=name) for name in ("Ali Rahimi",
                                                                      "Sara Karimi")]
    orders = []
    for i in range(4):
        wo = make.work_order(site=make.site(latitude=35.70 + i / 100, longitude=51.40 + i / 200),
                             estimated_minutes=60, priority=2 + i % 3, summary=f"Boiler {i}")
        wo.skills.append(WorkOrderSkill(skill_id=skill.id, min_level=2))
        orders.append(wo)
    make.session.commit()
    return techs, orders
