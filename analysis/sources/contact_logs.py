"""Standardise one site's service-contact log: rows, dates, services and contact modes.

Pure functions over a log read as strings (see ``analysis.sources.declared.read_source``: original
column headers plus ``_row``, the row number in the file). What differs between sites lives in
``sources.yml`` (column names, date format, contact-mode labels, junk-row pattern) and
``service_map.csv`` (raw service name -> harmonised code), never in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.core.errors import DataValidationError

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
"""Day zero of Excel's 1900 date system (serial 1 = 1900-01-01, counting Excel's leap-day bug)."""

REQUIRED_KEYS = ("study_id", "date", "service")


@dataclass
class LogEntry:
    """One line of the cleaning log."""

    stage: str
    file: str
    rule: str
    rows_affected: int
    action: str
    detail: str = ""


@dataclass
class CleanedLog:
    """A standardised contact log and what was done to it."""

    contacts: pd.DataFrame  # study_id, site, service, contact_date, contact_mode, source_file, source_row
    log: list[LogEntry] = field(default_factory=list)


def parse_dates(values: pd.Series, date_format: str) -> pd.Series:
    """Parse date strings with a strftime pattern, or Excel serial day numbers.

    ``excel_serial`` also accepts cells that a spreadsheet already stored as dates (read as
    ``YYYY-MM-DD[ HH:MM:SS]``). Unparseable values become NaT.
    """
    text = values.astype(str).str.strip()
    if date_format == "excel_serial":
        serial = pd.to_numeric(text, errors="coerce")
        whole = serial.notna() & (serial == np.floor(serial.fillna(0))) & (serial > 0)
        parsed = EXCEL_EPOCH + pd.to_timedelta(serial.where(whole), unit="D")
        iso = pd.to_datetime(text.where(~whole), format="ISO8601", errors="coerce")
        return parsed.fillna(iso).dt.normalize()
    return pd.to_datetime(text, format=date_format, errors="coerce")


def standardise_log(
    frame: pd.DataFrame,
    spec: Mapping,
    file: str,
    service_map: Mapping[tuple[str, str], str],
    id_pattern: str,
) -> CleanedLog:
    """Clean one site's contact log.

    Args:
        frame: the log as read: original headers as columns (strings, blank ``""``) + ``_row``.
        spec: this log's entry in ``sources.yml`` (site, header_row, columns, date_format,
            optional modes and junk_rows).
        file: file name for messages and ``source_file``.
        service_map: ``{(site, raw service name): service code}`` from ``service_map.csv``.
        id_pattern: regular expression every study ID must match.

    Drops (and logs) blank rows, junk rows (first cell matching ``junk_rows``) and exact
    duplicate rows; raises :class:`DataValidationError` for a missing column, a study ID that
    does not match the pattern, an unparseable date, an unknown service or contact mode.
    """
    site = spec["site"]
    header_row = int(spec.get("header_row", 1))
    columns: dict[str, str] = dict(spec["columns"])
    modes: dict[str, str] = {str(k): v for k, v in (spec.get("modes") or {}).items()}
    log: list[LogEntry] = []
    for key in REQUIRED_KEYS + (("mode",) if "mode" in columns else ()):
        if key not in columns:
            raise DataValidationError("sources.yml", None, f"contact_logs[{site}].columns",
                                      "contact log columns declared",
                                      f"no column declared for {key!r} of {file}")
        if columns[key] not in frame.columns:
            raise DataValidationError(file, header_row, columns[key], "required column present",
                                      f"column {columns[key]!r} ({key}) is missing; the header "
                                      f"has {[c for c in frame.columns if c != '_row']}")
    data_columns = [c for c in frame.columns if c != "_row"]
    cells = frame[data_columns]

    blank = (cells == "").all(axis=1)
    if blank.any():
        log.append(LogEntry("clean", file, "blank row", int(blank.sum()), "dropped",
                            f"rows {_rows_text(frame.loc[blank, '_row'])}"))
    frame = frame.loc[~blank]

    junk_pattern = spec.get("junk_rows")
    if junk_pattern and len(frame):
        first = frame[data_columns[0]]
        junk = first.str.contains(junk_pattern, regex=True, flags=0)
        if junk.any():
            log.append(LogEntry("clean", file, f"junk row (first cell matches {junk_pattern})",
                                int(junk.sum()), "dropped",
                                f"rows {_rows_text(frame.loc[junk, '_row'])}"))
        frame = frame.loc[~junk]

    duplicated = frame.duplicated(subset=data_columns, keep="first")
    if duplicated.any():
        log.append(LogEntry("clean", file, "exact duplicate row", int(duplicated.sum()),
                            "dropped", f"rows {_rows_text(frame.loc[duplicated, '_row'])}"))
    frame = frame.loc[~duplicated]

    ids = frame[columns["study_id"]].str.strip()
    bad = ~ids.str.fullmatch(id_pattern)
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(frame.at[i, "_row"]), columns["study_id"],
                                  f"study ID pattern {id_pattern}",
                                  f"value {ids[i]!r} is not a study ID")

    date_format = str(spec["date_format"])
    raw_dates = frame[columns["date"]]
    dates = parse_dates(raw_dates, date_format)
    bad = dates.isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(frame.at[i, "_row"]), columns["date"],
                                  f"date format {date_format}",
                                  f"value {raw_dates[i]!r} is not a valid date in format "
                                  f"{date_format}")

    raw_services = frame[columns["service"]].str.strip()
    services = pd.Series([service_map.get((site, name)) for name in raw_services],
                         index=frame.index, dtype=object)
    bad = services.isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(frame.at[i, "_row"]), columns["service"],
                                  "service in service_map.csv",
                                  f"service name {raw_services[i]!r} at site {site!r} is not in "
                                  f"service_map.csv")
    log.append(LogEntry("clean", file, "service names harmonised via service_map.csv",
                        int(len(raw_services)), "recoded",
                        f"{raw_services.nunique()} distinct raw names"))

    if "mode" in columns:
        raw_modes = frame[columns["mode"]].str.strip()
        contact_modes = raw_modes.map(modes)
        bad = contact_modes.isna() & (raw_modes != "")
        if bad.any():
            i = bad.idxmax()
            raise DataValidationError(file, int(frame.at[i, "_row"]), columns["mode"],
                                      "contact mode in sources.yml",
                                      f"contact mode {raw_modes[i]!r} is not declared in "
                                      f"sources.yml contact_logs[{site}].modes")
    else:
        contact_modes = pd.Series(pd.NA, index=frame.index, dtype=object)

    contacts = pd.DataFrame({
        "study_id": ids.to_numpy(),
        "site": site,
        "service": services.to_numpy(),
        "contact_date": dates.to_numpy(),
        "contact_mode": contact_modes.to_numpy(),
        "source_file": file,
        "source_row": frame["_row"].to_numpy(),
    })
    return CleanedLog(contacts=contacts, log=log)


def _rows_text(rows: pd.Series, limit: int = 12) -> str:
    values = [str(int(r)) for r in rows.tolist()]
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def load_service_map(frame: pd.DataFrame, file: str, known_services: set[str],
                     known_sites: set[str]) -> dict[tuple[str, str], str]:
    """Check ``service_map.csv`` (site, raw_service, service) and return it as a dict."""
    for column in ("site", "raw_service", "service"):
        if column not in frame.columns:
            raise DataValidationError(file, 1, column, "required column present",
                                      "service_map.csv needs columns site, raw_service, service")
    mapping: dict[tuple[str, str], str] = {}
    for site, raw, service, row in zip(frame["site"].str.strip(), frame["raw_service"].str.strip(),
                                       frame["service"].str.strip(), frame["_row"]):
        if not (site or raw or service):
            continue
        if site not in known_sites:
            raise DataValidationError(file, int(row), "site", "known site",
                                      f"site {site!r} is not in analysis/config/sites.csv")
        if service not in known_services:
            raise DataValidationError(file, int(row), "service", "known service",
                                      f"service {service!r} is not in analysis/config/services.csv")
        if (site, raw) in mapping and mapping[(site, raw)] != service:
            raise DataValidationError(file, int(row), "raw_service", "one code per raw name",
                                      f"{raw!r} at {site} maps to two services")
        mapping[(site, raw)] = service
    return mapping
