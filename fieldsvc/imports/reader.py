"""Read a CSV upload into rows with their line numbers, or reject the whole file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from fieldsvc.problems import InvalidInput


@dataclass
class Row:
    line: int                   # physical line where the record starts (header = line 1)
    values: dict[str, str]      # column → stripped text; blank cells are ""


class ImportRejected(InvalidInput):
    """The file was refused; nothing was written.

    `problems` are file-level messages (encoding, header); `rows` maps a line number to
    {column: [messages]} for every bad row.
    """

    def __init__(self, filename: str, problems: list[str] | None = None,
                 rows: dict[int, dict[str, list[str]]] | None = None) -> None:
        self.filename = filename
        self.problems = problems or []
        self.rows = dict(sorted((rows or {}).items()))
        if self.rows:
            detail = (f"{filename}: {len(self.rows)} bad row(s); nothing was imported.")
        else:
            detail = f"{filename}: the file was refused; nothing was imported."
        errors: dict[str, Any] = {f"line {n}": msgs for n, msgs in self.rows.items()}
        if self.problems:
            errors["file"] = self.problems
        super().__init__(errors, detail=detail)

    def report(self) -> str:
        """Every problem, one line per bad row, field and message, for a terminal."""
        lines = [self.detail or ""]
        lines += [f"  {p}" for p in self.problems]
        for number, fields in self.rows.items():
            for name, messages in fields.items():
                lines += [f"  line {number}: {name}: {message}" for message in messages]
        return "\n".join(lines)


@dataclass
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


def _decode(data: bytes, filename: str) -> str:
    try:
        # utf-8-sig drops the byte order mark spreadsheet programs like to add.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportRejected(filename, [
            f"The file is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as CSV UTF-8 and try again."]) from exc


def read_rows(data: bytes, columns: Columns,
              filename: str) -> tuple[list[Row], dict[int, dict[str, list[str]]]]:
    """Parse `data` into good-shaped rows and {line: errors} of misshapen ones.

    File-level problems (encoding, header, no data) raise `ImportRejected`.
    """
    text = _decode(data, filename)
    if not text.strip():
        raise ImportRejected(filename, ["The file is empty; it needs a header row and data."])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise ImportRejected(filename, [f"Line 1: unreadable CSV ({exc})."]) from exc
    problems = []
    missing = [c for c in columns.required if c not in header]
    if missing:
        problems.append("Missing column(s): " + ", ".join(missing) + ".")
    for group in columns.one_of:
        if not any(c in header for c in group):
            problems.append("Needs one of the columns: " + ", ".join(group) + ".")
    unknown = [h for h in header if h not in columns.all]
    if unknown:
        problems.append("Unknown column(s): " + ", ".join(repr(h) for h in unknown)
                        + ". Expected: " + ", ".join(columns.all) + ".")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        problems.append("Repeated column(s): " + ", ".join(repeated) + ".")
    if problems:
        raise ImportRejected(filename, problems)

    rows: list[Row] = []
    bad: dict[int, dict[str, list[str]]] = {}
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportRejected(filename, [f"Line {start}: unreadable CSV ({exc})."]) from exc
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            bad[line] = {"row": [f"Has {len(cells)} cells; the header has {len(header)}."]}
            continue
        rows.append(Row(line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    if not rows and not bad:
        raise ImportRejected(filename, ["The file has a header but no data rows."])
    return rows, bad
