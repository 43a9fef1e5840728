"""first-time fix on the phone: a site's time zone, tools named by a preventive plan, and
the day version watching what the day now reads (the plan in force, warehouses, stock
movements, required skills, plans' tools)

Revision ID: 0021_first_time_fix
Revises: 0015_mobile_day_version
Create Date: 2026-12-04 08:00:00

The technician's day now shows the warehouse pick-ups of the published plan (read from
`optimization_run` and accepted `insertion_proposal` rows), the warehouses' addresses, the
pick-ups already recorded (`stock_movement`), each job's required skills (`work_order_skill`,
`skill`) and the tools its preventive plan names (`pm_plan`). Each of these tables gets the
trigger of 0015 that bumps the day version. On `optimization_run` only the columns the day
depends on fire it, so a run's progress updates do not make every cached day miss; on
`pm_plan` likewise only `tools`.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0021_first_time_fix'
down_revision = '0021_mobile_day_per_technician'
branch_labels = None
depends_on = None

SQLITE_BODY = (
    "INSERT INTO mobile_day_version (slot, n, generation) "
    "VALUES (0, 1, abs(random() % 2147483647)) "
    "ON CONFLICT (slot) DO UPDATE SET n = n + 1;"
)
# table -> the columns whose UPDATE bumps the version (None: any column).
WATCHED = {
    "optimization_run": ("status", "plan_date", "territory", "result", "published_at"),
    "insertion_proposal": ("accepted_at", "proposal", "run_id"),
    "warehouse": None,
    "stock_movement": None,
    "work_order_skill": None,
    "skill": None,
    "pm_plan": ("tools",),
}


def upgrade():
    op.add_column('site', sa.Column('timezone', sa.String(length=64), nullable=True))
    op.add_column('pm_plan', sa.Column('tools', sa.JSON().with_variant(
        postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in WATCHED.items():
            update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
            op.execute(f"CREATE TRIGGER mobile_day_version AFTER INSERT OR {update} OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION mobile_day_version_mark()")
    else:
        for table, columns in WATCHED.items():
            for event in ("INSERT", "UPDATE", "DELETE"):
                what = (f"UPDATE OF {', '.join(columns)}" if event == "UPDATE" and columns
                        else event)
                op.execute(f"CREATE TRIGGER mobile_day_version_{table}_{event.lower()} "
                           f"AFTER {what} ON {table} BEGIN {SQLITE_BODY} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER mobile_day_version ON {table}")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER mobile_day_version_{table}_{event}")
    with op.batch_alter_table('pm_plan') as batch:
        batch.drop_column('tools')
    with op.batch_alter_table('site') as batch:
        batch.drop_column('timezone')
    if op.get_bind().dialect.name != "postgresql":
        # Rebuilding `site` dropped the triggers 0015 put on it.
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS mobile_day_version_site_{event.lower()}")
            op.execute(f"CREATE TRIGGER mobile_day_version_site_{event.lower()} "
                       f"AFTER {event} ON site BEGIN {SQLITE_BODY} END")
