"""publishing a run is a job: its state, progress and report on the run

Revision ID: 0022_scale_publish_job
Revises: 0022_events_outbox
Create Date: 2026-12-04 12:00:00

`publish_status` is NULL until someone asks to publish the run, then `queued`, `running`,
`done` or `failed`; `publish_progress` (0..1) and `publish_message` follow the job, and
`publish_report` keeps what it did (work orders scheduled, moved, unscheduled, left alone).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fieldsvc.models.base

# revision identifiers, used by Alembic.
revision = "0022_scale_publish_job"
down_revision = "0022_events_outbox"
branch_labels = None
depends_on = None

# The downgrade drops the publish reports of published runs.
DROPS_DATA = True


COLUMNS = (
    "publish_started_at",
    "publish_report",
    "publish_message",
    "publish_progress",
    "publish_status",
)
CHECK = "publish_status IS NULL OR publish_status IN ('queued', 'running', 'done', 'failed')"


def upgrade():
    # Plain ADD COLUMN on both databases: rebuilding the table on SQLite would drop the
    # day-version triggers on it.
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "optimization_run", sa.Column("publish_status", sa.String(length=12), nullable=True)
        )
        op.create_check_constraint(
            op.f("ck_optimization_run_publish_status"), "optimization_run", CHECK
        )
    else:
        op.execute(
            "ALTER TABLE optimization_run ADD COLUMN publish_status VARCHAR(12) "
            f"CONSTRAINT ck_optimization_run_publish_status CHECK ({CHECK})"
        )
    op.add_column("optimization_run", sa.Column("publish_progress", sa.Double(), nullable=True))
    op.add_column(
        "optimization_run", sa.Column("publish_message", sa.String(length=400), nullable=True)
    )
    op.add_column(
        "optimization_run",
        sa.Column(
            "publish_report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )
    op.add_column(
        "optimization_run",
        sa.Column(
            "publish_started_at", fieldsvc.models.base.UTCDateTime(timezone=True), nullable=True
        ),
    )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_optimization_run_publish_status", "optimization_run", type_="check")
    for column in COLUMNS:
        op.execute(f"ALTER TABLE optimization_run DROP COLUMN {column}")
