"""mobile API: stock counts and movements version the days of the technicians whose van
they concern, not every day

Revision ID: 0022_scale_van_stock_day_version
Revises: 0022_scale_publish_job
Create Date: 2026-12-04 12:05:00

A technician's day reads stock in two places only: the van's stock level of each part a job
needs, and the transfers to the van that recorded a pick-up. So a row of `stock_level`
concerns the technicians whose van is its warehouse, and a row of `stock_movement` those
whose van it leaves or enters, and the technician of the work order it names. Both tables
move from the shared version (0015, 0021_first_time_fix: every cached day rendered again
on any stock movement anywhere) to the per-technician counters of
0021_mobile_day_per_technician, with the same triggers as that migration's own tables.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022_scale_van_stock_day_version'
down_revision = '0022_scale_publish_job'
branch_labels = None
depends_on = None

# Its downgrade puts the shared triggers back; no data is dropped.
DROPS_DATA = False

TABLES = ("stock_level", "stock_movement")

SQLITE_SHARED = (
    "INSERT INTO mobile_day_version (slot, n, generation) "
    "VALUES (0, 1, abs(random() % 2147483647)) "
    "ON CONFLICT (slot) DO UPDATE SET n = n + 1;"
)


def _technicians(table: str, row: str) -> str:
    """The technicians a row concerns, as SQL over a row alias (NEW or OLD)."""
    if table == "stock_level":
        return f"SELECT t.id AS id FROM technician t WHERE t.van_warehouse_id = {row}.warehouse_id"
    return (
        f"SELECT t.id AS id FROM technician t WHERE t.van_warehouse_id IN "
        f"({row}.from_warehouse_id, {row}.to_warehouse_id) "
        f"UNION SELECT w.technician_id FROM work_order w WHERE w.id = {row}.work_order_id"
    )


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


def _sqlite_tech(table: str, row: str) -> str:
    return (
        f"INSERT INTO mobile_day_tech_version (technician_id, n, generation) "
        f"SELECT t.id, 1, abs(random() % 2147483647) FROM ({_technicians(table, row)}) "
        f"AS t WHERE t.id IS NOT NULL "
        f"ON CONFLICT (technician_id) DO UPDATE SET n = n + 1;"
    )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER mobile_day_version ON {table}")
            op.execute(_pg_tech_mark(table))
            op.execute(
                f"CREATE TRIGGER mobile_day_version AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION mobile_day_tech_mark_{table}()"
            )
        return
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER mobile_day_version_{table}_{event}")
            body = ""
            if event != "insert":
                body += _sqlite_tech(table, "OLD")
            if event != "delete":
                body += _sqlite_tech(table, "NEW")
            op.execute(
                f"CREATE TRIGGER mobile_day_version_tech_{table}_{event} "
                f"AFTER {event.upper()} ON {table} BEGIN {body} END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER mobile_day_version ON {table}")
            op.execute(f"DROP FUNCTION mobile_day_tech_mark_{table}()")
            op.execute(
                f"CREATE TRIGGER mobile_day_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION mobile_day_version_mark()"
            )
        return
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER mobile_day_version_tech_{table}_{event}")
            op.execute(
                f"CREATE TRIGGER mobile_day_version_{table}_{event} "
                f"AFTER {event.upper()} ON {table} BEGIN {SQLITE_SHARED} END"
            )
