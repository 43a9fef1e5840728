"""mobile API: the technician's day versioned per technician for the tables of their own
work, so a write to someone else's work order does not render every day again

Revision ID: 0021_mobile_day_per_technician
Revises: 0020_foreign_key_indexes
Create Date: 2026-12-04 08:20:00

Before, every write to any of 17 tables bumped one shared version and every cached day was
rendered again. Now the tables of a technician's own work bump that technician's counter
only (`mobile_day_tech_version`):

    work_order          its technician before and after the write, and every technician
                        with a work order on the same asset (the day shows the asset's
                        service history)
    work_order_part, work_order_window, mobile_job_report
                        the technician of the work order they belong to
    mobile_attachment, mobile_job_change, technician
                        the technician they name

The shared tables (customers, sites, assets, products, parts, stock, tickets, RMAs,
recalls) keep the shared version of 0015: they change far less often, and one of their
rows is shown on many days.

PostgreSQL, as in 0015: nothing is locked while the transaction works. A row trigger
records (transaction, technician) in `mobile_day_tech_bump` and marks the transaction in
`mobile_day_bump` (now with a `shared` flag: did it write a shared table?); the deferred
trigger at COMMIT bumps the shared slot if flagged, then the technicians' counters in
technician order, so two committing writers always take their counter rows in the same
order and cannot deadlock on them.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_mobile_day_per_technician'
down_revision = '0020_foreign_key_indexes'
branch_labels = None
depends_on = None

# Its downgrade drops counters and triggers only (0015's shared version is restored).
DROPS_DATA = False

SLOTS = 16
OWN = ("work_order", "work_order_part", "work_order_window", "mobile_job_report",
       "mobile_attachment", "mobile_job_change", "technician")
SHARED = ("customer", "site", "asset", "product", "part", "stock_level", "ticket", "rma",
          "recall_appointment", "recall_campaign")

# The technicians a row of each table concerns, as SQL over a row alias (NEW or OLD).
def _technicians(table: str, row: str) -> str:
    if table == "work_order":
        return (f"SELECT {row}.technician_id AS id UNION SELECT w.technician_id FROM work_order w "
                f"WHERE w.asset_id = {row}.asset_id AND w.technician_id IS NOT NULL")
    if table == "technician":
        return f"SELECT {row}.id AS id"
    if table in ("mobile_attachment", "mobile_job_change"):
        return f"SELECT {row}.technician_id AS id"
    return f"SELECT w.technician_id AS id FROM work_order w WHERE w.id = {row}.work_order_id"


PG_SHARED_MARK = """
CREATE OR REPLACE FUNCTION mobile_day_version_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('fieldsvc.day_version_marked', true) IS DISTINCT FROM 'yes' THEN
        INSERT INTO mobile_day_bump AS b (txid, shared) VALUES (txid_current(), true)
        ON CONFLICT (txid) DO UPDATE SET shared = true;
        PERFORM set_config('fieldsvc.day_version_marked', 'yes', true);
    END IF;
    RETURN NULL;
END
$$
"""


def _pg_tech_mark(table: str) -> str:
    return f"""
CREATE FUNCTION mobile_day_tech_mark_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO mobile_day_tech_bump (txid, technician_id)
        SELECT txid_current(), t.id FROM ({_technicians(table, 'OLD')}) AS t
        WHERE t.id IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO mobile_day_tech_bump (txid, technician_id)
        SELECT txid_current(), t.id FROM ({_technicians(table, 'NEW')}) AS t
        WHERE t.id IS NOT NULL ON CONFLICT DO NOTHING;
    END IF;
    IF current_setting('fieldsvc.day_tech_marked', true) IS DISTINCT FROM 'yes' THEN
        INSERT INTO mobile_day_bump (txid, shared) VALUES (txid_current(), false)
        ON CONFLICT (txid) DO NOTHING;
        PERFORM set_config('fieldsvc.day_tech_marked', 'yes', true);
    END IF;
    RETURN NULL;
END
$$
"""


PG_BUMP = f"""
CREATE OR REPLACE FUNCTION mobile_day_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_shared boolean;
BEGIN
    DELETE FROM mobile_day_bump WHERE txid = NEW.txid RETURNING shared INTO was_shared;
    IF was_shared THEN
        INSERT INTO mobile_day_version AS v (slot, n, generation)
        VALUES ((NEW.txid % {SLOTS})::smallint, 1, floor(random() * 2147483647)::bigint)
        ON CONFLICT (slot) DO UPDATE SET n = v.n + 1;
    END IF;
    WITH gone AS (
        DELETE FROM mobile_day_tech_bump WHERE txid = NEW.txid RETURNING technician_id)
    INSERT INTO mobile_day_tech_version AS v (technician_id, n, generation)
    SELECT technician_id, 1, floor(random() * 2147483647)::bigint FROM gone
    ORDER BY technician_id
    ON CONFLICT (technician_id) DO UPDATE SET n = v.n + 1;
    RETURN NULL;
END
$$
"""

PG_BUMP_0015 = f"""
CREATE OR REPLACE FUNCTION mobile_day_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM mobile_day_bump WHERE txid = NEW.txid;
    INSERT INTO mobile_day_version AS v (slot, n, generation)
    VALUES ((NEW.txid % {SLOTS})::smallint, 1, floor(random() * 2147483647)::bigint)
    ON CONFLICT (slot) DO UPDATE SET n = v.n + 1;
    RETURN NULL;
END
$$
"""

PG_MARK_0015 = """
CREATE OR REPLACE FUNCTION mobile_day_version_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('fieldsvc.day_version_marked', true) IS DISTINCT FROM 'yes' THEN
        INSERT INTO mobile_day_bump (txid) VALUES (txid_current());
        PERFORM set_config('fieldsvc.day_version_marked', 'yes', true);
    END IF;
    RETURN NULL;
END
$$
"""

SQLITE_SHARED = (
    "INSERT INTO mobile_day_version (slot, n, generation) "
    "VALUES (0, 1, abs(random() % 2147483647)) "
    "ON CONFLICT (slot) DO UPDATE SET n = n + 1;"
)


def _sqlite_tech(table: str, row: str) -> str:
    return (f"INSERT INTO mobile_day_tech_version (technician_id, n, generation) "
            f"SELECT t.id, 1, abs(random() % 2147483647) FROM ({_technicians(table, row)}) "
            f"AS t WHERE t.id IS NOT NULL "
            f"ON CONFLICT (technician_id) DO UPDATE SET n = n + 1;")


def upgrade():
    op.create_table('mobile_day_tech_version',
    sa.Column('technician_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('technician_id', name=op.f('pk_mobile_day_tech_version'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_table('mobile_day_tech_bump',
        sa.Column('txid', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('technician_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('txid', 'technician_id', name=op.f('pk_mobile_day_tech_bump'))
        )
        op.add_column('mobile_day_bump', sa.Column('shared', sa.Boolean(), nullable=False,
                                                   server_default=sa.true()))
        op.execute(PG_SHARED_MARK)
        op.execute(PG_BUMP)
        for table in OWN:
            op.execute(f"DROP TRIGGER mobile_day_version ON {table}")
            op.execute(_pg_tech_mark(table))
            op.execute(f"CREATE TRIGGER mobile_day_version AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} FOR EACH ROW EXECUTE FUNCTION "
                       f"mobile_day_tech_mark_{table}()")
        return
    for table in OWN:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER mobile_day_version_{table}_{event}")
            body = ""
            if event != "insert":
                body += _sqlite_tech(table, "OLD")
            if event != "delete":
                body += _sqlite_tech(table, "NEW")
            op.execute(f"CREATE TRIGGER mobile_day_version_tech_{table}_{event} "
                       f"AFTER {event.upper()} ON {table} BEGIN {body} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in OWN:
            op.execute(f"DROP TRIGGER mobile_day_version ON {table}")
            op.execute(f"DROP FUNCTION mobile_day_tech_mark_{table}()")
            op.execute(f"CREATE TRIGGER mobile_day_version AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION mobile_day_version_mark()")
        op.execute(PG_MARK_0015)
        op.execute(PG_BUMP_0015)
        op.drop_column('mobile_day_bump', 'shared')
        op.drop_table('mobile_day_tech_bump')
    else:
        for table in OWN:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER mobile_day_version_tech_{table}_{event}")
                op.execute(f"CREATE TRIGGER mobile_day_version_{table}_{event} "
                           f"AFTER {event.upper()} ON {table} BEGIN {SQLITE_SHARED} END")
    op.drop_table('mobile_day_tech_version')
