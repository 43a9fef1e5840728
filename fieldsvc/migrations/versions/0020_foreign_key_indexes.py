"""indexes on the foreign keys that had none

Revision ID: 0020_foreign_key_indexes
Revises: 0015_mobile_day_version
Create Date: 2026-12-04 07:50:00

PostgreSQL does not index the referencing side of a foreign key. Without an index, deleting
or re-keying a referenced row (a user, a part, a warehouse) scans the whole referencing
table under lock, and a join from the referenced side reads it in full. These are every
foreign key of the schema at 0015 whose column did not lead an index;
`tests/ops/test_schema_indexes.py` fails when a later one comes without.

On PostgreSQL the indexes are built CONCURRENTLY (outside the migration's transaction), so
a populated database keeps taking writes while they build.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020_foreign_key_indexes'
down_revision = '0017_phone_keys_country_code'
branch_labels = None
depends_on = None

# Its downgrade drops indexes only: no row is lost (see migrations/env.py).
DROPS_DATA = False

FOREIGN_KEYS = (
    ("pm_plan_part", "part_id"),
    ("pm_plan_skill", "skill_id"),
    ("recall_campaign", "skill_id"),
    ("campaign_part", "part_id"),
    ("certification", "skill_id"),
    ("recall_campaign_product", "product_id"),
    ("user_account", "dealership_id"),
    ("audit_log", "actor_id"),
    ("campaign_vin", "asset_id"),
    ("optimization_run", "created_by_id"),
    ("optimization_run", "published_by_id"),
    ("ticket", "assigned_user_id"),
    ("work_order", "contract_id"),
    ("work_order", "follow_up_of_id"),
    ("interaction", "agent_id"),
    ("recall_appointment", "asset_id"),
    ("recall_appointment", "work_order_id"),
    ("rma", "disposition_warehouse_id"),
    ("rma", "goodwill_approved_by_id"),
    ("rma", "quarantine_warehouse_id"),
    ("rma", "replacement_warehouse_id"),
    ("rma", "ticket_id"),
    ("work_order_part", "part_id"),
    ("work_order_part", "reserved_warehouse_id"),
    ("work_order_skill", "skill_id"),
    ("work_order_transition", "actor_id"),
    ("rma_transition", "actor_id"),
    ("stock_movement", "actor_id"),
    ("insertion_proposal", "accepted_by_id"),
    ("insertion_proposal", "created_by_id"),
    ("insertion_proposal", "technician_id"),
    ("mobile_attachment", "technician_id"),
    ("mobile_job_report", "updated_by_id"),
    ("service_index_weight", "updated_by_id"),
)


def _name(table: str, column: str) -> str:
    return f"ix_{table}_{column}"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for table, column in FOREIGN_KEYS:
                op.create_index(_name(table, column), table, [column],
                                postgresql_concurrently=True, if_not_exists=True)
        return
    for table, column in FOREIGN_KEYS:
        op.create_index(_name(table, column), table, [column])


def downgrade():
    for table, column in reversed(FOREIGN_KEYS):
        op.drop_index(_name(table, column), table_name=table)
