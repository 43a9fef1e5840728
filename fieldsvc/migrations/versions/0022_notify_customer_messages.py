"""customer notifications: the message queue, a customer's language and opt-out

Revision ID: 0022_notify_customer_messages
Revises: 0022_selfsvc_links
Create Date: 2026-12-04 12:00:00
"""
import sqlalchemy as sa
from alembic import op

import fieldsvc.models.base

# revision identifiers, used by Alembic.
revision = '0022_notify_customer_messages'
down_revision = '0022_selfsvc_links'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not a batch: on SQLite a batch rebuilds the table and would lose the
    # triggers that bump the technicians' day versions (0015, 0021).
    op.add_column('customer', sa.Column('language', sa.String(length=8), nullable=True))
    op.add_column('customer', sa.Column('notifications_opt_out', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('work_order_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('ics', sa.Text(), nullable=True),
        sa.Column('dedupe_key', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('send_after', fieldsvc.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=400), nullable=True),
        sa.Column('sent_at', fieldsvc.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('interaction_id', sa.Integer(), nullable=True),
        sa.Column('created_at', fieldsvc.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name=op.f('fk_notification_customer_id_customer')),
        sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'],
                                name=op.f('fk_notification_interaction_id_interaction')),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'],
                                name=op.f('fk_notification_work_order_id_work_order')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
        sa.UniqueConstraint('dedupe_key', 'channel', name='uq_notification_dedupe'),
    )
    with op.batch_alter_table('notification') as batch_op:
        batch_op.create_index('ix_notification_due', ['status', 'send_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_customer_id'), ['customer_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_notification_interaction_id'),
                              ['interaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_work_order_id'), ['work_order_id'],
                              unique=False)


def downgrade():
    op.drop_table('notification')
    # SQLite drops a column in place (3.35+), keeping the customer table's triggers.
    for column in ('notifications_opt_out', 'language'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE customer DROP COLUMN {column}')
        else:
            op.drop_column('customer', column)
