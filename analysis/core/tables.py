"""The derived tables of ``analysis/CONTRACTS.md``: names, columns, dtypes, reading and writing.

Every derived table is stored twice in ``data_derived/``: ``<name>.parquet`` (typed, what code
reads) and ``<name>.csv`` (for people and diff tools). Both are written with deterministic bytes
(rows sorted by the table's key, fixed column order, no index, ``\\n`` line ends, ISO dates), so
rerunning the cleaning stage on the same raw export changes no file.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.core import paths

# --------------------------------------------------------------------------------------------
# Controlled vocabularies shared by the cleaning stage, the schemas and later stages
# --------------------------------------------------------------------------------------------

WAVE_LABELS: dict[int, str] = {
    1: "Pregnancy",
    2: "Birth / 6-8 weeks",
    3: "6 months",
    4: "12 months",
    5: "18 months",
}
"""Interview waves and their labels (CONTRACTS.md, "Waves")."""

WAVE_TARGET_WEEKS: dict[int, float] = {1: -20.0, 2: 7.0, 3: 26.0, 4: 52.0, 5: 78.0}
"""Target timing of each wave in weeks relative to the birth."""

TREATMENTS: tuple[str, ...] = ("methadone", "buprenorphine", "none")
PARTICIPANT_STATUSES: tuple[str, ...] = ("active", "completed", "withdrawn", "lost_to_follow_up")
INTERVIEW_STATUSES: tuple[str, ...] = ("completed", "missed", "withdrawn", "lost")
EVENTS: tuple[str, ...] = (
    "booking",
    "pre_birth_assessment",
    "child_protection_conference",
    "birth",
    "neonatal_unit",
    "nas_treatment",
    "placement_change",
    "rehab_start",
    "rehab_end",
)
PLACEMENTS: tuple[str, ...] = (
    "with_mother",
    "mother_baby_placement",
    "kinship_care",
    "foster_care",
    "adoption",
)
PHASES: tuple[str, ...] = ("antenatal", "birth", "postnatal")
BIRTH_PHASE_WEEKS: tuple[float, float] = (-0.5, 2.0)
"""The ``birth`` phase covers weeks -0.5 to +2 relative to the birth (both ends included)."""

CONTACT_MODES: tuple[str, ...] = ("face_to_face", "home_visit", "telephone", "video", "other")
DATA_COLLECTIONS: tuple[str, ...] = ("focus group", "interview")

# --------------------------------------------------------------------------------------------
# Table layouts
# --------------------------------------------------------------------------------------------

STRING = "string"
BOOL = "boolean"
INT = "Int64"
FLOAT = "float64"
DATE = "datetime64[ns]"

TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "participants": {
        "study_id": STRING,
        "site": STRING,
        "recruited": BOOL,
        "age_band": STRING,
        "ethnicity": STRING,
        "parity": INT,
        "previous_children_removed": BOOL,
        "care_experienced": BOOL,
        "treatment": STRING,
        "housing": STRING,
        "domestic_abuse": BOOL,
        "gestation_at_recruitment_weeks": INT,
        "status": STRING,
        "waves_completed": INT,
        "last_wave": INT,
        "placement_at_birth": STRING,
        "placement_at_18m": STRING,
    },
    "participant_substances": {"study_id": STRING, "substance": STRING},
    "participant_mental_health": {"study_id": STRING, "condition": STRING},
    "interviews": {
        "study_id": STRING,
        "site": STRING,
        "wave": INT,
        "wave_label": STRING,
        "status": STRING,
        "week_rel_birth": FLOAT,
    },
    "events": {
        "study_id": STRING,
        "site": STRING,
        "event": STRING,
        "week_rel_birth": FLOAT,
        "detail": STRING,
        "phase": STRING,
    },
    "placements": {
        "study_id": STRING,
        "site": STRING,
        "placement": STRING,
        "from_week": FLOAT,
        "to_week": FLOAT,
    },
    "contacts": {
        "contact_id": STRING,
        "study_id": STRING,
        "site": STRING,
        "service": STRING,
        "contact_date": DATE,
        "week_rel_birth": FLOAT,
        "phase": STRING,
        "contact_mode": STRING,
        "source_file": STRING,
        "source_row": INT,
    },
    "codebook": {
        "code_id": STRING,
        "code": STRING,
        "parent_id": STRING,
        "theme_id": STRING,
        "theme": STRING,
        "level": INT,
        "description": STRING,
        "colour": STRING,
    },
    "segments": {
        "segment_id": STRING,
        "study_id": STRING,
        "site": STRING,
        "wave": INT,
        "document": STRING,
        "code_id": STRING,
        "theme_id": STRING,
        "text": STRING,
        "start": INT,
        "end": INT,
        "coder": STRING,
    },
    "professionals": {
        "prof_id": STRING,
        "site": STRING,
        "role": STRING,
        "service": STRING,
        "data_collection": STRING,
        "document": STRING,
    },
    "professional_segments": {
        "segment_id": STRING,
        "prof_id": STRING,
        "site": STRING,
        "document": STRING,
        "code_id": STRING,
        "theme_id": STRING,
        "text": STRING,
        "start": INT,
        "end": INT,
        "coder": STRING,
    },
    # Issue 13: diaries, drawings of significant life events, EACG review, model of care.
    "diary_entries": {
        "entry_id": STRING,
        "study_id": STRING,
        "site": STRING,
        "mode": STRING,
        "entry_date": DATE,
        "week_rel_birth": FLOAT,
        "duration_min": INT,
        "items": INT,
        "consent": STRING,
        "transcript": STRING,
        "image": STRING,
        "description": STRING,
    },
    "diary_segments": {
        "segment_id": STRING,
        "entry_id": STRING,
        "study_id": STRING,
        "site": STRING,
        "week_rel_birth": FLOAT,
        "code_id": STRING,
        "theme_id": STRING,
        "text": STRING,
        "start": INT,
        "end": INT,
        "coder": STRING,
    },
    "drawings": {
        "drawing_id": STRING,
        "study_id": STRING,
        "site": STRING,
        "drawn_week": FLOAT,
        "consent": STRING,
        "image": STRING,
        "description": STRING,
    },
    "life_events": {
        "drawing_id": STRING,
        "event_no": INT,
        "study_id": STRING,
        "site": STRING,
        "kind": STRING,
        "kind_label": STRING,
        "label": STRING,
        "valence": STRING,
        "when": STRING,
        "week_rel_birth": FLOAT,
        "age": INT,
    },
    "care_model_stages": {"stage_id": STRING, "label": STRING, "order": INT,
                          "from_week": FLOAT, "to_week": FLOAT},
    "care_model_findings": {"finding_id": STRING, "statement": STRING, "themes": STRING,
                            "theme_ids": STRING},
    "care_model_components": {"component_id": STRING, "label": STRING, "stages": STRING,
                              "findings": STRING, "since": INT},
    "care_model_versions": {"version": INT, "date": DATE, "note": STRING},
    "eacg_reviews": {
        "meeting_date": DATE,
        "members": STRING,
        "item": STRING,
        "item_kind": STRING,
        "discussed": STRING,
        "response": STRING,
        "change": STRING,
        "version": INT,
        "source_row": INT,
    },
    "cleaning_log": {
        "stage": STRING,
        "file": STRING,
        "rule": STRING,
        "rows_affected": INT,
        "action": STRING,
        "detail": STRING,
    },
}
"""Column order and pandas dtype of every derived table."""

TABLE_NAMES: tuple[str, ...] = tuple(TABLE_COLUMNS)
"""All derived tables, in the order of CONTRACTS.md."""

SORT_KEYS: dict[str, list[str]] = {
    "participants": ["study_id"],
    "participant_substances": ["study_id", "substance"],
    "participant_mental_health": ["study_id", "condition"],
    "interviews": ["study_id", "wave"],
    "events": ["study_id", "week_rel_birth", "event", "detail"],
    "placements": ["study_id", "from_week"],
    "contacts": ["contact_id"],
    "codebook": ["code_id"],
    "segments": ["segment_id"],
    "professionals": ["prof_id"],
    "professional_segments": ["segment_id"],
    "diary_entries": ["entry_id"],
    "diary_segments": ["segment_id"],
    "drawings": ["drawing_id"],
    "life_events": ["drawing_id", "event_no"],
    "care_model_stages": ["order"],
    "care_model_findings": ["finding_id"],
    "care_model_components": ["component_id"],
    "care_model_versions": ["version"],
    "eacg_reviews": ["source_row"],
    "cleaning_log": [],  # kept in the order the stage ran
}
"""Row order of each table (the stored files are sorted by these columns)."""

SITE_TABLES: tuple[str, ...] = (
    "participants",
    "participant_substances",
    "participant_mental_health",
    "interviews",
    "events",
    "placements",
    "contacts",
    "segments",
    "professionals",
    "professional_segments",
    "diary_entries",
    "diary_segments",
    "drawings",
    "life_events",
)
"""Tables whose rows belong to one site (directly or through ``study_id``)."""


def empty_table(name: str) -> pd.DataFrame:
    """Return an empty DataFrame with the columns and dtypes of table ``name``."""
    return conform(pd.DataFrame(columns=list(TABLE_COLUMNS[name])), name)


def conform(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the columns of table ``name``, in order, with its dtypes.

    Raises:
        KeyError: if a column of the table is missing from ``frame``.
    """
    columns = TABLE_COLUMNS[name]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"table {name!r} lacks columns {missing}")
    out = frame.loc[:, list(columns)].copy()
    for column, dtype in columns.items():
        if dtype == DATE:
            out[column] = pd.to_datetime(out[column]).astype(DATE)
        elif dtype == FLOAT:
            out[column] = pd.to_numeric(out[column], errors="raise").astype(FLOAT)
        else:
            out[column] = out[column].astype(dtype)
    return out.reset_index(drop=True)


def sort_table(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return ``frame`` in the stored row order of table ``name`` (stable, NaN last)."""
    keys = SORT_KEYS[name]
    if not keys or frame.empty:
        return frame.reset_index(drop=True)
    return frame.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def table_csv_bytes(frame: pd.DataFrame, *, header: bool = True) -> bytes:
    """Return the deterministic UTF-8 CSV bytes of a table (no index, ``\\n``, ISO dates)."""
    return frame.to_csv(index=False, header=header, lineterminator="\n",
                        date_format="%Y-%m-%d").encode("utf-8")


def table_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Return deterministic parquet bytes of a table (no index, one row group)."""
    buffer = io.BytesIO()
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(arrow, buffer, compression="zstd", row_group_size=max(len(frame), 1))
    return buffer.getvalue()


def write_tables(tables: Mapping[str, pd.DataFrame], folder: Path,
                 fingerprints: SiteFingerprints | None = None) -> list[str]:
    """Write each table as ``<name>.parquet`` and ``<name>.csv`` into ``folder``.

    Tables are conformed to their declared layout and sorted first, one at a time. With
    ``fingerprints``, each site table is also added to the sites' fingerprints, from the same
    CSV bytes where it can be cut by site (:func:`site_csv`). Returns the file names written
    (relative to ``folder``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for name in TABLE_NAMES:
        if name not in tables:
            continue
        frame = sort_table(conform(tables[name], name), name)
        (folder / f"{name}.parquet").write_bytes(table_parquet_bytes(frame))
        cut = None
        if fingerprints is not None and name in SITE_TABLES:
            cut = site_csv(frame, tables.get("participants"))
            fingerprints.add(name, frame, tables.get("participants"), cut)
        with open(folder / f"{name}.csv", "wb") as handle:
            if cut:
                cut.write_to(handle)
            else:
                handle.write(table_csv_bytes(frame))
        written += [f"{name}.parquet", f"{name}.csv"]
    return written


def read_table(name: str, folder: Path | None = None) -> pd.DataFrame:
    """Read derived table ``name`` from ``folder`` (default: ``analysis.core.paths.data_derived()``).

    Returns the table with its declared column order and dtypes.
    """
    if name not in TABLE_COLUMNS:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLE_NAMES)}")
    folder = Path(folder) if folder is not None else paths.data_derived()
    path = folder / f"{name}.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run the cleaning stage (notebooks/01_clean)")
    return conform(pd.read_parquet(path), name)


def load_all(folder: Path | None = None) -> dict[str, pd.DataFrame]:
    """Read every derived table from ``folder``; returns ``{name: DataFrame}``."""
    return {name: read_table(name, folder) for name in TABLE_NAMES}


def site_rows(tables: Mapping[str, pd.DataFrame], name: str, site: str) -> pd.DataFrame:
    """Return the rows of table ``name`` that belong to ``site``.

    Tables without a ``site`` column are matched through ``study_id`` and ``participants``.
    """
    return _site_rows(tables[name], tables.get("participants"), site)


def _site_rows(frame: pd.DataFrame, participants: pd.DataFrame | None, site: str) -> pd.DataFrame:
    if "site" in frame.columns:
        return frame.loc[frame["site"] == site]
    assert participants is not None, "a table without a site column needs participants"
    ids = set(participants.loc[participants["site"] == site, "study_id"])
    return frame.loc[frame["study_id"].isin(ids)]


def row_sites(frame: pd.DataFrame, participants: pd.DataFrame | None) -> list[str | None]:
    """The site of each row of a site table, as :func:`site_rows` assigns rows to sites
    (``site`` column, else ``study_id`` through ``participants``; ``None``: no site)."""
    if "site" in frame.columns:
        sites = frame["site"]
    else:
        assert participants is not None, "a table without a site column needs participants"
        sites = frame["study_id"].map(dict(zip(participants["study_id"], participants["site"])))
    return sites.astype(object).where(sites.notna(), None).tolist()


MAX_CSV_RUNS = 64
"""Above this many runs of one site (a table not ordered by site) :func:`site_csv` gives up."""


@dataclass(frozen=True)
class SiteCsv:
    """A table's CSV bytes, cut where the site changes from one row to the next.

    Each row's CSV text depends on that row alone (no column-wide format: see
    :func:`site_csv`), so the table's file is the header and every run, and a site's rows are
    the header and that site's runs: the CSV is made once for both.
    """

    header: bytes
    runs: tuple[tuple[str | None, bytes], ...]
    """(site, CSV lines) of each run of consecutive rows of one site (``None``: no site)."""

    def whole(self) -> bytes:
        """The whole table, byte for byte as :func:`table_csv_bytes` writes it."""
        return self.header + b"".join(body for _, body in self.runs)

    def write_to(self, handle: BinaryIO) -> None:
        """Write :meth:`whole` to an open file, run by run (no second copy in memory)."""
        handle.write(self.header)
        for _, body in self.runs:
            handle.write(body)

    def of_site(self, site: str) -> bytes:
        """The site's rows alone, byte for byte as :func:`table_csv_bytes` of :func:`site_rows`."""
        return self.header + b"".join(body for key, body in self.runs if key == site)


def site_csv(frame: pd.DataFrame, participants: pd.DataFrame | None) -> SiteCsv | None:
    """A site table's CSV in runs of one site, or ``None`` when it cannot be cut: a column whose
    CSV format pandas chooses for the whole column (durations, periods), or more than
    :data:`MAX_CSV_RUNS` runs."""
    if any(pd.api.types.is_timedelta64_dtype(dtype) or isinstance(dtype, pd.PeriodDtype)
           for dtype in frame.dtypes):
        return None
    sites = row_sites(frame, participants)
    starts = [0] + [i for i in range(1, len(sites)) if sites[i] != sites[i - 1]]
    if len(starts) > MAX_CSV_RUNS:
        return None
    ends = starts[1:] + [len(sites)]
    return SiteCsv(table_csv_bytes(frame.iloc[:0]), tuple(
        (sites[start], table_csv_bytes(frame.iloc[start:end], header=False))
        for start, end in zip(starts, ends) if end > start))


class SiteFingerprints:
    """Each site's fingerprint: a sha256 over the site's rows of every derived table, plus the
    codebook and the site's own rows of the cleaning log.

    Fed one stored (conformed, sorted) site table at a time, in :data:`SITE_TABLES` order
    (:func:`write_tables` does it as it writes them), then :meth:`finish`.
    """

    def __init__(self, sites: Iterable[str]) -> None:
        self._digests = {site: hashlib.sha256() for site in sites}
        self._added: list[str] = []

    def add(self, name: str, frame: pd.DataFrame, participants: pd.DataFrame | None,
            cut: SiteCsv | None = None) -> None:
        """Add site table ``name`` (``cut``: its CSV already cut by site, if made)."""
        order = list(SITE_TABLES)
        if self._added and order.index(name) <= order.index(self._added[-1]):
            raise ValueError(f"site tables are added in SITE_TABLES order: {name} after "
                             f"{self._added[-1]}")
        self._added.append(name)
        for site, digest in self._digests.items():
            digest.update(f"## {name}\n".encode())
            digest.update(cut.of_site(site) if cut else table_csv_bytes(
                _site_rows(frame, participants, site).reset_index(drop=True)))

    def finish(self, tables: Mapping[str, pd.DataFrame],
               log_files: Mapping[str, Iterable[str]]) -> dict[str, str]:
        """The fingerprints, after the codebook and each site's cleaning-log rows (those
        whose ``file`` is one of ``log_files[site]``, the raw files only that site has)."""
        result = {}
        codebook = table_csv_bytes(tables["codebook"]) if "codebook" in tables else None
        for site, digest in self._digests.items():
            if codebook is not None:
                digest.update(b"## codebook\n")
                digest.update(codebook)
            if "cleaning_log" in tables:
                log = tables["cleaning_log"]
                digest.update(b"## cleaning_log\n")
                digest.update(table_csv_bytes(log.loc[log["file"].isin(list(log_files.get(site, [])))]))
            result[site] = digest.hexdigest()
        return result


def site_fingerprint(
    tables: Mapping[str, pd.DataFrame], site: str, log_files: Iterable[str] = ()
) -> str:
    """Return one site's fingerprint (:class:`SiteFingerprints`) from tables already conformed
    and sorted (as :func:`write_tables` stores them)."""
    fingerprints = SiteFingerprints([site])
    for name in SITE_TABLES:
        if name in tables:
            fingerprints.add(name, tables[name], tables.get("participants"))
    return fingerprints.finish(tables, {site: log_files})[site]
