"""slot offers on days without a published plan: an insertion proposal may have no run

Revision ID: 0023_slots_proposal_without_run
Revises: 0022_scale_van_stock_day_version
Create Date: 2026-12-04 16:30:00

A slot offer for a day no plan is published for is made against the technicians' shifts
and the work already assigned that day; booking it assigns and pins the work order, with no
run to insert into, so `insertion_proposal.run_id` becomes optional.
"""

import warnings

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_slots_proposal_without_run"
down_revision = "0023_prodskill_product_skills"
branch_labels = None
depends_on = None
# The downgrade deletes the slot offers made on days without a published plan.
DROPS_DATA = True


def _run_id_nullable(nullable: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.alter_column(
            "insertion_proposal", "run_id", existing_type=sa.Integer(), nullable=nullable
        )
        return
    # SQLite changes a column's nullability only by copying the table, which drops the
    # day-version triggers on it (0021_first_time_fix): they are read first and put back
    # verbatim. Reflecting the table also reflects optimization_run, whose expression index
    # SQLAlchemy cannot describe and warns about; that table is not copied.
    triggers = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'insertion_proposal' ORDER BY name"
        )
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("insertion_proposal", schema=None) as batch_op:
            batch_op.alter_column("run_id", existing_type=sa.Integer(), nullable=nullable)
    for sql in triggers:
        op.execute(sql)


def upgrade():
    _run_id_nullable(True)


def downgrade():
    op.execute("DELETE FROM insertion_proposal WHERE run_id IS NULL")
    _run_id_nullable(False)
