"""customer phone keys: numbers stored with the country code but no "+" or "00"
('98 912 345 6789') are keyed by their national number like every other form

Revision ID: 0017_phone_keys_country_code
Revises: 0015_mobile_day_version
Create Date: 2026-12-04 07:30:00

`fieldsvc.services.phones.phone_key` now strips such a country code; the keys written
before kept it ('989123456789') and matched no caller. Data only: downgrade leaves the
corrected keys, which the older code also reads correctly.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_phone_keys_country_code'
down_revision = '0015_mobile_day_version'
branch_labels = None
depends_on = None

COUNTRY_CODE = "98"
NATIONAL_DIGITS = 10


def upgrade():
    for column in ("phone_key", "mobile_key"):
        op.execute(
            f"UPDATE customer SET {column} = ltrim(substr({column}, "
            f"{len(COUNTRY_CODE) + 1}), '0') WHERE {column} LIKE '{COUNTRY_CODE}%' "
            f"AND length({column}) > {NATIONAL_DIGITS}")


def downgrade():
    pass
