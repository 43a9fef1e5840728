"""Self-service forms are rate limited per address, the VIN check per VIN as well."""

from __future__ import annotations

import pytest

from fieldsvc import create_app
from fieldsvc.extensions import db
from tests.selfservice.conftest import Customer, form_fields


@pytest.fixture
def limited_app(app, tmp_path):
    """A second app on the same database, with rate limiting switched on."""
    limited = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SELF_SERVICE_RATE_LIMIT": "4/minute",
            "SELF_SERVICE_VIN_RATE_LIMIT": "2/minute",
            "SELF_SERVICE_MAX_FAILURES": 100,
        }
    )
    yield limited
    with limited.app_context():
        db.engine.dispose()


def _check(phone, vin, address):
    home = phone.get("/self-service", environ_base={"REMOTE_ADDR": address})
    return phone.post(
        "/self-service/recall",
        environ_base={"REMOTE_ADDR": address},
        data={**form_fields(home.data), "vin": vin, "digits": "0000"},
    )


def test_vin_checks_are_limited_per_vin_and_per_address(limited_app):
    phone = Customer(limited_app)
    vin, other = "JTDKB20U0AAAAAAAA", "JTDKB20U0BBBBBBBB"
    # Per VIN: two a minute, whichever address asks.
    assert [_check(phone, vin, f"10.0.0.{n}").status_code for n in (1, 2, 3)] == [403, 403, 429]
    # Per address: four a minute, whichever VIN.
    codes = [_check(phone, f"JTDKB20U0CCCCCC{n:02d}", "10.0.1.1").status_code for n in range(5)]
    assert codes == [403] * 4 + [429]
    assert _check(phone, other, "10.0.2.1").status_code == 403
    # Pages themselves (GET) are not limited.
    assert phone.get("/self-service", environ_base={"REMOTE_ADDR": "10.0.0.3"}).status_code == 200
