"""Coded data from a REFI-QDA project (``qdpx:`` in ``sources.yml``), the CSV export's alternative.

``qdpx: {file: X.qdpx, map: qda_map.csv, strict: true}`` (``map`` and ``strict`` optional)
replaces the ``file`` entries of the ``codebook``, ``segments`` and ``professional_segments``
sections. The project is read with :func:`analysis.sources.qda.read_project` and mapped to study
documents with the declared map only; the frames it gives are those of the CSV export. Rows read
from the project carry the XML line of their ``<Code>`` or ``<Coding>`` element, and a broken
rule about them is raised as a :class:`analysis.sources.qda.QdaError` naming
``X.qdpx!project.qde``, the element and its line. Reads CONTRACTS.md "Raw export folder".
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.sources.contact_logs import LogEntry
from analysis.sources.context import ProjectData, ReadContext, SOURCES_FILE
from analysis.sources.declared import CODED_SECTIONS
from analysis.sources.qda import QdaError, QdaWarning, read_project, to_raw_frames
from analysis.sources.qda.diaries import without_diary_sources
from analysis.sources.qda.model import CODEBOOK_COLUMNS

QDA_COLUMNS: dict[str, dict[str, str]] = {
    "codebook": dict(zip(("code", "description", "colour"), CODEBOOK_COLUMNS, strict=True)),
    "segments": {"document": "Document", "code": "Code", "start": "Start", "end": "End",
                 "text": "Coded text", "coder": "Coder"},
}
"""Column names of the frames read from a REFI-QDA project (those of the CSV export)."""


def qdpx_spec(sources: Mapping) -> dict | None:
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


def relative_error(error: DataValidationError, raw_dir: Path) -> DataValidationError:
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


def read_qdpx(ctx: ReadContext, spec: Mapping) -> ProjectData:
    """Read the declared REFI-QDA project into the frames of the CSV export (see ``ProjectData``).

    Audio diary transcripts in the project (when ``diary_segments`` reads from it) are left to
    :mod:`analysis.clean.diaries` (through :mod:`analysis.sources.qda.diaries`).

    Raises:
        QdaError: for a project that cannot be read (file, element and line named).
        DataValidationError: for a bad ``qda_map.csv`` (file, line and column named).
    """
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
            # audio diary transcripts in the project are read by analysis.clean.diaries, not mapped here
            project = without_diary_sources(project, ctx.sources, ctx.raw_dir)
            data = to_raw_frames(project, None if map_file is None else ctx.raw_dir / map_file)
    except DataValidationError as error:
        raise relative_error(error, ctx.raw_dir) from None
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
    return ProjectData(
        file=file, xml_file=xml_file, frames=strings, transcripts=data.transcripts,
        source_line_of_coding=dict(zip(codings["line"],
                                       codings["source_guid"].map(source_line), strict=True)))


@contextmanager
def located_in_project(ctx: ReadContext, part: str) -> Iterator[None]:
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
