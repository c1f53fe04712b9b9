"""The cleaning stage: a raw export folder in, the derived tables of CONTRACTS.md out.

``run_cleaning(raw_dir, out_dir)`` reads ``sources.yml`` in the raw folder to learn which file is
which and how each is kept, then:

1. reads every declared file (declared encoding, separator, header row, sheet), reporting bytes
   that are not valid in the declared encoding, empty files and missing columns;
2. decodes the REDCap export with its data dictionary (``analysis.redcap``);
3. cleans the research tracker and the site contact logs (``analysis.contact_logs``): sites and
   services harmonised through ``sources.yml`` and ``service_map.csv``, each site's dates
   parsed, blank, junk/total and exactly duplicated rows dropped and logged;
4. derives weeks and phase relative to the birth, interview status per wave, participant status,
   the baby's placements as intervals and the placement at birth and at 18 months; reads the
   codebook, coded segments and professionals, and checks coded text against the transcripts.
   The codebook, coded segments and transcripts come either from the CSV export and the
   ``transcripts/`` folder, or, when ``sources.yml`` has a ``qdpx:`` entry, from a REFI-QDA
   project (``analysis.qda``; see "Coded data from a REFI-QDA project" below);
   *identifier screening*: as each source is read, before any rule that quotes a value, the
   text that can carry identifiers is scanned with ``analysis.identifiers`` (see
   "Identifier screening" below); a hit stops the stage;
5. validates every table against its pandera schema (``analysis.schemas``) and the cross-table
   rules (every contact belongs to a recruited woman at the same site, every segment document to
   a completed interview, ...). The first broken rule stops the stage with a
   :class:`analysis.errors.DataValidationError` naming file, row, column and rule;
6. writes the tables (parquet + CSV), ``cleaning_log``, ``manifest.json`` and one fingerprint
   per site (``sites/<site>.sha256``) into a staging folder, then moves them into ``out_dir``.

Output layout and atomicity: the cleaning tables live directly in ``data_derived/`` next to
other stages' outputs (``notebooks/``, ``figures/``), so the folder is never swapped as a
whole. Everything is written to a staging folder first; only when all of it is written are the
stage's own files moved into place one by one (``analysis.atomic``), and a file whose bytes did
not change is left untouched (its modification time kept), so ``make`` reruns only what really
changed. On any error ``out_dir`` is left exactly as it was. ``manifest.json`` is moved last.

Site fingerprints: ``sites/<site>.sha256`` holds a sha256 over that site's rows of every derived
table, the codebook and the cleaning-log lines about the site's own contact log, and is rewritten
only when it changes, so fixing one site's contact log reruns only that site's profile.

Identifier screening: the raw export must already be de-identified. The stage scans, with the
offline pattern rules and name lists of :mod:`analysis.identifiers` (``$NAME_LISTS``, else the
synthetic example list), the coded text of women's and professionals' segments, every transcript
it reads, the codebook's code names and descriptions, the key events' ``detail``, the contact
logs' service and contact-type text, the professionals' role and service text, and every column
of those files that ``sources.yml`` does not declare (notes and memo columns). Study IDs, dates,
offsets, document names and sites are structured fields and are not scanned. The first hit
stops the stage with a :class:`DataValidationError` naming the file, row (a transcript's line),
column (a transcript's character) and the rule ``no identifiers: <kind>``, showing the
identifier only masked (``***19``, ``S***``); nothing is written. Each distinct text is scanned
once.

Coded data from a REFI-QDA project: ``qdpx: {file: X.qdpx, map: qda_map.csv, strict: true}``
in ``sources.yml`` (``map`` and ``strict`` optional) replaces the ``file`` entries of the
``codebook``, ``segments`` and ``professional_segments`` sections (declaring both is an error;
those sections may stay for their ``document_pattern``). The project is read with
:func:`analysis.qda.read_project` and mapped to study documents with the declared map only (a
``qda_map.csv`` that is not declared is not read); the frames it gives are exactly those of the
CSV export, so every derived table is the same. Rows read from the project carry the XML line of
their ``<Code>`` or ``<Coding>`` element, and a broken rule about them is raised as a
:class:`analysis.qda.QdaError` (a DataValidationError) naming ``X.qdpx!project.qde``, the element
(``Code``, ``Coding``, or the ``TextSource`` of a document) and its line. Deviations of the
export that the reader tolerated are listed in the cleaning log.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io
import json
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis import identifiers, paths
from analysis import tables as t
from analysis.atomic import staging_folder, swap_into_place
from analysis.contact_logs import LogEntry, load_service_map, standardise_log
from analysis.errors import DataValidationError
from analysis.qda import QdaError, QdaWarning, read_project, to_raw_frames
from analysis.qda.model import CODEBOOK_COLUMNS
from analysis.redcap import DAG_COLUMN, decode_records, read_dictionary
from analysis.schemas import derived_schemas, require_known, validate

SOURCES_FILE = "sources.yml"
MANIFEST_FILE = "manifest.json"
SITES_FOLDER = "sites"
BIRTH_FALLBACK_GESTATION = 40
"""Weeks of gestation assumed at birth when a woman's birth is not recorded."""
CODED_SECTIONS = ("codebook", "segments", "professional_segments")
"""Sections of ``sources.yml`` whose data a ``qdpx:`` entry provides instead."""
QDA_COLUMNS: dict[str, dict[str, str]] = {
    "codebook": dict(zip(("code", "description", "colour"), CODEBOOK_COLUMNS, strict=True)),
    "segments": {"document": "Document", "code": "Code", "start": "Start", "end": "End",
                 "text": "Coded text", "coder": "Coder"},
}
"""Column names of the frames read from a REFI-QDA project (those of the CSV export)."""


@dataclass
class CleaningResult:
    """What :func:`run_cleaning` produced."""

    out_dir: Path
    tables: dict[str, pd.DataFrame]
    manifest: dict
    site_fingerprints: dict[str, str]
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def log(self) -> pd.DataFrame:
        """The cleaning log table."""
        return self.tables["cleaning_log"]

    def row_counts(self) -> pd.DataFrame:
        """One row per table: name and number of rows."""
        return pd.DataFrame({"table": list(self.tables),
                             "rows": [len(v) for v in self.tables.values()]})


# ------------------------------------------------------------------------------------------
# Reading declared sources
# ------------------------------------------------------------------------------------------


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


def _decode_bytes(data: bytes, encoding: str, file: str, separator: str) -> str:
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
        text = _decode_bytes(path.read_bytes(), str(spec.get("encoding", "utf-8")), file,
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
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def _xlsx_records(path: Path, spec: Mapping, file: str) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    unreadable = ("readable XLSX workbook",
                  "export it again from Excel as an unprotected .xlsx workbook")
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataValidationError(file, None, None, unreadable[0],
                                  "the file is an OLE container (a password-protected or old "
                                  f".xls workbook), not an .xlsx; {unreadable[1]}")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several types for a broken file  # noqa: BLE001
        raise DataValidationError(file, None, None, unreadable[0],
                                  f"{type(error).__name__}: {printable_cell(str(error), 200)}; "
                                  f"{unreadable[1]}") from None
    number = 0
    try:
        sheet_name = spec.get("sheet") or workbook.sheetnames[0]
        if sheet_name not in workbook.sheetnames:
            raise DataValidationError(file, None, None, "sheet present",
                                      f"no sheet {sheet_name!r}; sheets: {workbook.sheetnames}")
        records = []
        # values_only: no cell objects; read-only mode yields empty tuples for missing rows,
        # so counting from 1 gives spreadsheet row numbers.
        for number, values in enumerate(workbook[sheet_name].iter_rows(values_only=True), 1):
            records.append((number, [_cell_text(v) for v in values]))
        return records
    except DataValidationError:
        raise
    except Exception as error:  # the sheet is read lazily: a corrupt part fails here  # noqa: BLE001
        raise DataValidationError(file, number + 1 if number else None, None, unreadable[0],
                                  f"{type(error).__name__}: {printable_cell(str(error), 200)}; "
                                  f"{unreadable[1]}") from None
    finally:
        workbook.close()


def _require_columns(frame: pd.DataFrame, columns: Mapping[str, str], file: str,
                     header_row: int, optional: tuple[str, ...] = ()) -> None:
    for key, name in columns.items():
        if key in optional:
            continue
        if name not in frame.columns:
            raise DataValidationError(
                file, header_row, name, "required column present",
                f"column {name!r} ({key}) is missing; the header has "
                f"{[c for c in frame.columns if c != '_row']}")


def _drop_blank_and_duplicates(frame: pd.DataFrame, file: str,
                               log: list[LogEntry]) -> pd.DataFrame:
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


def _check_pattern(frame: pd.DataFrame, column: str, pattern: str, file: str) -> None:
    values = frame[column].astype(str).str.strip()
    bad = ~values.str.fullmatch(pattern)
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(frame.at[i, "_row"]), column,
                                  f"study ID pattern {pattern}",
                                  f"value {values[i]!r} is not a study ID")


def _phase(weeks: pd.Series) -> pd.Series:
    low, high = t.BIRTH_PHASE_WEEKS
    phase = np.where(weeks < low, "antenatal", np.where(weeks <= high, "birth", "postnatal"))
    return pd.Series(phase, index=weeks.index).where(weeks.notna())


def _site_config() -> tuple[pd.DataFrame, pd.DataFrame]:
    sites = pd.read_csv(paths.CONFIG_DIR / "sites.csv", dtype=str, keep_default_na=False)
    services = pd.read_csv(paths.CONFIG_DIR / "services.csv", dtype=str, keep_default_na=False)
    return sites, services


# ------------------------------------------------------------------------------------------
# Identifier screening
# ------------------------------------------------------------------------------------------

IDENTIFIER_KIND_NAMES: dict[str, str] = {
    "nhs_number": "NHS number", "chi_number": "CHI number", "postcode": "postcode",
    "date_of_birth": "date of birth", "phone": "phone number", "email": "email address",
    "street_address": "street address", "name": "name",
}
"""Readable name of each kind of identifier of :data:`analysis.identifiers.KINDS` (in rules)."""


def _identifier_error(file: str, row: int | None, column: str | None,
                      hit: identifiers.Hit, where: str) -> DataValidationError:
    """The error for one identifier found: the value is shown only masked."""
    kind = IDENTIFIER_KIND_NAMES.get(hit.kind, hit.kind)
    detail = f" ({hit.detail})" if hit.detail else ""
    return DataValidationError(
        file, row, column, f"no identifiers: {kind}",
        f"possible {kind} {hit.masked}{detail} at {where}; the raw export must be de-identified "
        "before cleaning: remove or replace it (e.g. [name], [postcode]) and export again")


def _free_text_columns(frame: pd.DataFrame, declared: Mapping[str, str],
                       keys: tuple[str, ...]) -> list[str]:
    """The columns of a raw frame to screen: the declared columns of ``keys`` present in the
    frame, then every column ``sources.yml`` does not declare (notes, memos)."""
    named = [declared[key] for key in keys if declared.get(key) in frame.columns]
    used = set(declared.values()) | {"_row", "_file"}
    return list(dict.fromkeys(named + [c for c in frame.columns if c not in used]))


def _screen_identifiers(frame: pd.DataFrame, file: str, columns: list[str]) -> None:
    """Identifier screening of a raw table: stop at the first identifier in ``columns``.

    ``frame`` is a source as read (strings plus ``_row``). Each distinct text of a column is
    scanned once (:func:`analysis.identifiers.scan_text`) and reported at its first row; of the
    columns' first hits, the one in the earliest row is raised as a
    :class:`DataValidationError` (rule ``no identifiers: <kind>``, value masked).
    """
    found: list[tuple[int, int, str, identifiers.Hit]] = []
    chosen = set(columns)  # by position: a header may repeat (read_source keeps duplicates)
    for order, (position, column) in enumerate(
            (i, c) for i, c in enumerate(frame.columns) if c in chosen):
        values = frame.iloc[:, position]
        distinct = values.loc[~values.duplicated(keep="first")]
        rows = frame.loc[distinct.index, "_row"]
        for value, row in zip(distinct, rows):
            if not isinstance(value, str) or not value.strip():
                continue
            hits = identifiers.scan_text(value, file=file)
            if hits:
                found.append((int(row), order, column, hits[0]))
                break
    if found:
        row, _, column, hit = min(found, key=lambda item: item[:2])
        where = (f"line {hit.line}, character {hit.column} of the cell" if (hit.line or 1) > 1
                 else f"character {hit.column}")
        raise _identifier_error(file, row, column, hit, where)


_DIGIT = re.compile(r"\d")


def _screen_transcript(text: str, file: str,
                       seen: dict[tuple[str, bool], identifiers.Hit | None]) -> None:
    """Identifier screening of one transcript: stop at its first identifier, named by line
    (row) and character (column).

    Each distinct line is scanned once (``seen`` caches results across the transcripts of one
    run). Names, emails, NHS/CHI numbers and postcodes cannot cross a line break in the scanner's
    rules; a date of birth, phone number or street address can, and each of those holds a digit,
    so where a line or the next non-blank line holds a digit the lines from one to the other are
    also scanned joined, and a hit that neither line shows alone is reported. (An identifier
    broken over three or more non-blank lines is not found.)
    """
    lines = text.split("\n")
    following: list[int | None] = [None] * len(lines)
    nxt: int | None = None
    for index in range(len(lines) - 1, -1, -1):
        following[index] = nxt
        if lines[index].strip():
            nxt = index

    def first_hit(first: int, last: int) -> identifiers.Hit | None:
        """First hit in lines[first..last] joined; for several lines, only a hit that the last
        line does not show alone (the first line alone has none); ``hit.line`` counts from
        ``first``."""
        piece = "\n".join(lines[first:last + 1])
        key = (piece, first != last)
        if key not in seen:
            hits = identifiers.scan_text(piece, file=file)
            if first != last and hits:
                alone = {(h.column, h.kind) for h in identifiers.scan_text(lines[last], file=file)}
                end_line = last - first + 1
                hits = [h for h in hits if h.line != end_line or (h.column, h.kind) not in alone]
            seen[key] = hits[0] if hits else None
        return seen[key]

    for index, line in enumerate(lines):
        hit = first_hit(index, index)
        later = following[index]
        if hit is None and later is not None and (_DIGIT.search(line)
                                                  or _DIGIT.search(lines[later])):
            hit = first_hit(index, later)
        if hit is not None:
            row = index + (hit.line or 1)
            raise _identifier_error(file, row, f"character {hit.column}", hit,
                                    f"line {row}, character {hit.column}")


# ------------------------------------------------------------------------------------------
# REDCap -> participants
# ------------------------------------------------------------------------------------------


@dataclass
class _Context:
    raw_dir: Path
    sources: dict
    id_pattern: str
    sites: pd.DataFrame
    services: pd.DataFrame
    log: list[LogEntry] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    qdpx: _ProjectData | None = None

    def record_input(self, file: str) -> None:
        path = self.raw_dir / file
        if path.is_file():
            self.inputs[file] = hashlib.sha256(path.read_bytes()).hexdigest()


def _section(ctx: _Context, name: str) -> dict:
    section = ctx.sources.get(name)
    if not isinstance(section, dict):
        raise DataValidationError(SOURCES_FILE, None, name, "section present",
                                  f"sources.yml has no {name!r} section")
    return section


def _participants(ctx: _Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Return (participants base, substances, mental health, per-woman REDCap facts)."""
    redcap = _section(ctx, "redcap")
    dictionary_spec, records_spec = redcap["dictionary"], redcap["records"]
    ctx.record_input(dictionary_spec["file"])
    ctx.record_input(records_spec["file"])
    dictionary = read_dictionary(read_source(ctx.raw_dir, dictionary_spec).drop(columns="_row"),
                                 dictionary_spec["file"])
    file = records_spec["file"]
    frame = read_source(ctx.raw_dir, records_spec)
    frame = _drop_blank_and_duplicates(frame, file, ctx.log)
    fields: dict[str, str] = dict(redcap["fields"])
    for key, name in list(fields.items()) + [("site", redcap.get("site_field", DAG_COLUMN))]:
        if name not in dictionary.fields and name != DAG_COLUMN:
            raise DataValidationError(SOURCES_FILE, None, f"redcap.fields.{key}",
                                      "field in data dictionary",
                                      f"REDCap field {name!r} is not in {dictionary.file}")
    decoded = decode_records(frame, dictionary, file, mode=str(records_spec.get("export", "auto")),
                             header_row=int(records_spec.get("header_row", 1)))
    ctx.log.append(LogEntry("decode", file, f"REDCap {decoded.mode} export decoded with "
                            f"{dictionary.file}", len(decoded.values), "decoded"))
    for name, count in decoded.hidden.items():
        ctx.log.append(LogEntry("decode", file, f"value hidden by branching logic of {name}",
                                count, "blanked",
                                dictionary.fields[name].branching))
    values = decoded.values
    header_row = int(records_spec.get("header_row", 1))
    wave_fields = {int(w): spec for w, spec in (redcap.get("waves") or {}).items()}
    needed = list(fields.values()) + [redcap.get("site_field", DAG_COLUMN)] + [
        v for spec in wave_fields.values() for v in spec.values()]
    for name in needed:
        present = name in values.columns or (decoded.checked["field"] == name).any() or any(
            c.startswith(f"{name}___") for c in decoded.codes.columns)
        if not present:
            raise DataValidationError(file, header_row, name, "required column present",
                                      f"REDCap field {name!r} (declared in sources.yml) is "
                                      f"missing from the export")

    def get(key: str) -> pd.Series:
        return values[fields[key]] if fields.get(key) in values.columns else pd.Series(
            pd.NA, index=values.index)

    value_maps: dict[str, dict] = {k: {str(a): b for a, b in v.items()}
                                   for k, v in (redcap.get("values") or {}).items()}

    def mapped(key: str, series: pd.Series, column: str) -> pd.Series:
        mapping = value_maps.get(key)
        if not mapping:
            return series
        out = series.map(lambda v: mapping.get(str(v)) if pd.notna(v) else pd.NA)
        bad = series.notna() & out.isna()
        if bad.any():
            i = bad.idxmax()
            raise DataValidationError(file, int(values.at[i, "_row"]), column,
                                      f"value mapped in sources.yml redcap.values.{key}",
                                      f"label {series[i]!r} has no code in sources.yml "
                                      f"(known: {', '.join(mapping)})")
        return out

    site_field = redcap.get("site_field", DAG_COLUMN)
    site_map = {str(k): v for k, v in (redcap.get("sites") or {}).items()}
    dag = values[site_field].astype("string")
    site = dag.map(lambda v: site_map.get(str(v)) if pd.notna(v) else None)
    bad = site.isna() | ~site.isin(set(ctx.sites["code"]))
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(values.at[i, "_row"]), site_field,
                                  "known site (sources.yml redcap.sites)",
                                  f"data access group {dag[i]!r} is not a known site")
    study_id = get("study_id").astype("string").str.strip()
    recruited = get("consent").fillna(False).astype(bool)
    base = pd.DataFrame({
        "study_id": study_id, "site": site.astype("string"), "recruited": recruited,
        "age_band": get("age_band"), "ethnicity": get("ethnicity"), "parity": get("parity"),
        "previous_children_removed": get("previous_children_removed"),
        "care_experienced": get("care_experienced"),
        "treatment": mapped("treatment", get("treatment"), fields.get("treatment", "treatment")),
        "housing": get("housing"), "domestic_abuse": get("domestic_abuse"),
        "gestation_at_recruitment_weeks": get("gestation_at_recruitment_weeks"),
        "_row": values["_row"], "_file": file,
        "_consent_date": get("consent_date"),
        "_withdrawal": mapped("withdrawal_type", get("withdrawal_type"),
                              fields.get("withdrawal_type", "withdrawal_type")),
        "_withdrawal_date": get("withdrawal_date"),
    })
    # A hidden "previous children removed" (branching on parity > 0) means none removed.
    no_births = base["parity"].fillna(-1) == 0
    filled = no_births & base["previous_children_removed"].isna()
    base["previous_children_removed"] = base["previous_children_removed"].astype("boolean")
    base.loc[filled, "previous_children_removed"] = False
    if filled.any():
        ctx.log.append(LogEntry("derive", file, "previous_children_removed blank because "
                                "parity is 0", int(filled.sum()), "set to False"))
    descriptive = [c for c in t.TABLE_COLUMNS["participants"] if c not in
                   ("study_id", "site", "recruited") and c in base.columns]
    not_recruited = ~base["recruited"]
    for column in descriptive:
        base[column] = base[column].astype(object).where(~not_recruited, pd.NA)
    waves: dict[int, tuple[pd.Series, pd.Series]] = {}
    for wave, spec in sorted(wave_fields.items()):
        status = mapped("wave_status", values[spec["status"]], spec["status"])
        waves[wave] = (status, values[spec["date"]])

    checked = decoded.checked.merge(base[["_row", "study_id", "recruited"]], on="_row")
    checked = checked.loc[checked["recruited"]]

    def long(key: str, column: str) -> pd.DataFrame:
        name = fields.get(key)
        part = checked.loc[checked["field"] == name]
        return pd.DataFrame({"study_id": part["study_id"].to_numpy(),
                             column: part["label"].to_numpy()})

    return base, long("substances", "substance"), long("mental_health", "condition"), {
        "waves": waves}


# ------------------------------------------------------------------------------------------
# Tracker -> events, births, placements
# ------------------------------------------------------------------------------------------


def _read_events(ctx: _Context, women: pd.DataFrame) -> pd.DataFrame:
    spec = _section(ctx, "key_events")
    file = spec["file"]
    ctx.record_input(file)
    frame = read_source(ctx.raw_dir, spec)
    columns = dict(spec["columns"])
    _require_columns(frame, columns, file, int(spec.get("header_row", 1)),
                     optional=("detail",))
    frame = _drop_blank_and_duplicates(frame, file, ctx.log)
    _screen_identifiers(frame, file, _free_text_columns(frame, columns, ("detail",)))
    _check_pattern(frame, columns["study_id"], ctx.id_pattern, file)
    out = pd.DataFrame({
        "study_id": frame[columns["study_id"]].str.strip(),
        "_event_raw": frame[columns["event"]].str.strip(),
        "_date_raw": frame[columns["date"]].str.strip(),
        "detail": frame[columns["detail"]].str.strip() if columns.get("detail") in frame else "",
        "_row": frame["_row"], "_file": file,
    })
    recruited = women.loc[women["recruited"]]
    require_known(out, "study_id", set(recruited["study_id"]),
                  "event belongs to a recruited woman",
                  "study ID {value!r} is not a recruited woman in the REDCap export",
                  raw_column=columns["study_id"])
    events = {str(k): v for k, v in spec["events"].items()}
    out["event"] = out["_event_raw"].map(events)
    require_known(out.assign(_known=out["event"].notna()), "_known", {True},
                  "event in sources.yml key_events.events",
                  "event name not declared in sources.yml", raw_column=columns["event"])
    out["_date"] = pd.to_datetime(out["_date_raw"], format=spec["date_format"], errors="coerce")
    bad = out["_date"].isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns["date"],
                                  f"date format {spec['date_format']}",
                                  f"value {out.at[i, '_date_raw']!r} is not a valid date in "
                                  f"format {spec['date_format']}")
    placements = {str(k): v for k, v in (spec.get("placements") or {}).items()}
    is_change = out["event"] == "placement_change"
    out.loc[is_change, "detail"] = out.loc[is_change, "detail"].map(placements)
    bad = is_change & out["detail"].isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns.get("detail", "detail"),
                                  "placement in sources.yml key_events.placements",
                                  f"placement {frame.loc[i, columns['detail']]!r} is not declared")
    births = out.loc[out["event"] == "birth"]
    twice = births["study_id"].duplicated()
    if twice.any():
        i = twice.idxmax()
        raise DataValidationError(file, int(births.at[i, "_row"]), columns["event"],
                                  "one birth per woman",
                                  f"{births.at[i, 'study_id']} has a second birth event")
    out = out.merge(women[["study_id", "site"]], on="study_id", how="left")
    return out


def _birth_dates(ctx: _Context, women: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Birth date per recruited woman; estimated from consent and gestation when missing."""
    recruited = women.loc[women["recruited"]].set_index("study_id")
    births = events.loc[events["event"] == "birth"].set_index("study_id")["_date"]
    birth = births.reindex(recruited.index)
    missing = birth.isna()
    if missing.any():
        gestation = recruited["gestation_at_recruitment_weeks"].astype("Float64").fillna(20)
        estimate = pd.to_datetime(recruited["_consent_date"]) + pd.to_timedelta(
            (BIRTH_FALLBACK_GESTATION - gestation.astype(float)) * 7, unit="D")
        birth = birth.fillna(estimate.dt.normalize())
        ctx.log.append(LogEntry(
            "derive", _section(ctx, "key_events")["file"], "birth not recorded", int(missing.sum()),
            "estimated", f"due date from consent date and gestation "
            f"({BIRTH_FALLBACK_GESTATION} weeks): {', '.join(missing[missing].index[:12])}"))
    if birth.isna().any():
        who = birth[birth.isna()].index[0]
        row = int(recruited.at[who, "_row"])
        raise DataValidationError(_section(ctx, "redcap")["records"]["file"], row,
                                  _section(ctx, "redcap")["fields"].get("consent_date", "consent_date"),
                                  "birth date known or estimable",
                                  f"{who}: no birth event and no consent date to estimate it")
    return birth


def _weeks(dates: pd.Series, study_ids: pd.Series, birth: pd.Series) -> pd.Series:
    reference = study_ids.map(birth)
    return (pd.to_datetime(dates) - pd.to_datetime(reference)).dt.days / 7.0


def _placements(events: pd.DataFrame) -> pd.DataFrame:
    """The baby's placements as intervals [from_week, to_week) from placement-change events.

    A change to the placement the baby is already in (a repeated entry) is ignored; the last
    placement is open (``to_week`` missing).
    """
    changes = events.loc[events["event"] == "placement_change"].sort_values(
        ["study_id", "week_rel_birth", "_row"], kind="mergesort")
    repeated = (changes["study_id"] == changes["study_id"].shift()) & (
        changes["detail"] == changes["detail"].shift())
    changes = changes.loc[~repeated]
    frame = pd.DataFrame({
        "study_id": changes["study_id"].to_numpy(), "site": changes["site"].to_numpy(),
        "placement": changes["detail"].to_numpy(),
        "from_week": changes["week_rel_birth"].to_numpy(),
        "_row": changes["_row"].to_numpy(), "_file": changes["_file"].to_numpy(),
    })
    frame["to_week"] = frame.groupby("study_id")["from_week"].shift(-1)
    return frame


# ------------------------------------------------------------------------------------------
# Interviews and participant status
# ------------------------------------------------------------------------------------------


def _interviews(women: pd.DataFrame, waves: dict, birth: pd.Series,
                ctx: _Context) -> pd.DataFrame:
    file = women["_file"].iloc[0] if len(women) else ""
    recruited = women["recruited"].to_numpy()
    records = []
    for wave, (status, date) in waves.items():
        frame = pd.DataFrame({"study_id": women["study_id"], "site": women["site"],
                              "wave": wave, "status": status, "_date": date,
                              "_withdrawal": women["_withdrawal"],
                              "_withdrawal_date": women["_withdrawal_date"],
                              "_row": women["_row"], "_file": file})
        records.append(frame.loc[recruited])
    frame = pd.concat(records, ignore_index=True)
    frame = frame.sort_values(["study_id", "wave"], kind="mergesort").reset_index(drop=True)
    last_recorded = frame.loc[frame["status"].notna()].groupby("study_id")["wave"].max()
    later_recorded = frame["wave"] < frame["study_id"].map(last_recorded).fillna(0)
    blank = frame["status"].isna()
    ended = frame["_withdrawal"].notna()
    frame.loc[blank & ended & (frame["_withdrawal"] == "withdrawn"), "status"] = "withdrawn"
    frame.loc[blank & ended & (frame["_withdrawal"] == "lost_to_follow_up"), "status"] = "lost"
    gap = blank & ~ended & later_recorded
    frame.loc[gap, "status"] = "missed"
    if gap.any():
        ctx.log.append(LogEntry("derive", file, "blank wave status before a recorded wave",
                                int(gap.sum()), "set to missed"))
    not_due = frame["status"].isna()
    if not_due.any():
        ctx.log.append(LogEntry("derive", file, "wave not yet due (no status, not withdrawn)",
                                int(not_due.sum()), "no interview row"))
    frame = frame.loc[~not_due].copy()
    completed = frame["status"] == "completed"
    undated = completed & frame["_date"].isna()
    if undated.any():
        ctx.log.append(LogEntry("derive", file, "completed interview without a date",
                                int(undated.sum()), "week left blank"))
    frame["week_rel_birth"] = _weeks(frame["_date"], frame["study_id"], birth).where(completed)
    frame["wave_label"] = frame["wave"].map(t.WAVE_LABELS)
    return frame


def _participant_status(women: pd.DataFrame, interviews: pd.DataFrame,
                        placements: pd.DataFrame, final_wave: int) -> pd.DataFrame:
    completed = interviews.loc[interviews["status"] == "completed"]
    counts = completed.groupby("study_id")["wave"].agg(["count", "max"])
    final_done = set(interviews.loc[(interviews["wave"] == final_wave)
                                    & interviews["status"].isin(["completed", "missed"]),
                                    "study_id"])
    out = women.copy()
    status = np.where(out["_withdrawal"] == "withdrawn", "withdrawn",
                      np.where(out["_withdrawal"] == "lost_to_follow_up", "lost_to_follow_up",
                               np.where(out["study_id"].isin(final_done), "completed", "active")))
    out["status"] = pd.Series(status, index=out.index).where(out["recruited"])
    out["waves_completed"] = out["study_id"].map(counts["count"]).fillna(0).where(out["recruited"])
    out["last_wave"] = out["study_id"].map(counts["max"]).where(out["recruited"])
    first = placements.sort_values(["study_id", "from_week"]).groupby("study_id").first()
    at_birth = first.loc[first["from_week"] <= 8, "placement"]
    out["placement_at_birth"] = out["study_id"].map(at_birth)
    target = t.WAVE_TARGET_WEEKS[final_wave]
    covering = placements.loc[(placements["from_week"] <= target)
                              & (placements["to_week"].isna() | (placements["to_week"] > target))]
    at_18m = covering.groupby("study_id")["placement"].last()
    out["placement_at_18m"] = out["study_id"].map(at_18m).where(out["status"] == "completed")
    return out


# ------------------------------------------------------------------------------------------
# Contacts
# ------------------------------------------------------------------------------------------


def _contacts(ctx: _Context, women: pd.DataFrame, birth: pd.Series) -> tuple[pd.DataFrame, dict]:
    spec_map = _section(ctx, "service_map")
    ctx.record_input(spec_map["file"])
    service_frame = read_source(ctx.raw_dir, spec_map)
    service_map = load_service_map(service_frame, spec_map["file"], set(ctx.services["code"]),
                                   set(ctx.sites["code"]))
    logs = ctx.sources.get("contact_logs") or []
    site_files: dict[str, list[str]] = {}
    frames = []
    date_columns: dict[str, str] = {}
    recruited = women.loc[women["recruited"]].set_index("study_id")
    for spec in logs:
        file = spec["file"]
        ctx.record_input(file)
        site_files.setdefault(spec["site"], []).append(file)
        frame = read_source(ctx.raw_dir, spec)
        _screen_identifiers(frame, file, _free_text_columns(frame, dict(spec["columns"]),
                                                            ("service", "mode")))
        cleaned = standardise_log(frame, spec, file, service_map, ctx.id_pattern)
        ctx.log.extend(cleaned.log)
        contacts = cleaned.contacts
        contacts["_row"] = contacts["source_row"]
        contacts["_file"] = file
        require_known(contacts, "study_id", set(recruited.index),
                      "contact belongs to a recruited woman",
                      "study ID {value!r} is not a recruited woman in the REDCap export",
                      raw_column=spec["columns"]["study_id"])
        home = contacts["study_id"].map(recruited["site"])
        wrong = home != contacts["site"]
        if wrong.any():
            i = wrong.idxmax()
            raise DataValidationError(file, int(contacts.at[i, "_row"]),
                                      spec["columns"]["study_id"],
                                      "contact at the woman's site",
                                      f"{contacts.at[i, 'study_id']} is recruited at "
                                      f"{home[i]!r}, not {spec['site']!r}")
        date_columns[file] = spec["columns"]["date"]
        frames.append(contacts)
    columns = list(t.TABLE_COLUMNS["contacts"]) + ["_row", "_file"]
    contacts = (pd.concat(frames, ignore_index=True) if frames
                else pd.DataFrame(columns=columns))
    contacts["week_rel_birth"] = _weeks(contacts["contact_date"], contacts["study_id"], birth)
    contacts["phase"] = _phase(contacts["week_rel_birth"])
    contacts = contacts.sort_values(["study_id", "contact_date", "service", "source_file",
                                     "source_row"], kind="mergesort").reset_index(drop=True)
    number = contacts.groupby("study_id").cumcount() + 1
    contacts["contact_id"] = contacts["study_id"] + "-C" + number.astype(str).str.zfill(4)
    return contacts, {"site_files": site_files, "date_columns": date_columns}


# ------------------------------------------------------------------------------------------
# Coded data from a REFI-QDA project (the alternative to the CSV export)
# ------------------------------------------------------------------------------------------


@dataclass
class _ProjectData:
    """The codebook, coded segments and transcripts of a raw folder, read from a ``.qdpx``.

    Attributes:
        file: the ``.qdpx`` as declared in ``sources.yml`` (relative to the raw folder); used
            in ``_file`` of its rows and in the cleaning log.
        xml_file: ``file!<entry>.qde``, the XML file that the lines below count in.
        frames: ``codebook``, ``segments`` (women) and ``professional_segments``: the frames
            of the CSV export (strings, plus ``_row``), with ``_row`` the XML line of each
            row's ``<Code>`` or ``<Coding>`` element.
        transcripts: canonical text of each mapped document, by document name.
        source_line_of_coding: XML line of a ``<Coding>`` -> line of its ``<TextSource>``.
    """

    file: str
    xml_file: str
    frames: dict[str, pd.DataFrame]
    transcripts: dict[str, str]
    source_line_of_coding: dict[int, int]


def _qdpx_spec(sources: Mapping) -> dict | None:
    """Return the ``qdpx:`` entry of ``sources.yml`` (``None`` for the CSV form), checked."""
    spec = sources.get("qdpx")
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"file": spec}
    if not isinstance(spec, dict) or not spec.get("file"):
        raise DataValidationError(SOURCES_FILE, None, "qdpx.file", "qdpx entry names its file",
                                  "write qdpx: {file: <project>.qdpx, map: qda_map.csv}")
    unknown = sorted(set(spec) - {"file", "map", "strict"})
    if unknown:
        raise DataValidationError(SOURCES_FILE, None, f"qdpx.{unknown[0]}", "known qdpx keys",
                                  "a qdpx entry may hold only file, map and strict")
    for key in CODED_SECTIONS:
        section = sources.get(key)
        if isinstance(section, dict) and "file" in section:
            raise DataValidationError(
                SOURCES_FILE, None, f"{key}.file", "coded data declared once",
                f"sources.yml declares the coded data both as a REFI-QDA project (qdpx: "
                f"{spec['file']}) and as CSV files ({key}.file: {section['file']}); keep one: "
                "remove the qdpx entry, or the file entries of codebook, segments and "
                "professional_segments")
    return spec


def _relative_error(error: DataValidationError, raw_dir: Path) -> DataValidationError:
    """The same error with paths inside the raw folder shown relative to it."""
    prefix = f"{raw_dir}/"

    def strip(text: str) -> str:
        return text.replace(prefix, "")

    if isinstance(error, QdaError):
        return QdaError(strip(error.file), error.element, error.line, error.rule,
                        strip(error.message))
    return DataValidationError(strip(error.file), error.row, error.column, error.rule,
                               strip(error.message))


def _key_with_occurrence(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One key per row: the row's values in *columns* and how often they occurred before."""
    occurrence = frame.groupby(columns, sort=False, dropna=False).cumcount()
    parts = [frame[c].astype(str) for c in columns] + [occurrence.astype(str)]
    return pd.Series(list(zip(*parts)), index=frame.index, dtype=object)


def _read_qdpx(ctx: _Context, spec: Mapping) -> _ProjectData:
    """Read the declared REFI-QDA project into the frames of the CSV export (see ``_ProjectData``).

    Audio diary transcripts in the project (when ``diary_segments`` reads from it) are left to
    :mod:`analysis.diaries` (through :mod:`analysis.qda.diaries`).

    Raises:
        QdaError: for a project that cannot be read (file, element and line named).
        DataValidationError: for a bad ``qda_map.csv`` (file, line and column named).
    """
    from analysis.qda.diaries import without_diary_sources

    file = str(spec["file"])
    path = ctx.raw_dir / file
    map_file = str(spec["map"]) if spec.get("map") else None
    ctx.record_input(file)
    if map_file is not None:
        ctx.record_input(map_file)
        if not (ctx.raw_dir / map_file).is_file():
            raise DataValidationError(map_file, None, None, "file present",
                                      f"{map_file} declared in sources.yml (qdpx.map) does not "
                                      "exist")
    if not path.is_file():
        raise DataValidationError(file, None, None, "file present",
                                  f"{file} declared in sources.yml (qdpx.file) does not exist")
    try:
        with warnings.catch_warnings():  # tolerated deviations go to the cleaning log instead
            warnings.simplefilter("ignore", QdaWarning)
            project = read_project(path, strict=bool(spec.get("strict", True)))
            # audio diary transcripts in the project are read by analysis.diaries, not mapped here
            project = without_diary_sources(project, ctx.sources, ctx.raw_dir)
            data = to_raw_frames(project, None if map_file is None else ctx.raw_dir / map_file)
    except DataValidationError as error:
        raise _relative_error(error, ctx.raw_dir) from None
    xml_file = project.file.replace(f"{ctx.raw_dir}/", "")
    for message in data.deviations:
        ctx.log.append(LogEntry("read", file, "REFI-QDA export deviation tolerated", 1,
                                "tolerated", message.replace(f"{ctx.raw_dir}/", "")))

    # XML line of every row: <Code> for the codebook, <Coding> for a segment.
    document_of = dict(zip(data.documents["source_guid"], data.documents["document"],
                           strict=True))
    codings = project.codings.loc[project.codings["source_guid"].isin(document_of)].copy()
    codings["document"] = codings["source_guid"].map(document_of)
    key_columns = ["document", "start", "end", "code", "coder"]
    line_of = dict(zip(_key_with_occurrence(codings, key_columns), codings["line"], strict=True))
    source_line = dict(zip(project.sources["guid"], project.sources["line"], strict=True))
    strings = data.string_frames()
    typed = {"segments": data.women_segments, "professional_segments": data.professional_segments}
    for key, frame in typed.items():
        renamed = frame.rename(columns={v: k for k, v in QDA_COLUMNS["segments"].items()})
        keys = _key_with_occurrence(renamed, key_columns)
        strings[key]["_row"] = [int(line_of[k]) for k in keys]
    strings["codebook"]["_row"] = project.codes["line"].astype("int64").to_numpy()
    return _ProjectData(
        file=file, xml_file=xml_file, frames=strings, transcripts=data.transcripts,
        source_line_of_coding=dict(zip(codings["line"],
                                       codings["source_guid"].map(source_line), strict=True)))


def _coded_source(ctx: _Context, key: str) -> tuple[pd.DataFrame, str, dict, int, Mapping]:
    """Read the codebook or one set of coded segments, from the CSV export or the project.

    Returns ``(frame of strings with _row, file, columns, header_row, section)``.
    """
    if ctx.qdpx is None:
        spec = _section(ctx, key)
        file = spec["file"]
        ctx.record_input(file)
        return (read_source(ctx.raw_dir, spec), file, dict(spec["columns"]),
                int(spec.get("header_row", 1)), spec)
    section = ctx.sources.get(key)
    spec = section if isinstance(section, dict) else {}
    columns = QDA_COLUMNS["codebook" if key == "codebook" else "segments"]
    return ctx.qdpx.frames[key].copy(), ctx.qdpx.file, dict(columns), 1, spec


@contextmanager
def _located_in_project(ctx: _Context, part: str) -> Iterator[None]:
    """Re-raise a broken rule about rows read from the project naming its XML element and line.

    *part* is ``"codebook"`` (rows are ``<Code>`` elements) or ``"segments"`` (rows are
    ``<Coding>`` elements; a problem with the ``Document`` is shown at the ``<TextSource>``).
    Errors about other files pass through unchanged.
    """
    try:
        yield
    except QdaError:
        raise
    except DataValidationError as error:
        project = ctx.qdpx
        if project is None or error.file != project.file:
            raise
        element, line = ("Code" if part == "codebook" else "Coding"), error.row
        if part == "segments" and error.column in ("Document", "document"):
            element, line = "TextSource", project.source_line_of_coding.get(error.row, error.row)
        message = f"{error.column}: {error.message}" if error.column else error.message
        raise QdaError(project.xml_file, element, line, error.rule, message) from None


# ------------------------------------------------------------------------------------------
# Qualitative: codebook, segments, professionals
# ------------------------------------------------------------------------------------------


def _codebook(ctx: _Context) -> pd.DataFrame:
    frame, file, columns, header_row, spec = _coded_source(ctx, "codebook")
    _require_columns(frame, columns, file, header_row, optional=("description", "colour"))
    frame = _drop_blank_and_duplicates(frame, file, ctx.log)
    _screen_identifiers(frame, file, _free_text_columns(frame, columns, ("code", "description")))
    separator = "\\" if ctx.qdpx is not None else str(spec.get("path_separator", "\\"))
    ids: dict[str, str] = {}
    children: dict[str, int] = {}
    rows = []
    for record in frame.to_dict("records"):
        path = record[columns["code"]].strip()
        parts = [p.strip() for p in path.split(separator)]
        parent = separator.join(parts[:-1]) if len(parts) > 1 else None
        if parent is not None and parent not in ids:
            raise DataValidationError(file, int(record["_row"]), columns["code"],
                                      "parent code listed before its children",
                                      f"code {path!r}: parent {parent!r} is not in the codebook")
        key = parent or ""
        children[key] = children.get(key, 0) + 1
        code_id = (f"{ids[parent]}.{children[key]:02d}" if parent is not None
                   else f"T{children[key]:02d}")
        ids[separator.join(parts)] = code_id
        rows.append({
            "code_id": code_id, "code": separator.join(parts),
            "parent_id": ids[parent] if parent is not None else None,
            "theme_id": code_id.split(".")[0], "theme": parts[0], "level": len(parts),
            "description": record.get(columns.get("description", ""), "") or None,
            "colour": (record.get(columns.get("colour", ""), "") or "").strip() or None,
            "_row": record["_row"], "_file": file,
        })
    return pd.DataFrame(rows)


def _read_segments(ctx: _Context, key: str, codebook: pd.DataFrame) -> pd.DataFrame:
    frame, file, columns, header_row, spec = _coded_source(ctx, key)
    _require_columns(frame, columns, file, header_row, optional=("coder",))
    frame = _drop_blank_and_duplicates(frame, file, ctx.log)
    _screen_identifiers(frame, file, _free_text_columns(frame, columns, ("text",)))
    out = pd.DataFrame({
        "document": frame[columns["document"]].str.strip(),
        "_code": frame[columns["code"]].str.strip(),
        "text": frame[columns["text"]],
        "coder": frame[columns["coder"]].str.strip() if columns.get("coder") in frame else None,
        "_row": frame["_row"], "_file": file,
    })
    for name in ("start", "end"):
        numbers = pd.to_numeric(frame[columns[name]].str.strip(), errors="coerce")
        bad = numbers.isna() | (numbers != np.floor(numbers.fillna(0)))
        if bad.any():
            i = bad.idxmax()
            raise DataValidationError(file, int(frame.at[i, "_row"]), columns[name], "integer",
                                      f"value {frame.at[i, columns[name]]!r} is not an integer")
        out[name] = numbers.astype("Int64")
    code_ids = dict(zip(codebook["code"], codebook["code_id"]))
    out["code_id"] = out["_code"].map(code_ids)
    require_known(out.assign(_known=out["code_id"].notna()), "_known", {True},
                  "code in codebook", "code path not found in the codebook",
                  raw_column=columns["code"])
    out["theme_id"] = out["code_id"].str.split(".").str[0]
    pattern = spec.get("document_pattern")
    bad = ~out["document"].str.fullmatch(pattern) if pattern else pd.Series(False, out.index)
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns["document"],
                                  f"document pattern {spec['document_pattern']}",
                                  f"document {out.at[i, 'document']!r} does not match")
    return out


def _check_transcripts(ctx: _Context, segments: pd.DataFrame, column_names: Mapping) -> dict:
    """Check ``text == transcript[start:end]``; return {document: transcript text}.

    The transcripts are the files of the ``transcripts`` folder, or those held in the REFI-QDA
    project when the coded data come from one.
    """
    if ctx.qdpx is not None:
        texts = {document: ctx.qdpx.transcripts[document]
                 for document in sorted(segments["document"].unique())}
        seen: dict[tuple[str, bool], identifiers.Hit | None] = {}
        for document, text in texts.items():
            _screen_transcript(text, f"{ctx.qdpx.file} (transcript {document})", seen)
        _check_coded_text(segments, texts, column_names)
        return texts
    spec = ctx.sources.get("transcripts")
    if not spec:
        return {}
    folder = ctx.raw_dir / spec.get("folder", "transcripts")
    encoding = spec.get("encoding", "utf-8")
    texts: dict[str, str] = {}
    seen: dict[tuple[str, bool], identifiers.Hit | None] = {}
    digest = hashlib.sha256()
    for document in sorted(segments["document"].unique()):
        path = folder / f"{document}.txt"
        if not path.is_file():
            first = segments.loc[segments["document"] == document].iloc[0]
            raise DataValidationError(str(first["_file"]), int(first["_row"]),
                                      column_names["document"], "transcript exists",
                                      f"no transcript {path.relative_to(ctx.raw_dir)}")
        data = path.read_bytes()
        digest.update(document.encode() + b"\0" + hashlib.sha256(data).digest())
        shown = str(path.relative_to(ctx.raw_dir))
        texts[document] = _decode_bytes(data, encoding, shown, "\t")
        _screen_transcript(texts[document], shown, seen)
    _check_coded_text(segments, texts, column_names)
    coded_file = str(segments["_file"].iloc[0]) if len(segments) else "segments"
    ctx.inputs[f"{spec.get('folder', 'transcripts')}/ (documents of {coded_file})"] = (
        digest.hexdigest())
    return texts


def _check_coded_text(segments: pd.DataFrame, texts: Mapping[str, str],
                      column_names: Mapping) -> None:
    """Raise at the first segment whose text is not ``transcript[start:end]``."""
    for document, start, end, coded, file, row in zip(
            segments["document"], segments["start"], segments["end"], segments["text"],
            segments["_file"], segments["_row"]):
        found = texts[document][int(start):int(end)]
        if found != coded:
            # Free text is not quoted in an error (it may hold what the screening looks for):
            # say where the two texts part, and their lengths.
            coded = str(coded)
            at = next((i for i, (a, b) in enumerate(zip(found, coded)) if a != b),
                      min(len(found), len(coded)))
            raise DataValidationError(
                str(file), int(row), column_names["text"],
                "coded text equals transcript[Start:End]",
                f"{document}[{start}:{end}] ({len(found)} characters) and the coded text "
                f"({len(coded)} characters) differ from character {at} on (text not shown)")


def _professionals(ctx: _Context) -> pd.DataFrame:
    spec = _section(ctx, "professionals")
    file = spec["file"]
    ctx.record_input(file)
    frame = read_source(ctx.raw_dir, spec)
    columns = dict(spec["columns"])
    _require_columns(frame, columns, file, int(spec.get("header_row", 1)))
    frame = _drop_blank_and_duplicates(frame, file, ctx.log)
    _screen_identifiers(frame, file, _free_text_columns(frame, columns, ("role", "service")))
    site_lookup = {**dict(zip(ctx.sites["label"], ctx.sites["code"])),
                   **dict(zip(ctx.sites["code"], ctx.sites["code"]))}
    service_lookup = {**dict(zip(ctx.services["label"], ctx.services["code"])),
                      **dict(zip(ctx.services["code"], ctx.services["code"]))}
    out = pd.DataFrame({key: frame[name].str.strip() for key, name in columns.items()})
    out["_row"], out["_file"] = frame["_row"], file
    out["site"] = out["site"].map(site_lookup)
    require_known(out.assign(_known=out["site"].notna()), "_known", {True}, "known site",
                  "site is not a code or label in analysis/config/sites.csv",
                  raw_column=columns["site"])
    raw_service = out["service"]
    out["service"] = raw_service.map(lambda v: service_lookup.get(v) if v else None)
    bad = raw_service.ne("") & out["service"].isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns["service"],
                                  "known service", f"service {raw_service[i]!r} is not a code or "
                                  "label in analysis/config/services.csv")
    out["data_collection"] = out["data_collection"].str.lower()
    return out


# ------------------------------------------------------------------------------------------
# The stage
# ------------------------------------------------------------------------------------------


def build_tables(raw_dir: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Read, clean, derive and validate; return (tables, facts for the manifest).

    The tables hold exactly their declared columns (``analysis.tables.TABLE_COLUMNS``), sorted
    as stored. Raises DataValidationError for the first broken rule. Writes nothing.
    """
    raw_dir = Path(raw_dir)
    sources = load_sources(raw_dir)
    sites, services = _site_config()
    id_pattern = str(sources.get("study_id_pattern", r"^.+$"))
    ctx = _Context(raw_dir=raw_dir, sources=sources, id_pattern=id_pattern, sites=sites,
                   services=services)
    ctx.record_input(SOURCES_FILE)
    schemas = derived_schemas(id_pattern, list(sites["code"]), list(services["code"]))
    redcap_fields = dict(_section(ctx, "redcap")["fields"])
    qdpx = _qdpx_spec(sources)  # checked before any file is read

    women, substances, mental_health, facts = _participants(ctx)
    validate(women.assign(**{c: women[c].astype(t.TABLE_COLUMNS["participants"][c])
                             for c in ("study_id", "site")}).loc[:, ["study_id", "site", "_row", "_file"]],
             schemas["participants"].select_columns(["study_id", "site"]), "participants",
             {"study_id": redcap_fields["study_id"]})

    events = _read_events(ctx, women)
    birth = _birth_dates(ctx, women, events)
    events["week_rel_birth"] = _weeks(events["_date"], events["study_id"], birth)
    events["phase"] = _phase(events["week_rel_birth"])
    event_columns = dict(_section(ctx, "key_events")["columns"])
    validate(_typed(events, "events"), schemas["events"], "events",
             {"week_rel_birth": event_columns["date"], "study_id": event_columns["study_id"]})
    placements = _placements(events)

    interviews = _interviews(women, facts["waves"], birth, ctx)
    final_wave = max(facts["waves"]) if facts["waves"] else 5
    women = _participant_status(women, interviews, placements, final_wave)
    validate(_typed(women, "participants"), schemas["participants"], "participants",
             {k: v for k, v in redcap_fields.items()})
    validate(_typed(interviews, "interviews"), schemas["interviews"], "interviews")

    contacts, contact_facts = _contacts(ctx, women, birth)
    typed_contacts = _typed(contacts, "contacts")
    typed_contacts["_file"] = contacts["_file"]
    typed_contacts["_row"] = contacts["_row"]
    try:
        validate(typed_contacts, schemas["contacts"], "contacts")
    except DataValidationError as error:
        if error.column in ("week_rel_birth", "contact_date"):
            error = DataValidationError(
                error.file, error.row, contact_facts["date_columns"].get(error.file, error.column),
                error.rule, error.message + " (contact date too far from the birth)")
        raise error from None

    if qdpx is not None:
        ctx.qdpx = _read_qdpx(ctx, qdpx)
    with _located_in_project(ctx, "codebook"):
        codebook = _codebook(ctx)
        validate(_typed(codebook, "codebook"), schemas["codebook"], "codebook")
    completed = interviews.loc[interviews["status"] == "completed"]
    completed_docs = {f"{s}_W{w}": (s, w) for s, w in zip(completed["study_id"], completed["wave"])}
    with _located_in_project(ctx, "segments"):
        segments = _read_segments(ctx, "segments", codebook)
        seg_columns = _segment_columns(ctx, "segments")
        require_known(segments, "document", set(completed_docs),
                      "document maps to a completed interview",
                      "document {value!r} is not <study_id>_W<wave> of a completed interview of "
                      "a recruited woman", raw_column=seg_columns["document"])
        segments["study_id"] = segments["document"].map(lambda d: completed_docs[d][0])
        segments["wave"] = segments["document"].map(lambda d: completed_docs[d][1])
        segments["site"] = segments["study_id"].map(women.set_index("study_id")["site"])
        _check_transcripts(ctx, segments, seg_columns)
        segments = _segment_ids(segments)
        validate(_typed(segments, "segments"), schemas["segments"], "segments",
                 {"start": seg_columns["start"], "end": seg_columns["end"]})

    professionals = _professionals(ctx)
    validate(_typed(professionals, "professionals"), schemas["professionals"], "professionals")
    with _located_in_project(ctx, "segments"):
        pro_segments = _read_segments(ctx, "professional_segments", codebook)
        pro_columns = _segment_columns(ctx, "professional_segments")
        require_known(pro_segments, "document", set(professionals["document"]),
                      "document in professionals list",
                      "document {value!r} is not listed in the professionals file",
                      raw_column=pro_columns["document"])
        texts = _check_transcripts(ctx, pro_segments, pro_columns)
        pro_segments = _attribute_speakers(ctx, pro_segments, professionals, texts)
        pro_segments = _segment_ids(pro_segments)
        validate(_typed(pro_segments, "professional_segments"), schemas["professional_segments"],
                 "professional_segments",
                 {"start": pro_columns["start"], "end": pro_columns["end"]})

    # Issue 13's inputs (diaries, drawings, EACG review log, model of care): own modules.
    from analysis.study_materials import MATERIAL_TABLES, MaterialsContext, read_materials

    materials = read_materials(MaterialsContext(raw_dir, sources, women, birth, codebook, ctx.log,
                                                ctx.record_input))
    recruited_ids = set(women.loc[women["recruited"], "study_id"])
    tables = {
        "participants": women,
        "participant_substances": substances.loc[substances["study_id"].isin(recruited_ids)],
        "participant_mental_health": mental_health.loc[mental_health["study_id"].isin(recruited_ids)],
        "interviews": interviews,
        "events": events,
        "placements": placements,
        "contacts": contacts,
        "codebook": codebook,
        "segments": segments,
        "professionals": professionals,
        "professional_segments": pro_segments,
        **{name: materials.get(name, t.empty_table(name)) for name in MATERIAL_TABLES},
    }
    for name in ("participant_substances", "participant_mental_health"):
        validate(t.sort_table(_typed(tables[name], name), name), schemas[name], name)
    # The tables exactly as stored (declared columns only, no _file/_row of the raw rows), so
    # the site fingerprints hash derived rows only, whichever form the raw data came in.
    tables = {name: t.sort_table(t.conform(frame, name), name) for name, frame in tables.items()}
    log = pd.DataFrame([vars(entry) for entry in ctx.log],
                       columns=list(t.TABLE_COLUMNS["cleaning_log"]))
    tables["cleaning_log"] = t.conform(log, "cleaning_log")
    facts = {"synthetic": bool(sources.get("synthetic", False)), "inputs": ctx.inputs,
             "site_files": contact_facts["site_files"]}
    return tables, facts


def _segment_columns(ctx: _Context, key: str) -> dict[str, str]:
    """Derived column -> column name as read, for one set of coded segments."""
    if ctx.qdpx is not None:
        return dict(QDA_COLUMNS["segments"])
    return dict(_section(ctx, key)["columns"])


def _typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The table's columns with their declared dtypes, keeping ``_file``/``_row`` if present."""
    out = t.conform(frame, name)
    for extra in ("_file", "_row"):
        if extra in frame.columns:
            out[extra] = frame[extra].to_numpy()
    return out


def _segment_ids(segments: pd.DataFrame) -> pd.DataFrame:
    segments = segments.sort_values(["document", "start", "end", "code_id", "_row"],
                                    kind="mergesort").reset_index(drop=True)
    number = segments.groupby("document").cumcount() + 1
    segments["segment_id"] = segments["document"] + "-S" + number.astype(str).str.zfill(3)
    return segments


def _attribute_speakers(ctx: _Context, segments: pd.DataFrame, professionals: pd.DataFrame,
                        texts: Mapping[str, str]) -> pd.DataFrame:
    """Name each professional segment's speaker: the document's only professional, or the
    professional whose ID opens the transcript line holding the segment (focus groups)."""
    members = professionals.groupby("document")["prof_id"].apply(list).to_dict()
    site_of = professionals.drop_duplicates("document").set_index("document")["site"]
    pattern = (ctx.sources.get("transcripts") or {}).get("speaker_pattern")
    speakers = []
    unattributed = 0
    for document, start in zip(segments["document"], segments["start"]):
        people = members.get(document, [])
        speaker = people[0] if len(people) == 1 else None
        text = texts.get(document)
        if speaker is None and text is not None and pattern:
            line_start = text.rfind("\n", 0, int(start)) + 1
            match = re.match(pattern, text[line_start:])
            if match and match.group("speaker") in people:
                speaker = match.group("speaker")
        unattributed += speaker is None
        speakers.append(speaker)
    segments = segments.copy()
    segments["prof_id"] = speakers
    segments["site"] = segments["document"].map(site_of)
    if unattributed:
        ctx.log.append(LogEntry("derive", str(segments["_file"].iloc[0]),
                                "segment speaker not identifiable", unattributed,
                                "prof_id left blank"))
    return segments


def run_cleaning(raw_dir: Path, out_dir: Path) -> CleaningResult:
    """Run the cleaning stage from ``raw_dir`` into ``out_dir`` (all or nothing).

    Returns the tables, manifest and what was replaced. Raises DataValidationError (with
    ``out_dir`` untouched) when a rule is broken.
    """
    raw_dir, out_dir = Path(raw_dir).resolve(), Path(out_dir)
    tables, facts = build_tables(raw_dir)
    sites = list(_site_config()[0]["code"])
    fingerprints = {
        site: t.site_fingerprint(tables, site, facts["site_files"].get(site, []))
        for site in sites
    }
    inputs = dict(sorted(facts["inputs"].items()))
    raw_fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    try:
        shown_raw = str(raw_dir.relative_to(paths.PROJECT_ROOT))
    except ValueError:
        shown_raw = str(raw_dir)
    manifest = {
        "stage": "01_clean",
        "synthetic": facts["synthetic"],
        "data_raw": shown_raw,
        "raw_fingerprint": raw_fingerprint,
        "inputs": inputs,
        "row_counts": {name: int(len(frame)) for name, frame in tables.items()},
        "site_fingerprints": fingerprints,
    }
    with staging_folder(out_dir) as stage:
        written = t.write_tables(tables, stage)
        for site, digest in fingerprints.items():
            path = stage / SITES_FOLDER / f"{site}.sha256"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{digest}  {site}\n", encoding="utf-8")
            written.append(f"{SITES_FOLDER}/{site}.sha256")
        (stage / MANIFEST_FILE).write_bytes(
            (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        report = swap_into_place(stage, out_dir, written + [MANIFEST_FILE], last=[MANIFEST_FILE])
    return CleaningResult(out_dir=out_dir, tables=tables, manifest=manifest,
                          site_fingerprints=fingerprints, replaced=report.replaced,
                          unchanged=report.unchanged)


def owned_files(sites: list[str] | None = None) -> list[str]:
    """Files (relative to ``data_derived/``) the cleaning stage writes."""
    sites = sites if sites is not None else list(_site_config()[0]["code"])
    return ([f"{name}.{ext}" for name in t.TABLE_NAMES for ext in ("parquet", "csv")]
            + [f"{SITES_FOLDER}/{site}.sha256" for site in sites] + [MANIFEST_FILE])


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.cleaning --raw DIR --out DIR``; exit 1 on a data error."""
    parser = argparse.ArgumentParser(prog="python -m analysis.cleaning",
                                     description="Clean a raw export folder into data_derived/.")
    parser.add_argument("--raw", type=Path, default=None, help="raw export folder (DATA_RAW)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (DATA_DERIVED)")
    args = parser.parse_args(argv)
    raw = args.raw or paths.data_raw()
    out = args.out or paths.data_derived()
    try:
        result = run_cleaning(raw, out)
    except DataValidationError as error:
        print(f"cleaning failed: {error}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{k} {v}" for k, v in result.manifest["row_counts"].items())
    print(f"cleaned {raw} -> {out}: {counts}; {len(result.replaced)} files replaced, "
          f"{len(result.unchanged)} unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
