"""Self-service fixtures: owners and visits with their links, and a browser-like client."""

from __future__ import annotations

import contextvars
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from fieldsvc.extensions import db
from fieldsvc.models import AuditEntry
from fieldsvc.selfservice import links
from tests.recall.conftest import Recall, today_local


def form_fields(html: bytes, action: str | None = None) -> dict[str, str]:
    """The hidden fields (CSRF token, step) of the page's first form (posting to `action`)."""
    text = html.decode()
    if action is not None:
        start = text.index(f'action="{action}"')
        text = text[start:]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', text)
    step = re.search(r'name="step" value="(\d+)"', text)
    fields = {"csrf_token": csrf.group(1)} if csrf else {}
    if step:
        fields["step"] = step.group(1)
    return fields


class Customer:
    """A test client whose requests run outside the test's app context, as a phone's do."""

    def __init__(self, app) -> None:
        self._client = app.test_client()

    def get(self, *args, **kwargs):
        return contextvars.Context().run(self._client.get, *args, **kwargs)

    def post(self, *args, **kwargs):
        return contextvars.Context().run(self._client.post, *args, **kwargs)

    def submit(self, page_path: str, action: str, form: str | None = None, **data):
        """Load the page, then send its form to `action` with `data` (as a browser would);
        `form`: take the hidden fields of the form posting there instead."""
        page = self.get(page_path)
        assert page.status_code == 200, page.data
        return self.post(action, data={**form_fields(page.data, form or action), **data})


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def recall(make, app):
    return Recall(make, app)


@pytest.fixture
def tomorrow():
    return today_local() + timedelta(days=1)


@pytest.fixture
def customer(app):
    return Customer(app)


@pytest.fixture
def link_for(app):
    """link_for(work_order=…) or link_for(vin=…): the path of a fresh link (committed)."""

    def make_link(work_order=None, vin=None, ttl: timedelta | None = None) -> str:
        with app.test_request_context():
            if work_order is not None:
                url = links.make_track_link(db.session, work_order, ttl=ttl)
            else:
                url = links.make_recall_link(db.session, vin, ttl=ttl)
            db.session.commit()
        return path_of(url)

    return make_link


def self_service_audit(app) -> list[tuple[str, str, str]]:
    """(entity_type, action, actor_name) of every audit entry with source self-service."""
    with app.app_context():
        rows = db.session.execute(
            db.select(AuditEntry.entity_type, AuditEntry.action, AuditEntry.actor_name)
            .where(AuditEntry.source == "self-service")
            .order_by(AuditEntry.id)
        ).all()
        db.session.remove()
        return [tuple(r) for r in rows]
