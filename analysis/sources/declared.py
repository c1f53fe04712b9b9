"""Reading any file a raw export folder declares in ``sources.yml`` (CSV or XLSX).

Owns ``sources.yml`` loading and its layout check, decoding in the declared encoding (a byte that
is not valid is reported with its row and column), CSV and XLSX records as strings with their
``_file``/``_row``, and the shared row rules every reader applies: required columns, blank and
exactly duplicated rows (dropped and logged), and patterns. Reads CONTRACTS.md "Raw export
folder"; writes nothing (the cleaning stage does).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd
import yaml

from analysis.core.errors import DataValidationError
from analysis.sources.contact_logs import LogEntry
from analysis.sources.context import SOURCES_FILE

CODED_SECTIONS = ("codebook", "segments", "professional_segments")
"""Sections of ``sources.yml`` whose data a ``qdpx:`` entry provides instead."""


def load_sources(raw_dir: Path) -> dict:
    """Read ``sources.yml`` from the raw export folder."""
    path = Path(raw_dir) / SOURCES_FILE
    if not path.is_file():
        raise DataValidationError(SOURCES_FILE, None, None, "file present",
                                  f"{path} not found: every raw export folder needs one")
    try:
        sources = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise DataValidationError(SOURCES_FILE, mark.line + 1 if mark else None, None,
                                  "valid YAML", str(error)) from None
    if not isinstance(sources, dict):
        raise DataValidationError(SOURCES_FILE, None, None, "valid YAML mapping",
                                  "sources.yml must be a mapping of sections")
    check_sources_layout(sources)
    return sources


SECTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "key_events": ("study_id", "event", "date"),
    "contact_logs": ("study_id", "date", "service"),
    "codebook": ("code",),
    "segments": ("document", "code", "start", "end", "text"),
    "professional_segments": ("document", "code", "start", "end", "text"),
    "professionals": ("prof_id", "site", "role", "service", "data_collection", "document"),
}
"""Derived columns each section of ``sources.yml`` must name in its ``columns`` mapping."""


def check_sources_layout(sources: Mapping) -> None:
    """Check the shape of ``sources.yml`` before any file is read.

    Every section the stage reads is a mapping (``contact_logs`` a list of them) with the keys it
    needs, of the right kind: ``file`` a name, ``columns`` a mapping naming the required derived
    columns, ``header_row`` a positive whole number, ``encoding`` a codec Python knows,
    ``separator`` one character, ``format`` csv or xlsx, patterns valid regular expressions.
    The first problem is a :class:`DataValidationError` on ``sources.yml`` naming the key
    (e.g. ``contact_logs[2].columns``) and the rule ``sources.yml layout``.
    """
    def fail(key: str, message: str) -> None:
        raise DataValidationError(SOURCES_FILE, None, key, "sources.yml layout", message)

    def mapping(value: object, key: str) -> Mapping:
        if not isinstance(value, Mapping):
            fail(key, f"must be a mapping (key: value lines), not {type(value).__name__}")
        return value  # type: ignore[return-value]

    def pattern(value: object, key: str) -> None:
        if value is None:
            return
        try:
            re.compile(str(value))
        except re.error as error:
            fail(key, f"{value!r} is not a valid regular expression ({error})")

    def file_spec(value: object, key: str, columns: tuple[str, ...] | None) -> Mapping:
        spec = mapping(value, key)
        if not isinstance(spec.get("file"), str) or not spec["file"].strip():
            fail(f"{key}.file", "must name the file (relative to the export folder)")
        header_row = spec.get("header_row", 1)
        if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
            fail(f"{key}.header_row", f"must be a whole number from 1, not {header_row!r}")
        if "encoding" in spec:
            try:
                codecs.lookup(str(spec["encoding"]))
            except LookupError:
                fail(f"{key}.encoding", f"{spec['encoding']!r} is not an encoding Python knows "
                                        "(e.g. utf-8, utf-8-sig, cp1252)")
        separator = spec.get("separator", ",")
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            fail(f"{key}.separator", f"must be one character (e.g. ',' or ';'), not "
                                     f"{separator!r}")
        if str(spec.get("format", "csv")) not in ("csv", "xlsx"):
            fail(f"{key}.format", f"must be csv or xlsx, not {spec['format']!r}")
        if columns is not None:
            declared = mapping(spec.get("columns"), f"{key}.columns")
            for name in columns:
                if not isinstance(declared.get(name), str) or not declared[name]:
                    fail(f"{key}.columns.{name}", f"must name the file's column for {name!r}")
        return spec

    redcap = mapping(sources.get("redcap"), "redcap")
    file_spec(redcap.get("dictionary"), "redcap.dictionary", None)
    file_spec(redcap.get("records"), "redcap.records", None)
    fields = mapping(redcap.get("fields"), "redcap.fields")
    if not isinstance(fields.get("study_id"), str):
        fail("redcap.fields.study_id", "must name the REDCap field of the study ID")
    for key in ("sites", "values"):
        mapping(redcap.get(key) or {}, f"redcap.{key}")
    for name, spec in mapping(redcap.get("waves") or {}, "redcap.waves").items():
        wave = mapping(spec, f"redcap.waves.{name}")
        if not isinstance(name, int) or not all(isinstance(wave.get(k), str)
                                                for k in ("status", "date")):
            fail(f"redcap.waves.{name}", "each wave is a number with status and date fields")
    for name, values in (redcap.get("values") or {}).items():
        mapping(values, f"redcap.values.{name}")
    events = file_spec(sources.get("key_events"), "key_events", SECTION_COLUMNS["key_events"])
    if not isinstance(events.get("date_format"), str):
        fail("key_events.date_format", "must be a strftime pattern such as '%d/%m/%Y'")
    mapping(events.get("events"), "key_events.events")
    mapping(events.get("placements") or {}, "key_events.placements")
    logs = sources.get("contact_logs") or []
    if not isinstance(logs, list):
        fail("contact_logs", "must be a list of contact logs (lines starting with '- ')")
    for index, log in enumerate(logs):
        key = f"contact_logs[{index}]"
        spec = file_spec(log, key, SECTION_COLUMNS["contact_logs"])
        for name in ("site", "date_format"):
            if not isinstance(spec.get(name), str):
                fail(f"{key}.{name}", f"must be given ({name} of this log)")
        mapping(spec.get("modes") or {}, f"{key}.modes")
        pattern(spec.get("junk_rows"), f"{key}.junk_rows")
    file_spec(sources.get("service_map"), "service_map", None)
    pattern(sources.get("study_id_pattern"), "study_id_pattern")
    qdpx = sources.get("qdpx") is not None
    for key in CODED_SECTIONS:
        if key in sources or not qdpx:
            section = mapping(sources.get(key), key)
            if not qdpx or "file" in section:
                file_spec(section, key, SECTION_COLUMNS[key])
            pattern(section.get("document_pattern"), f"{key}.document_pattern")
    file_spec(sources.get("professionals"), "professionals", SECTION_COLUMNS["professionals"])
    if sources.get("transcripts") is not None:
        transcripts = mapping(sources["transcripts"], "transcripts")
        pattern(transcripts.get("speaker_pattern"), "transcripts.speaker_pattern")
        try:
            codecs.lookup(str(transcripts.get("encoding", "utf-8")))
        except LookupError:
            fail("transcripts.encoding", f"{transcripts['encoding']!r} is not a known encoding")


LOCATE_LIMIT = 1 << 16
"""Most bytes of a line read to name the column of a bad byte (a longer line is not split)."""


def _last_csv_row(text: str, separator: str) -> list[str] | None:
    """The cells of the last CSV row of ``text``, or ``None`` when it cannot be split."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    except (csv.Error, TypeError, ValueError):
        return None
    return rows[-1] if rows else [""]


def _column_of_byte(data: bytes, offset: int, encoding: str, separator: str) -> str | None:
    """The header name of the column holding byte ``offset`` of a CSV file, where it can be
    told (total: any bytes give a name or ``None``, never an error)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    if offset - line_start > LOCATE_LIMIT:
        return None
    header_end = data.find(b"\n")
    header_bytes = data[:header_end if 0 <= header_end <= LOCATE_LIMIT else LOCATE_LIMIT]
    prefix = _last_csv_row(data[line_start:offset].decode(encoding, errors="replace"), separator)
    names = _last_csv_row(header_bytes.decode(encoding, errors="replace").rstrip("\r"),
                          separator) if line_start else None
    if prefix is None:
        return None
    index = len(prefix) - 1
    if names is not None and 0 <= index < len(names) and names[index].strip():
        return printable_cell(names[index])
    return f"column {index + 1}"


def printable_cell(value: str, limit: int = 80) -> str:
    """A header or cell text safe to show in a message: control characters escaped, cut."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c) & 0xFF:02x}" for c in value[:limit])
    return text + ("..." if len(value) > limit else "")


def decode_bytes(data: bytes, encoding: str, file: str, separator: str) -> str:
    """Decode bytes, or raise an error that names the row and column of the first bad byte.

    Total: whatever the bytes (binary, NULs, stray carriage returns, one huge line), the result
    is the text or a :class:`DataValidationError`.
    """
    try:
        return data.decode(encoding)
    except LookupError:
        raise DataValidationError(SOURCES_FILE, None, f"{file}: encoding", "known encoding",
                                  f"{encoding!r} is not an encoding Python knows (e.g. utf-8, "
                                  "utf-8-sig, cp1252, latin-1)") from None
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        column = _column_of_byte(data, error.start, encoding, separator)
        kind = "; the file looks like a zip (e.g. an .xlsx or .qdpx renamed)" if data[:4] == (
            b"PK\x03\x04") else ""
        raise DataValidationError(
            file, row, column, f"encoding {encoding}",
            f"byte 0x{data[error.start]:02x} at offset {error.start} is not valid {encoding}"
            f"{kind}",
        ) from None


def read_source(raw_dir: Path, spec: Mapping, file_key: str = "file") -> pd.DataFrame:
    """Read one declared CSV or XLSX file as strings.

    Returns a DataFrame whose columns are the header cells (duplicates kept) plus ``_row``, each
    data row's 1-based row number in the file; blank rows are kept (all ``""``) for the caller
    to log. Rows above ``header_row`` (titles) are skipped.
    """
    file = str(spec[file_key])
    path = Path(raw_dir) / file
    if not path.is_file():
        raise DataValidationError(file, None, None, "file present",
                                  f"{path} declared in sources.yml does not exist")
    header_row = int(spec.get("header_row", 1))
    kind = str(spec.get("format", "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"))
    if path.stat().st_size == 0:
        raise DataValidationError(file, 1, "(header)", "file not empty", "the file is empty")
    if kind == "xlsx":
        records = _xlsx_records(path, spec, file)
    else:
        separator = str(spec.get("separator", ","))
        text = decode_bytes(path.read_bytes(), str(spec.get("encoding", "utf-8")), file,
                             separator)
        records = _csv_records(text, separator, file)
    header_at = [i for i, (row, _) in enumerate(records) if row == header_row]
    if not header_at or not any(c.strip() for c in records[header_at[0]][1]):
        raise DataValidationError(file, header_row, "(header)", "file not empty",
                                  f"no header found at row {header_row}")
    header = [c.strip() for c in records[header_at[0]][1]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    data: list[list[str]] = []
    rows: list[int] = []
    for row, cells in records[header_at[0] + 1:]:
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise DataValidationError(file, row, f"column {width + 1}", "cells match header",
                                      f"row has {len(cells)} cells but the header has {width}")
        data.append((cells + [""] * width)[:width])
        rows.append(row)
    frame = pd.DataFrame(data, columns=header, dtype=object) if data else pd.DataFrame(
        columns=header, dtype=object)
    frame["_row"] = rows
    return frame


def _csv_records(text: str, separator: str, file: str = "") -> list[tuple[int, list[str]]]:
    """(first line, cells) of every CSV record; a record the csv module cannot read (a cell
    longer than its field limit: an unclosed quote or a file that is not CSV) is a
    :class:`DataValidationError` at the line where that record starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as error:
        raise DataValidationError(
            file, start, None, "readable CSV",
            f"the record starting here cannot be read as CSV ({error}); look for an unclosed "
            "quote, or check that the file is CSV text") from None
    return records


def _cell_text(value: object) -> str:
    """A spreadsheet cell's value as the text the readers work with.

    Blank is ``""``; whole numbers have no ``.0`` (Excel stores every number as a float); a
    date-time is ISO with a space, and a whole-day date reads as that day's midnight (as Excel
    stores it); a time of day is ISO; anything else (text, booleans, durations) is ``str``.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return f"{value.isoformat()} 00:00:00"
    if isinstance(value, datetime.time):
        return value.isoformat()
    return str(value)


XLSX_UNREADABLE = ("readable XLSX workbook",
                   "export it again from Excel as an unprotected .xlsx workbook")
"""The rule and the advice of every error about a workbook that cannot be read."""

_ERROR_CELL = re.compile(rb'<c [^>]*\bt="e"')
"""An error cell (``#N/A``, ``#REF!`` ...) in a worksheet's XML."""


def _has_error_cells(path: Path) -> bool:
    """Whether any worksheet of the workbook holds an error cell (``t="e"``).

    calamine reads an error cell as blank, which would hide a broken formula in an export;
    openpyxl gives its text (``#N/A``), which the column's rules then report.
    """
    with zipfile.ZipFile(path) as archive:
        return any(_ERROR_CELL.search(archive.read(name))
                   for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _xlsx_records(path: Path, spec: Mapping, file: str) -> list[tuple[int, list[str]]]:
    """(spreadsheet row number, cells as text) of every row of the declared sheet.

    Read with calamine (python-calamine, the Rust reader pandas uses as its ``calamine``
    engine); a workbook with error cells is read with openpyxl instead, which keeps their text.
    Both give the same text for every other cell (tests/test_xlsx_reading.py).
    """
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataValidationError(file, None, None, XLSX_UNREADABLE[0],
                                  "the file is an OLE container (a password-protected or old "
                                  f".xls workbook), not an .xlsx; {XLSX_UNREADABLE[1]}")
    try:
        with_errors = _has_error_cells(path)
    except Exception as error:  # not a zip, or a damaged one  # noqa: BLE001
        raise _unreadable(file, None, error) from None
    if with_errors:
        return _openpyxl_records(path, spec, file)
    return _calamine_records(path, spec, file)


def _unreadable(file: str, row: int | None, error: Exception) -> DataValidationError:
    return DataValidationError(file, row, None, XLSX_UNREADABLE[0],
                               f"{type(error).__name__}: {printable_cell(str(error), 200)}; "
                               f"{XLSX_UNREADABLE[1]}")


def _sheet_name(spec: Mapping, names: list[str], file: str) -> str:
    name = spec.get("sheet") or names[0]
    if name not in names:
        raise DataValidationError(file, None, None, "sheet present",
                                  f"no sheet {name!r}; sheets: {names}")
    return str(name)


def _calamine_records(path: Path, spec: Mapping, file: str) -> list[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises several types for a broken file  # noqa: BLE001
        raise _unreadable(file, None, error) from None
    sheet_name = _sheet_name(spec, list(workbook.sheet_names), file)
    try:
        # skip_empty_area=False: rows and columns count from A1, so numbers are spreadsheet rows
        rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except Exception as error:  # a damaged sheet part fails here  # noqa: BLE001
        raise _unreadable(file, None, error) from None
    return [(number, [_cell_text(v) for v in values]) for number, values in enumerate(rows, 1)]


def _openpyxl_records(path: Path, spec: Mapping, file: str) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several types for a broken file  # noqa: BLE001
        raise _unreadable(file, None, error) from None
    number = 0
    try:
        sheet_name = _sheet_name(spec, workbook.sheetnames, file)
        records = []
        # values_only: no cell objects; read-only mode yields empty tuples for missing rows,
        # so counting from 1 gives spreadsheet row numbers.
        for number, values in enumerate(workbook[sheet_name].iter_rows(values_only=True), 1):
            records.append((number, [_cell_text(v) for v in values]))
        return records
    except DataValidationError:
        raise
    except Exception as error:  # the sheet is read lazily: a corrupt part fails here  # noqa: BLE001
        raise _unreadable(file, number + 1 if number else None, error) from None
    finally:
        workbook.close()


def require_columns(frame: pd.DataFrame, columns: Mapping[str, str], file: str,
                    header_row: int, optional: tuple[str, ...] = ()) -> None:
    """Every declared column (except ``optional`` ones) is in the file, else an error naming it."""
    for key, name in columns.items():
        if key in optional:
            continue
        if name not in frame.columns:
            raise DataValidationError(
                file, header_row, name, "required column present",
                f"column {name!r} ({key}) is missing; the header has "
                f"{[c for c in frame.columns if c != '_row']}")


def drop_blank_and_duplicates(frame: pd.DataFrame, file: str,
                              log: list[LogEntry]) -> pd.DataFrame:
    """Drop blank and exactly duplicated rows, each logged in the cleaning log."""
    cells = frame.drop(columns="_row")
    blank = (cells.apply(lambda s: s.astype(str).str.strip()) == "").all(axis=1)
    if blank.any():
        log.append(LogEntry("clean", file, "blank row", int(blank.sum()), "dropped"))
    frame = frame.loc[~blank]
    duplicated = frame.drop(columns="_row").duplicated(keep="first")
    if duplicated.any():
        rows = ", ".join(map(str, frame.loc[duplicated, "_row"].tolist()[:12]))
        log.append(LogEntry("clean", file, "exact duplicate row", int(duplicated.sum()),
                            "dropped", f"rows {rows}"))
    return frame.loc[~duplicated]


def check_pattern(frame: pd.DataFrame, column: str, pattern: str, file: str) -> None:
    """Every value of ``column`` matches ``pattern``, else an error at the first that does not."""
    values = frame[column].astype(str).str.strip()
    bad = ~values.str.fullmatch(pattern)
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(frame.at[i, "_row"]), column,
                                  f"study ID pattern {pattern}",
                                  f"value {values[i]!r} is not a study ID")


def require_known(frame: pd.DataFrame, column: str, known: Collection, rule: str,
                  message: str, raw_column: str | None = None) -> None:
    """Raise DataValidationError at the first row whose ``column`` value is not in ``known``.

    ``message`` may use ``{value}``. ``frame`` needs ``_file`` and ``_row``.
    """
    known_set = set(known)
    bad = ~frame[column].isin(known_set)
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(str(frame.at[i, "_file"]), int(frame.at[i, "_row"]),
                                  raw_column or column, rule,
                                  message.format(value=frame.at[i, column]))
