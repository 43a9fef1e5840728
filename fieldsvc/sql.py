"""Small SQL helpers the services share, written once for both supported databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

Insert = postgresql.Insert | sqlite.Insert
_INSERTS: dict[str, Callable[[Table], Insert]] = {"postgresql": postgresql.insert,
                                                   "sqlite": sqlite.insert}


def insert_ignore(dialect: str, table: Table, values: dict[str, Any] | list[dict[str, Any]], *,
                  index_elements: list[str] | None = None, index_where: Any = None) -> Insert:
    """INSERT that leaves an existing row alone: ON CONFLICT DO NOTHING.

    `dialect` is the connection's dialect name; `index_elements` (and `index_where` for a
    partial unique index) name the conflict target, none means any unique constraint.
    """
    try:
        insert = _INSERTS[dialect]
    except KeyError:
        raise NotImplementedError(f"insert_ignore: {dialect} is not a supported database "
                                  "(PostgreSQL and SQLite are)") from None
    stmt: Insert = insert(table).values(values)
    if index_elements is None:
        return stmt.on_conflict_do_nothing()
    return stmt.on_conflict_do_nothing(index_elements=index_elements, index_where=index_where)
