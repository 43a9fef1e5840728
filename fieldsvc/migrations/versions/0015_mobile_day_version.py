"""mobile API: write counters bumped by triggers on every table the technician's day reads,
the version behind the cached day answer

Revision ID: 0015_mobile_day_version
Revises: 0014_recall_shared_capacity
Create Date: 2026-12-03 07:40:00

The tables are listed here as they are at this revision. A later migration that makes the
day read another table must add the trigger to it; on SQLite a migration that rebuilds a
watched table (batch mode "move and copy") drops its triggers and must create them again.
`tests/mobile/test_day_cache.py` checks that every table the day reads has its trigger.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_mobile_day_version'
down_revision = '0014_recall_shared_capacity'
branch_labels = None
depends_on = None

WATCHED = (
    "technician", "work_order", "customer", "site", "asset", "product", "part",
    "stock_level", "work_order_part", "work_order_window", "ticket", "rma",
    "recall_appointment", "recall_campaign", "mobile_job_report", "mobile_attachment",
    "mobile_job_change",
)
SLOTS = 16

# PostgreSQL: a statement trigger on each watched table marks the transaction once (a row
# of its own in mobile_day_bump: no shared row is locked while the transaction still works);
# a deferred constraint trigger on that row bumps the shared counter at COMMIT, as the
# transaction's last act. Holding a counter row is then never followed by waiting for
# another lock, so writers cannot deadlock on it, and they wait for each other only while
# committing. The counter still becomes visible atomically with the data it versions.
PG_MARK = """
CREATE FUNCTION mobile_day_version_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction (a rolled-back savepoint forgets the flag with the mark).
    IF current_setting('fieldsvc.day_version_marked', true) IS DISTINCT FROM 'yes' THEN
        INSERT INTO mobile_day_bump (txid) VALUES (txid_current());
        PERFORM set_config('fieldsvc.day_version_marked', 'yes', true);
    END IF;
    RETURN NULL;
END
$$
"""

PG_BUMP = f"""
CREATE FUNCTION mobile_day_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mobile_day_bump WHERE txid = NEW.txid;
    INSERT INTO mobile_day_version AS v (slot, n, generation)
    VALUES ((NEW.txid % {SLOTS})::smallint, 1, floor(random() * 2147483647)::bigint)
    ON CONFLICT (slot) DO UPDATE SET n = v.n + 1;
    RETURN NULL;
END
$$
"""

SQLITE_BODY = (
    "INSERT INTO mobile_day_version (slot, n, generation) "
    "VALUES (0, 1, abs(random() % 2147483647)) "
    "ON CONFLICT (slot) DO UPDATE SET n = n + 1;"
)


def upgrade():
    op.create_table('mobile_day_version',
    sa.Column('slot', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('slot', name=op.f('pk_mobile_day_version'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_table('mobile_day_bump',
        sa.Column('txid', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('txid', name=op.f('pk_mobile_day_bump'))
        )
        op.execute(PG_MARK)
        op.execute(PG_BUMP)
        op.execute("CREATE CONSTRAINT TRIGGER mobile_day_version_at_commit AFTER INSERT ON "
                   "mobile_day_bump DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION mobile_day_version_bump()")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER mobile_day_version AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION mobile_day_version_mark()")
    else:
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER mobile_day_version_{table}_{event.lower()} "
                           f"AFTER {event} ON {table} BEGIN {SQLITE_BODY} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER mobile_day_version ON {table}")
        op.drop_table('mobile_day_bump')
        op.execute("DROP FUNCTION mobile_day_version_mark()")
        op.execute("DROP FUNCTION mobile_day_version_bump()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER mobile_day_version_{table}_{event}")
    op.drop_table('mobile_day_version')
