"""Every foreign key leads an index, in the migrated database and in the models."""

import warnings

from sqlalchemy import exc, inspect, text

from fieldsvc.extensions import db

# A foreign key column is covered when it is the leading column(s) of some index (a primary
# key or unique constraint counts: both come with one).
PG_UNINDEXED = text("""
SELECT c.conrelid::regclass::text AS table_name, c.conname
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.connamespace = 'public'::regnamespace
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = c.conrelid
        AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey::int2[])
ORDER BY 1, 2
""")


def _unindexed_sqlite(conn) -> list[str]:
    missing = []
    inspector = inspect(conn)
    for table in inspector.get_table_names():
        leading = [tuple(ix["column_names"]) for ix in inspector.get_indexes(table)]
        leading += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        leading.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
        for fk in inspector.get_foreign_keys(table):
            cols = tuple(fk["constrained_columns"])
            if not any(ix[:len(cols)] == cols for ix in leading):
                missing.append(f"{table}({', '.join(cols)})")
    return sorted(missing)


def test_no_foreign_key_without_an_index_in_the_migrated_database(app):
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            missing = [f"{t}: {name}" for t, name in conn.execute(PG_UNINDEXED)]
        else:
            with warnings.catch_warnings():  # expression indexes are not reflected: fine
                warnings.simplefilter("ignore", exc.SAWarning)
                missing = _unindexed_sqlite(conn)
    assert missing == [], "foreign keys without an index (add one in a migration):\n" + \
        "\n".join(missing)


def test_the_models_declare_the_same_indexes(app):
    """`create_all` (and autogenerate) agree with the migrations on these indexes."""
    missing = []
    for table in db.metadata.sorted_tables:
        leading = [tuple(c.name for c in ix.columns) for ix in table.indexes]
        leading += [tuple(c.name for c in con.columns) for con in table.constraints
                    if hasattr(con, "columns") and con.__class__.__name__ in
                    ("UniqueConstraint", "PrimaryKeyConstraint")]
        for fk in table.foreign_key_constraints:
            cols = tuple(c.name for c in fk.columns)
            if not any(ix[:len(cols)] == cols for ix in leading):
                missing.append(f"{table.name}({', '.join(cols)})")
    assert missing == []
