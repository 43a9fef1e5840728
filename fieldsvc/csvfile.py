"""CSV exports: one writer, and every text cell kept from being run as a formula.

A spreadsheet executes a cell that starts with =, +, -, @ (or a tab or carriage return
ahead of one): a ticket topic typed as "=HYPERLINK(...)" would run on the manager's
machine. Such text gets a leading apostrophe, which spreadsheets show as text (OWASP's
advice on CSV injection). Numbers are written as they are, negative ones included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: None blank, text that a spreadsheet would run quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The header line and one line per row, every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()


def dicts_to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Mappings as CSV, one column per key in `columns` (other keys left out)."""
    return write_csv(columns, ([row.get(c) for c in columns] for row in rows))
