"""Issue 13's study inputs in the cleaning stage: diaries, drawings, EACG log, model of care.

The cleaning stage (:func:`analysis.clean.run.read_materials`) reads them once, after it has the
recruited women, their birth dates and the codebook. Each input has its own module
(:mod:`analysis.clean.diaries`, :mod:`analysis.clean.life_events`, :mod:`analysis.clean.eacg`,
:mod:`analysis.clean.care_model`); this module holds what they share: reading a declared,
optional ``sources.yml`` section (through the cleaning stage's own reader, so encodings, blank
and duplicate rows and identifier screening work as for every other file), value maps, dates,
the study window, consent, unknown women, and :func:`raise_at_first` (the error at the first row
that breaks a rule).

Every broken rule raises :class:`analysis.core.errors.DataValidationError` naming file, row, column
and rule; the cleaning stage writes nothing then. Reads CONTRACTS.md "Raw export folder"; the
tables it helps derive are listed in :data:`analysis.clean.run.MATERIAL_TABLES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.protect.screening import free_text_columns, screen_identifiers
from analysis.sources.contact_logs import LogEntry
from analysis.sources.declared import drop_blank_and_duplicates, read_source, require_columns

CONSENT_LEVELS: tuple[str, ...] = ("none", "quote", "image")
"""Consent for use in outputs, least to most: nothing; words only; image too (de-identified)."""

DEFAULT_WINDOW_WEEKS: tuple[float, float] = (-44.0, 82.0)
"""Study window in weeks relative to the birth (pregnancy to the 18-month interview)."""

OPTIONAL_SECTIONS: tuple[str, ...] = ("diaries", "diary_segments", "drawings", "drawing_events",
                                      "eacg_review_log", "model_of_care")
"""The ``sources.yml`` sections of these inputs; each may be left out."""


@dataclass
class MaterialsContext:
    """What the readers need from the cleaning stage."""

    raw_dir: Path
    sources: Mapping
    women: pd.DataFrame  # study_id, site, recruited
    birth: pd.Series  # birth date by study_id (recruited women)
    codebook: pd.DataFrame
    log: list[LogEntry] = field(default_factory=list)
    record_input: Callable[[str], None] = lambda file: None

    @property
    def window(self) -> tuple[float, float]:
        """The study window in weeks (``study_window_weeks`` in sources.yml, else the default)."""
        value = self.sources.get("study_window_weeks") or DEFAULT_WINDOW_WEEKS
        return float(value[0]), float(value[1])

    def section(self, key: str) -> dict | None:
        """The section, or None when it is not declared (logged)."""
        spec = self.sources.get(key)
        if spec is None:
            self.log.append(LogEntry("read", "sources.yml", f"{key} not declared", 0,
                                     "empty table", "optional input"))
            return None
        if not isinstance(spec, dict) or "file" not in spec:
            raise DataValidationError("sources.yml", None, key, "section has a file",
                                      f"section {key!r} must be a mapping with a 'file' entry")
        return spec


def read_declared(mc: MaterialsContext, spec: Mapping, required: tuple[str, ...],
                  screen: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read a declared CSV: columns renamed to their derived names, ``_file``/``_row`` kept.

    Blank and exactly duplicated rows are dropped and logged; the columns in ``screen`` (and
    every column sources.yml does not declare) pass identifier screening first.
    """
    file = str(spec["file"])
    frame = read_source(mc.raw_dir, spec)
    mc.record_input(file)
    columns = dict(spec.get("columns") or {})
    for key in required:
        if key not in columns:
            raise DataValidationError("sources.yml", None, key, "column declared",
                                      f"the section for {file} does not declare column {key!r}")
    require_columns(frame, {k: columns[k] for k in required}, file,
                    int(spec.get("header_row", 1)))
    screen_identifiers(frame, file, free_text_columns(frame, columns, screen))
    frame = drop_blank_and_duplicates(frame, file, mc.log)
    out = pd.DataFrame({key: frame[name].astype(str).str.strip() if name in frame.columns else ""
                        for key, name in columns.items()}, index=frame.index)
    out["_row"] = frame["_row"].astype(int)
    out["_file"] = file
    return out.reset_index(drop=True), columns


def fail(frame: pd.DataFrame, i: int, column: str, rule: str, message: str) -> DataValidationError:
    """The error for row ``i`` of a frame read by :func:`read_declared`."""
    return DataValidationError(str(frame.at[i, "_file"]), int(frame.at[i, "_row"]), column, rule,
                               message)


def raise_at_first(frame: pd.DataFrame, bad: pd.Series, column: str, rule: str,
                   message: Callable[[int], str],
                   error: Callable[..., Exception] | None = None) -> None:
    """Raise the error for the first row where ``bad`` holds (nothing when none does).

    ``message(i)`` words it for row ``i``; ``error`` builds it (default :func:`fail`, naming
    ``_file`` and ``_row``; a REFI-QDA reader passes one naming the XML element and line).
    """
    if bad.any():
        i = int(bad.idxmax())
        raise (error or fail)(frame, i, column, rule, message(i))


def require_filled(frame: pd.DataFrame, key: str, columns: Mapping[str, str], what: str) -> None:
    """Every row has a value in ``key`` (e.g. consent), else an error at the first blank."""
    blank = frame[key].fillna("").astype(str).str.strip() == ""
    raise_at_first(frame, blank, columns[key], f"{what} recorded",
                   lambda i: f"no {what} recorded: every item needs one")


def map_values(frame: pd.DataFrame, key: str, mapping: Mapping[str, str], columns: Mapping[str, str],
               what: str) -> pd.Series:
    """Map the file's wording to codes; an unknown value is an error listing the known ones."""
    known = {str(k): str(v) for k, v in mapping.items()}
    codes = frame[key].map(known)
    raise_at_first(frame, codes.isna(), columns[key], f"{what} in sources.yml",
                   lambda i: f"value {frame.at[i, key]!r} is not a known {what}; known: {sorted(known)}")
    return codes


def consent_codes(frame: pd.DataFrame, spec: Mapping, columns: Mapping[str, str]) -> pd.Series:
    """Consent per row as ``none`` / ``quote`` / ``image``; blank consent is an error."""
    require_filled(frame, "consent", columns, "consent")
    mapping = dict(spec.get("consent") or {c: c for c in CONSENT_LEVELS})
    codes = map_values(frame, "consent", mapping, columns, "consent level")
    raise_at_first(frame, ~codes.isin(CONSENT_LEVELS), columns["consent"], "consent level in sources.yml",
                   lambda i: f"sources.yml maps {frame.at[i, 'consent']!r} to {codes[i]!r}, not one of "
                             f"{list(CONSENT_LEVELS)}")
    return codes


def require_women(frame: pd.DataFrame, mc: MaterialsContext, columns: Mapping[str, str],
                  what: str) -> None:
    """Every row's ``study_id`` is a recruited woman."""
    recruited = set(mc.women.loc[mc.women["recruited"].fillna(False).astype(bool), "study_id"])
    raise_at_first(frame, ~frame["study_id"].isin(recruited), columns["study_id"],
                   "study ID of a recruited woman",
                   lambda i: f"{what} for {frame.at[i, 'study_id']!r}, who is not a recruited woman "
                             "of the REDCap export")


def parse_date(frame: pd.DataFrame, i: int, value: str, formats: tuple[str, ...], column: str
               ) -> pd.Timestamp:
    """A date in one of ``formats``; a month alone (no ``%d``) is taken as its 15th."""
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        if "%d" not in fmt:
            parsed = parsed.replace(day=15)
        return pd.Timestamp(parsed)
    raise fail(frame, i, column, f"date format {' or '.join(formats)}",
               f"value {value!r} is not a date in {' or '.join(formats)}")


def weeks_in_window(frame: pd.DataFrame, dates: pd.Series, mc: MaterialsContext, column: str,
                    what: str) -> pd.Series:
    """Weeks relative to the woman's birth; a date outside the study window is an error."""
    birth = pd.to_datetime(frame["study_id"].map(mc.birth))
    weeks = (pd.to_datetime(dates) - birth).dt.days / 7.0
    low, high = mc.window
    outside = weeks.notna() & ((weeks < low) | (weeks > high))
    if outside.any():
        i = int(outside.idxmax())
        raise fail(frame, i, column, f"date in the study window ({low:g} to {high:g} weeks)",
                   f"{what} dated {pd.Timestamp(dates[i]).date()} is {weeks[i]:.1f} weeks from "
                   f"{frame.at[i, 'study_id']}'s birth, outside the study window; give an event "
                   "before the pregnancy as an age")
    return weeks


def raw_folder(derived: Path) -> Path:
    """The raw export folder the derived tables in ``derived`` were cleaned from.

    Read from ``manifest.json`` (``data_raw``, relative to the project root or absolute); the
    gallery reads the images of consented visual items from there, so images never leave the
    raw folder except into an output.
    """
    import json

    from analysis.core import paths

    manifest = Path(derived) / "manifest.json"
    meta = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    recorded = meta.get("data_raw") or meta.get("DATA_RAW")
    folder = Path(str(recorded)) if recorded else paths.data_raw()
    return folder if folder.is_absolute() else paths.PROJECT_ROOT / folder
