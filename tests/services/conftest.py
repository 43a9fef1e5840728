"""Helpers for the work-order, ticket and stock tests."""

from __future__ import annotations

import pytest

from fieldsvc.models import AssetContract

PROBLEM = "application/problem+json"


@pytest.fixture
def link(make):
    """link(asset, contract): put an asset under a service contract."""

    def _link(asset, contract):
        make.session.add(AssetContract(asset_id=asset.id, contract_id=contract.id))
        make.session.commit()

    return _link


@pytest.fixture
def wo_api(client):
    """Small client helpers: create a work order, move it, read it."""

    class Api:
        def create(self, **body):
            body.setdefault("summary", "Printer jams")
            response = client.post("/api/v1/work-orders", json=body)
            assert response.status_code == 201, response.json
            return response.json

        def move(self, ident, to, expect=200, **body):
            response = client.post(f"/api/v1/work-orders/{ident}/transitions",
                                   json={"to": to, **body})
            assert response.status_code == expect, response.json
            return response.json

        def get(self, ident):
            return client.get(f"/api/v1/work-orders/{ident}").json

        def to_on_site(self, ident, technician_id):
            self.move(ident, "scheduled", technician_id=technician_id,
                      scheduled_start_at="2030-01-01T09:00:00+03:30")
            self.move(ident, "dispatched")
            self.move(ident, "en_route")
            return self.move(ident, "on_site")

    return Api()
