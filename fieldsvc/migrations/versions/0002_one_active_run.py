"""one active optimization run per territory and day

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade():
    op.create_index(
        'uq_optimization_run_active',
        'optimization_run',
        ['plan_date', sa.text("coalesce(territory, '')")],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )


def downgrade():
    op.drop_index('uq_optimization_run_active', table_name='optimization_run')
