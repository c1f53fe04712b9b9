"""Byte-stable writers: the same rows always give the same file bytes.

CSV via the standard ``csv`` module (explicit separator, quoting and line ending), XLSX via
openpyxl with pinned document properties and the zip container rewritten with fixed timestamps
and order (openpyxl stamps the current time into both), JSON with sorted keys.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from analysis.core.reproducible_zip import workbook_bytes

FIXED_TIME = dt.datetime(2024, 9, 30, 0, 0, 0)
"""Creation and modification time written into every XLSX (the findings-event date)."""



def csv_text(header: Sequence[str], rows: Iterable[Sequence], line_end: str = "\n") -> str:
    """Return CSV text (comma separated, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence],
              encoding: str = "utf-8", line_end: str = "\n") -> None:
    """Write a CSV file deterministically."""
    Path(path).write_bytes(csv_text(header, rows, line_end).encode(encoding))


def xlsx_bytes(sheet_title: str, title: str | None, header: Sequence[str],
               rows: Iterable[Sequence]) -> bytes:
    """Return the bytes of a one-sheet workbook: optional bold title row, then header and rows.

    An empty row (``[]``) is written as an empty spreadsheet row.
    """
    # A normal (not write-only) workbook, like one saved by Excel: shared strings and a
    # <dimension> element, so readers need not scan the whole sheet to size it.
    workbook = Workbook()
    workbook.properties.creator = "SYNTHETIC data generator"
    workbook.properties.title = "SYNTHETIC DATA"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    workbook.properties.lastModifiedBy = "SYNTHETIC data generator"
    sheet = workbook.active
    sheet.title = sheet_title
    if title is not None:
        sheet.append([title])
        sheet.cell(row=1, column=1).font = Font(bold=True)
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row) if row else [None])
    return workbook_bytes(workbook)


def json_bytes(value: object) -> bytes:
    """Return pretty, key-sorted JSON with a final newline."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
