"""rma: whole-unit flag, replacement reservation, quarantine, inspection outcome and
disposition, goodwill approval

Revision ID: 0012_rma_advance_exchange
Revises: 0011_mobile_api
Create Date: 2026-11-22 22:10:00

"""
import sqlalchemy as sa
from alembic import op

import fieldsvc.models.base

# revision identifiers, used by Alembic.
revision = '0012_rma_advance_exchange'
down_revision = '0011_mobile_api'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rma', schema=None) as batch_op:
        batch_op.add_column(sa.Column('whole_unit', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('replacement_reserved', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('quarantine_warehouse_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('inspection_failure_code', sa.String(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column('disposition', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('disposition_warehouse_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('goodwill_approved_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('goodwill_approved_at',
                                      fieldsvc.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_rma_inspection_failure_code'),
                              ['inspection_failure_code'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_rma_quarantine_warehouse_id_warehouse'), 'warehouse',
            ['quarantine_warehouse_id'], ['id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_rma_disposition_warehouse_id_warehouse'), 'warehouse',
            ['disposition_warehouse_id'], ['id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_rma_goodwill_approved_by_id_user_account'), 'user_account',
            ['goodwill_approved_by_id'], ['id'])
        batch_op.create_check_constraint('replacement_reserved', 'replacement_reserved >= 0')


def downgrade():
    with op.batch_alter_table('rma', schema=None) as batch_op:
        batch_op.drop_constraint('replacement_reserved', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_rma_goodwill_approved_by_id_user_account'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_rma_disposition_warehouse_id_warehouse'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_rma_quarantine_warehouse_id_warehouse'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_rma_inspection_failure_code'))
        for column in ('goodwill_approved_at', 'goodwill_approved_by_id',
                       'disposition_warehouse_id', 'disposition', 'inspection_failure_code',
                       'quarantine_warehouse_id', 'replacement_reserved', 'whole_unit'):
            batch_op.drop_column(column)
