"""customer self-service: signed links handed out, VIN lockouts, visits confirmed

Revision ID: 0022_selfsvc_links
Revises: 0021_first_time_fix
Create Date: 2026-12-04 11:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_selfsvc_links"
down_revision = "0021_first_time_fix"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "self_service_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('track', 'recall')", name=op.f("ck_self_service_link_purpose")
        ),
        sa.CheckConstraint(
            "(purpose = 'track' AND work_order_id IS NOT NULL) OR "
            "(purpose = 'recall' AND vin IS NOT NULL)",
            name=op.f("ck_self_service_link_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_self_service_link_work_order_id_work_order"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["recall_campaign.id"],
            name=op.f("fk_self_service_link_campaign_id_recall_campaign"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_service_link")),
        sa.UniqueConstraint("jti", name=op.f("uq_self_service_link_jti")),
    )
    op.create_index(
        op.f("ix_self_service_link_work_order_id"), "self_service_link", ["work_order_id"]
    )
    op.create_index(op.f("ix_self_service_link_vin"), "self_service_link", ["vin"])
    op.create_index(op.f("ix_self_service_link_campaign_id"), "self_service_link", ["campaign_id"])
    op.create_table(
        "self_service_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_service_lock")),
        sa.UniqueConstraint("key", name=op.f("uq_self_service_lock_key")),
    )
    op.create_table(
        "visit_confirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_start_at", UTC_DATETIME, nullable=True),
        sa.Column("confirmed_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_order.id"],
            name=op.f("fk_visit_confirmation_work_order_id_work_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_confirmation")),
        sa.UniqueConstraint("work_order_id", name=op.f("uq_visit_confirmation_work_order_id")),
    )


def downgrade():
    op.drop_table("visit_confirmation")
    op.drop_table("self_service_lock")
    op.drop_index(op.f("ix_self_service_link_campaign_id"), table_name="self_service_link")
    op.drop_index(op.f("ix_self_service_link_vin"), table_name="self_service_link")
    op.drop_index(op.f("ix_self_service_link_work_order_id"), table_name="self_service_link")
    op.drop_table("self_service_link")
