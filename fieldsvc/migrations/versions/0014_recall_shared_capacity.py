"""recall: a dealership-day's places shared across campaigns, or reserved per campaign

The ledger had one row per dealership, campaign and day, so every campaign could fill the
same day. Now a day has one shared row (campaign_id NULL) and one row per campaign
reservation; each appointment that holds a place names its row (pool_id).

Existing data: rows overridden by hand become reservations of their campaign (someone
chose that campaign's places); the other rows of a day merge into its shared row, holding
all their places (capacity at least what they had booked together; the formula takes over
again once bookings allow). Downgrade splits the shared row back per campaign.

Revision ID: 0014_recall_shared_capacity
Revises: 0013_kpi_service_index_weights
Create Date: 2026-12-03 07:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_recall_shared_capacity'
down_revision = '0013_kpi_service_index_weights'
branch_labels = None
depends_on = None

HOLDING = ('invited', 'booked', 'completed', 'no_show')

ledger = sa.table(
    'dealership_day', sa.column('id', sa.Integer), sa.column('dealership_id', sa.Integer),
    sa.column('campaign_id', sa.Integer), sa.column('day', sa.Date),
    sa.column('capacity', sa.Integer), sa.column('booked', sa.Integer),
    sa.column('reserved', sa.Integer), sa.column('overridden', sa.Boolean))
appointment = sa.table(
    'recall_appointment', sa.column('id', sa.Integer), sa.column('campaign_id', sa.Integer),
    sa.column('dealership_id', sa.Integer), sa.column('day', sa.Date),
    sa.column('status', sa.String), sa.column('pool_id', sa.Integer))


def upgrade():
    with op.batch_alter_table('dealership_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reserved', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.alter_column('campaign_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            'reserved', 'reserved >= 0 AND (campaign_id IS NULL OR reserved = 0)')
    op.create_index('uq_dealership_day_shared', 'dealership_day', ['dealership_id', 'day'],
                    unique=True, sqlite_where=sa.text('campaign_id IS NULL'),
                    postgresql_where=sa.text('campaign_id IS NULL'))
    with op.batch_alter_table('recall_appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_recall_appointment_pool_id'), ['pool_id'],
                              unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_recall_appointment_pool_id_dealership_day'), 'dealership_day',
            ['pool_id'], ['id'])

    conn = op.get_bind()
    days: dict[tuple[int, object], list[int]] = {}  # (dealer, day) → [capacity, booked, reserved]
    for row in conn.execute(sa.select(ledger.c.dealership_id, ledger.c.day,
                                      ledger.c.capacity, ledger.c.booked,
                                      ledger.c.overridden)):
        entry = days.setdefault((row.dealership_id, row.day), [0, 0, 0])
        if row.overridden:
            entry[2] += row.capacity
        else:
            entry[0] = max(entry[0], row.capacity)
            entry[1] += row.booked
    conn.execute(ledger.delete().where(ledger.c.overridden.is_(sa.false())))
    if days:
        conn.execute(ledger.insert(), [
            {'dealership_id': dealer, 'campaign_id': None, 'day': day,
             'capacity': max(capacity, booked), 'booked': booked, 'reserved': reserved,
             'overridden': False}
            for (dealer, day), (capacity, booked, reserved) in days.items()])
    own = sa.select(ledger.c.id).where(
        ledger.c.dealership_id == appointment.c.dealership_id,
        ledger.c.day == appointment.c.day,
        ledger.c.campaign_id == appointment.c.campaign_id).scalar_subquery()
    shared = sa.select(ledger.c.id).where(
        ledger.c.dealership_id == appointment.c.dealership_id,
        ledger.c.day == appointment.c.day,
        ledger.c.campaign_id.is_(None)).scalar_subquery()
    conn.execute(appointment.update().where(
        appointment.c.status.in_(HOLDING), appointment.c.dealership_id.is_not(None),
        appointment.c.day.is_not(None)).values(pool_id=sa.func.coalesce(own, shared)))


def downgrade():
    conn = op.get_bind()
    # Places each campaign holds in each shared row.
    held = conn.execute(
        sa.select(ledger.c.id, ledger.c.dealership_id, ledger.c.day, ledger.c.capacity,
                  ledger.c.overridden, appointment.c.campaign_id,
                  sa.func.count(appointment.c.id))
        .join(appointment, appointment.c.pool_id == ledger.c.id)
        .where(ledger.c.campaign_id.is_(None))
        .group_by(ledger.c.id, ledger.c.dealership_id, ledger.c.day, ledger.c.capacity,
                  ledger.c.overridden, appointment.c.campaign_id)).all()
    with op.batch_alter_table('recall_appointment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_recall_appointment_pool_id_dealership_day'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_recall_appointment_pool_id'))
        batch_op.drop_column('pool_id')
    op.drop_index('uq_dealership_day_shared', table_name='dealership_day')
    conn.execute(ledger.delete().where(ledger.c.campaign_id.is_(None)))
    for _, dealer, day, capacity, overridden, campaign, count in held:
        reservation = conn.execute(sa.select(ledger.c.id).where(
            ledger.c.dealership_id == dealer, ledger.c.day == day,
            ledger.c.campaign_id == campaign)).scalar()
        if reservation is not None:  # the campaign also had a reservation that day: merge
            conn.execute(ledger.update().where(ledger.c.id == reservation).values(
                capacity=ledger.c.capacity + count, booked=ledger.c.booked + count))
        else:  # before sharing, each campaign had the whole day
            conn.execute(ledger.insert().values(
                dealership_id=dealer, campaign_id=campaign, day=day,
                capacity=max(capacity, count), booked=count, reserved=0,
                overridden=overridden))
    with op.batch_alter_table('dealership_day', schema=None) as batch_op:
        batch_op.drop_constraint('reserved', type_='check')
        batch_op.alter_column('campaign_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('reserved')
