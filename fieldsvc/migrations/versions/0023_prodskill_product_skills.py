"""products declare the skills (with minimum levels) their service needs

Revision ID: 0023_prodskill_product_skills
Revises: 0022_scale_van_stock_day_version
Create Date: 2026-12-04 16:40:00

`product_skill` rows say which skill, at which minimum level, servicing a product takes. A
work order opened on one of the product's units without a skill list copies them into
`work_order_skill`, and the console's work-order form offers them.

The technician's day (mobile) reads the job's own `work_order_skill` rows, which already
bump the day version, and never a product's declared skills; so this table carries no day
version trigger.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_prodskill_product_skills"
down_revision = "0022_scale_van_stock_day_version"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "product_skill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.CheckConstraint("min_level BETWEEN 1 AND 5", name=op.f("ck_product_skill_level")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_skill_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skill.id"], name=op.f("fk_product_skill_skill_id_skill")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_skill")),
        sa.UniqueConstraint(
            "product_id", "skill_id", name=op.f("uq_product_skill_product_id_skill_id")
        ),
    )
    op.create_index(
        op.f("ix_product_skill_product_id"), "product_skill", ["product_id"], unique=False
    )
    op.create_index(op.f("ix_product_skill_skill_id"), "product_skill", ["skill_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_product_skill_skill_id"), table_name="product_skill")
    op.drop_index(op.f("ix_product_skill_product_id"), table_name="product_skill")
    op.drop_table("product_skill")
