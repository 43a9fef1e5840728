"""dispatch: emergency insertion proposals

Revision ID: 0010_dispatch_insertion_proposal
Revises: 0003_auth_token
Create Date: 2026-11-22 22:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import fieldsvc.models.base

# revision identifiers, used by Alembic.
revision = '0010_dispatch_insertion_proposal'
down_revision = '0003_auth_token'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'insertion_proposal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('work_order_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('plan_date', sa.Date(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('proposal', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                     'postgresql'), nullable=False),
        sa.Column('created_at', fieldsvc.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', fieldsvc.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['user_account.id'],
                                name=op.f('fk_insertion_proposal_accepted_by_id_user_account')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_insertion_proposal_created_by_id_user_account')),
        sa.ForeignKeyConstraint(['run_id'], ['optimization_run.id'],
                                name=op.f('fk_insertion_proposal_run_id_optimization_run'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['technician_id'], ['technician.id'],
                                name=op.f('fk_insertion_proposal_technician_id_technician')),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'],
                                name=op.f('fk_insertion_proposal_work_order_id_work_order'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_insertion_proposal')),
    )
    with op.batch_alter_table('insertion_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insertion_proposal_accepted_at'), ['accepted_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_insertion_proposal_run_id'), ['run_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_insertion_proposal_work_order_id'),
                              ['work_order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('insertion_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insertion_proposal_work_order_id'))
        batch_op.drop_index(batch_op.f('ix_insertion_proposal_run_id'))
        batch_op.drop_index(batch_op.f('ix_insertion_proposal_accepted_at'))
    op.drop_table('insertion_proposal')
