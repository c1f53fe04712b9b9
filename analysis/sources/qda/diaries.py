"""Coded audio diary transcripts read from a REFI-QDA project (issue 13).

Audio diary transcripts are coded like interviews, with the same codebook, either in their own
CSV export (``sources.yml`` section ``diary_segments`` with a ``file``) or inside the REFI-QDA
project that holds the interview codings (``qdpx:`` declared and ``diary_segments`` without a
``file``). This module serves the second form:

- :func:`diary_sources` decides which text sources of a project are diary transcripts and which
  diary entry each one is: a row of the declared diary map (``diary_segments.map``, columns
  ``qda_name, entry_id``, optionally ``study_id``) whose ``qda_name`` is the source's name (with
  or without its file extension), else the source's own name when it follows the diary naming
  (``diary_segments.document_pattern``, default ``<study_id>_D<nn>``). Naming follows the
  interview mapping (:mod:`analysis.sources.qda.mapping`): the map is where NVivo or ATLAS.ti source
  names are tied to study entries.
- :func:`without_sources` gives the project without those sources, so that the interview mapping
  never sees a diary (an unmapped diary would otherwise be an "unmapped source").
- :func:`diary_codings` gives the diary codings as the CSV export's frame (``Document, Code,
  Start, End, Coded text, Coder`` as strings, ``_row`` the XML line of each ``<Coding>``), the
  transcripts by entry and the XML line of each diary's ``<TextSource>``, so the diary reader
  (:mod:`analysis.analyse.diaries`) applies the same rules and gives the same derived table.

This module imports from :mod:`analysis.sources.qda.mapping` and :mod:`analysis.sources.qda.read`; neither
imports it.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.sources.qda.errors import DataValidationError, QdaError, QdaWarning
from analysis.sources.qda.mapping import map_columns, source_stem
from analysis.sources.qda.model import QdaProject, SEGMENT_COLUMNS
from analysis.sources.qda.read import read_project

DIARY_MAP_COLUMNS = ["qda_name", "entry_id", "study_id"]
"""Columns of a diary map (``qda_name`` and ``entry_id`` required, ``study_id`` optional)."""

DEFAULT_DIARY_PATTERN = r"^(?P<study_id>.+)_D[0-9]+$"
"""Diary entry naming when ``diary_segments.document_pattern`` is not given."""

DIARY_SOURCES_COLUMNS = ["source_guid", "qda_source", "entry_id", "study_id", "line", "matched_by"]
"""Columns of :func:`diary_sources`: one row per diary transcript in the project."""


@dataclass
class DiaryCodings:
    """Diary codings read from a project (see :func:`diary_codings`).

    Attributes:
        file: the ``<file>.qdpx!<entry>.qde`` that XML lines count in.
        segments: the CSV export's columns (strings) plus ``_row`` (line of the ``<Coding>``).
        transcripts: canonical text of each diary transcript, by entry id.
        sources: :data:`DIARY_SOURCES_COLUMNS` (the ``<TextSource>`` line of each entry).
    """

    file: str
    segments: pd.DataFrame
    transcripts: dict[str, str]
    sources: pd.DataFrame

    def line_of(self, entry_id: str) -> int | None:
        """XML line of the entry's ``<TextSource>`` (None if the entry is not in the project)."""
        hits = self.sources.loc[self.sources["entry_id"] == entry_id, "line"]
        return int(hits.iloc[0]) if len(hits) else None


def validate_diary_map(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """Check a diary map and return it with :data:`DIARY_MAP_COLUMNS` as stripped strings.

    Raises:
        DataValidationError: naming the file, line (header is line 1), column and rule.
    """
    table = map_columns(frame, file, list(DIARY_MAP_COLUMNS), ("qda_name", "entry_id"))
    seen: dict[str, int] = {}
    entries: dict[str, int] = {}
    for index, row in enumerate(table.itertuples(index=False)):
        line = index + 2
        for column in ("qda_name", "entry_id"):
            if not getattr(row, column):
                raise DataValidationError(file, line, column, "required value", f"{column} is empty")
        if row.qda_name in seen:
            raise DataValidationError(file, line, "qda_name", "unique",
                                      f"{row.qda_name!r} also on line {seen[row.qda_name]}")
        if row.entry_id in entries:
            raise DataValidationError(file, line, "entry_id", "unique",
                                      f"{row.entry_id!r} also on line {entries[row.entry_id]}")
        seen[row.qda_name], entries[row.entry_id] = line, line
    return table


def read_diary_map(path: str | Path) -> pd.DataFrame:
    """Read and check a diary map CSV (UTF-8; see :func:`validate_diary_map`)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(str(path), None, None, "file present",
                                  f"{path.name} declared in sources.yml (diary_segments.map) does "
                                  "not exist")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return validate_diary_map(frame, str(path))


def diary_sources(project: QdaProject, *, pattern: str = DEFAULT_DIARY_PATTERN,
                  diary_map: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which text sources of *project* are diary transcripts, and of which entry.

    Args:
        project: from :func:`analysis.sources.qda.read.read_project`.
        pattern: the diary entry naming; a named group ``study_id`` gives the woman.
        diary_map: a checked diary map (:func:`read_diary_map`) or None.

    Returns:
        :data:`DIARY_SOURCES_COLUMNS`, in the project's source order; ``study_id`` is the woman
        the source names ('' when neither the map nor the naming gives one).

    Raises:
        QdaError: two sources of one entry (file, ``TextSource`` and line named).
    """
    naming = re.compile(pattern)
    by_name = {} if diary_map is None else {row["qda_name"]: row
                                            for row in diary_map.to_dict("records")}
    rows, used = [], {}
    for source in project.sources.to_dict("records"):
        name = source["name"]
        row = by_name.get(name) or by_name.get(source_stem(name))
        if row is not None:
            entry, matched_by, named = row["entry_id"], "diary map", row.get("study_id", "")
        elif naming.match(source_stem(name)):
            entry, matched_by, named = source_stem(name), "source name", ""
        else:
            continue
        if not named:
            match = naming.match(entry)
            named = (match.groupdict().get("study_id") or "") if match else ""
        if entry in used:
            raise QdaError(project.file, "TextSource", source["line"], "one source per diary entry",
                           f"sources {used[entry]!r} and {name!r} are both diary entry {entry!r}")
        used[entry] = name
        rows.append({"source_guid": source["guid"], "qda_source": name, "entry_id": entry,
                     "study_id": named, "line": int(source["line"]), "matched_by": matched_by})
    return pd.DataFrame(rows, columns=DIARY_SOURCES_COLUMNS).astype({"line": "int64"})


def without_sources(project: QdaProject, guids: set[str]) -> QdaProject:
    """A copy of *project* without the text sources *guids* (their codings, texts, links)."""
    if not guids:
        return project

    def keep(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        return frame.loc[~frame[column].isin(guids)].reset_index(drop=True)

    return dataclasses.replace(
        project,
        sources=keep(project.sources, "guid"),
        texts={guid: text for guid, text in project.texts.items() if guid not in guids},
        codings=keep(project.codings, "source_guid"),
        source_variables=keep(project.source_variables, "owner_guid"),
        case_sources=keep(project.case_sources, "source_guid"),
    )


def diary_codings(project: QdaProject, sources: pd.DataFrame) -> DiaryCodings:
    """The codings of the diary *sources* as the CSV export's frame (see :class:`DiaryCodings`).

    Rows are in the export's order (entry, Start, End, Code); offsets are code points of the
    canonical text (no BOM, ``\\n`` line ends), as everywhere in :mod:`analysis.sources.qda`.
    """
    entry_of = dict(zip(sources["source_guid"], sources["entry_id"], strict=True))
    codings = project.codings.loc[project.codings["source_guid"].isin(entry_of)].copy()
    codings["entry_id"] = codings["source_guid"].map(entry_of)
    codings = codings.sort_values(["entry_id", "start", "end", "code", "line"], kind="stable")
    frame = pd.DataFrame({
        "Document": codings["entry_id"].astype(str),
        "Code": codings["code"].astype(str),
        "Start": codings["start"].astype("int64").astype(str),
        "End": codings["end"].astype("int64").astype(str),
        "Coded text": codings["text"].astype(str),
        "Coder": codings["coder"].fillna("").astype(str),
    }, columns=SEGMENT_COLUMNS)
    frame["_row"] = codings["line"].astype("int64").to_numpy()
    transcripts = {entry: project.texts[guid] for guid, entry in entry_of.items()
                   if guid in project.texts}
    return DiaryCodings(project.file, frame.reset_index(drop=True), transcripts,
                        sources.reset_index(drop=True))


def read_diary_codings(path: str | Path, *, pattern: str = DEFAULT_DIARY_PATTERN,
                       diary_map: str | Path | pd.DataFrame | None = None,
                       strict: bool = True) -> DiaryCodings:
    """Read a ``.qdpx`` and return its diary codings (tolerated deviations are not re-issued).

    Raises:
        QdaError: for an unreadable project or two sources of one entry.
        DataValidationError: for a bad diary map.
    """
    if isinstance(diary_map, (str, Path)):
        diary_map = read_diary_map(diary_map)
    elif diary_map is not None:
        diary_map = validate_diary_map(diary_map, "diary map")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QdaWarning)
        project = read_project(path, strict=strict)
    return diary_codings(project, diary_sources(project, pattern=pattern, diary_map=diary_map))


def project_diary_spec(sources: Mapping) -> dict | None:
    """The ``diary_segments`` section when it reads from the declared project, else None.

    That is when ``sources.yml`` declares ``qdpx:`` and ``diary_segments`` has no ``file``.
    """
    section = sources.get("diary_segments")
    if sources.get("qdpx") is None or not isinstance(section, dict) or "file" in section:
        return None
    return section


def without_diary_sources(project: QdaProject, sources: Mapping, raw_dir: Path) -> QdaProject:
    """The project without its diary transcripts when ``sources.yml`` reads diaries from it.

    Used before the interview mapping, so a diary transcript is never an "unmapped source".
    """
    spec = project_diary_spec(sources)
    if spec is None:
        section = sources.get("diary_segments")
        if isinstance(section, dict) and "file" in section:
            pattern = str(section.get("document_pattern") or DEFAULT_DIARY_PATTERN)
            found = diary_sources(project, pattern=pattern)
            if len(found):
                first = found.iloc[0]
                raise QdaError(project.file, "TextSource", int(first["line"]), "diary codings declared once",
                               f"source {first['qda_source']!r} is an audio diary transcript, but sources.yml "
                               f"reads diary codings from {section['file']} (diary_segments.file); keep one: "
                               "remove that file entry to read them from the project, or remove the diary "
                               "sources from the project")
        return project
    diary_map = read_diary_map(raw_dir / str(spec["map"])) if spec.get("map") else None
    found = diary_sources(project, pattern=str(spec.get("document_pattern") or DEFAULT_DIARY_PATTERN),
                          diary_map=diary_map)
    return without_sources(project, set(found["source_guid"]))
