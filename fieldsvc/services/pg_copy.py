"""Bulk rows into PostgreSQL with COPY: straight into a table, or through a staging table.

Sending 175k work orders and ~525k child rows as bound parameters of multi-row INSERTs
made psycopg adapt every value and the server parse every statement; COPY streams the rows
in one protocol exchange per table. When rows may already exist (a unique key decides, as
for preventive maintenance occurrences), they go into a temporary staging table first and
then into the target with one `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`, so the
unique key stays the guarantee that two writers at once create each row once.

Values are what the driver would be given as parameters (SQLAlchemy bind processors
already applied); psycopg's dumpers turn them into COPY's text format.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.orm import Session

STAGE_ORDER = "stage_n"  # the staging table's row number: rows reach the target in order


def _cursor(session: Session):
    return session.connection().connection.driver_connection.cursor()


def _copy(cursor, table: str, columns: list[str], rows, *, numbered: bool = False) -> None:
    names = ([STAGE_ORDER] if numbered else []) + columns
    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        if numbered:
            for n, row in enumerate(rows):
                copy.write_row((n, *row))
        else:
            for row in rows:
                copy.write_row(row)


def copy_rows(session: Session, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """COPY `rows` (tuples in `columns` order) into `table`."""
    if rows:
        with _cursor(session) as cursor:
            _copy(cursor, table.name, columns, rows)


def insert_staged(session: Session, table: Table, columns: list[str], rows: list[tuple],
                  suffix: str) -> list[tuple]:
    """COPY `rows` into a staging table, then `INSERT INTO table … SELECT … <suffix>`.

    `suffix` holds the `ON CONFLICT …` and `RETURNING …` clauses; the returned rows are
    given back. Rows are inserted in the order given (ids follow it).
    """
    if not rows:
        return []
    stage = f"stage_{table.name}"
    cols = ", ".join(columns)
    with _cursor(session) as cursor:
        # Same column types as the target; dropped below, or at the end of a transaction
        # that failed before.
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                       f"SELECT 0 AS {STAGE_ORDER}, {cols} FROM {table.name} WITH NO DATA")
        _copy(cursor, stage, columns, rows, numbered=True)
        cursor.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage} "
                       f"ORDER BY {STAGE_ORDER}{suffix}")
        out = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        cursor.execute(f"DROP TABLE {stage}")
    return out
