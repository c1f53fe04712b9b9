"""Mapping a QDA project's sources to the study's documents (``qda_map.csv``).

Study documents are named ``<study_id>_W<wave>`` (a woman's interview at one wave) or
``FG-<SITE>-NN`` / ``PI-<SITE>-NN`` (a professionals' focus group or individual interview). A QDA
project's sources may be named anything, so a small reviewable ``qda_map.csv`` says which is which:

====================  ==========================================================================
column                meaning
====================  ==========================================================================
``qda_name``          a source name, or a case name, as it appears in the QDA project (required,
                      unique). A source name may be given with or without its file extension.
``document``          the study document it is (e.g. ``SS-EL-003_W2`` or ``FG-EL-01``); may be
                      left blank for a woman when ``study_id`` and ``wave`` are given.
``study_id``          the woman's study ID (women only).
``wave``              the wave 1-5 (women only). For a case row it may be left blank when each of
                      the case's sources carries a variable named ``wave`` (or the case does).
``role``              ``woman``, ``professional`` or ``exclude`` (skip this source); blank means
                      "infer from the document name".
====================  ==========================================================================

Each text source is matched, in this order: a row whose ``qda_name`` is the source's name; a row
whose ``qda_name`` is the name of a case the source belongs to; the source's own name when it
already follows the study's document naming (then no mapping row is needed at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.sources.qda.errors import DataValidationError, QdaError
from analysis.sources.qda.model import (
    DOCUMENTS_COLUMNS, QdaProject, RawCodedData, SEGMENT_COLUMNS, SEGMENT_SORT, codebook_frame,
)

QDA_MAP_COLUMNS = ["qda_name", "document", "study_id", "wave", "role"]
"""Columns of ``qda_map.csv`` (only ``qda_name`` is required; the others may be blank)."""

ROLES = ("woman", "professional", "exclude")
"""Allowed values of the ``role`` column."""

WAVES = range(1, 6)
"""Study waves (CONTRACTS.md)."""

WOMAN_DOCUMENT = re.compile(r"^(?P<study_id>[A-Za-z0-9][A-Za-z0-9-]*)_W(?P<wave>[0-9]+)$")
"""A woman's interview document: ``<study_id>_W<wave>``."""

PROFESSIONAL_DOCUMENT = re.compile(r"^(?P<kind>FG|PI)-(?P<site>[A-Za-z]+)-(?P<number>[0-9]+)$")
"""A professionals' focus group (``FG-<SITE>-NN``) or individual interview (``PI-<SITE>-NN``)."""

SOURCE_FILE_SUFFIXES = (".txt", ".docx", ".doc", ".rtf", ".odt", ".pdf")
"""File extensions tools keep in source names; ignored when matching names."""


def source_stem(name: str) -> str:
    """Return a source name without a document file extension (``x.docx`` -> ``x``)."""
    lowered = name.lower()
    for suffix in SOURCE_FILE_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def document_role(document: str) -> tuple[str, str, int | None] | None:
    """Classify a study document name.

    Returns:
        ``("woman", study_id, wave)``, ``("professional", "", None)``, or ``None`` when the name
        follows neither naming rule (or names a wave outside 1-5).
    """
    woman = WOMAN_DOCUMENT.match(document)
    if woman and int(woman["wave"]) in WAVES:
        return "woman", woman["study_id"], int(woman["wave"])
    if PROFESSIONAL_DOCUMENT.match(document):
        return "professional", "", None
    return None


def map_columns(frame: pd.DataFrame, file: str, allowed: list[str], required: tuple[str, ...]) -> pd.DataFrame:
    """A mapping CSV's ``allowed`` columns as stripped strings (missing ones empty), after
    checking that every ``required`` column is there and no other column is.

    Raises:
        DataValidationError: naming the file, the column and the rule.
    """
    for column in required:
        if column not in frame.columns:
            raise DataValidationError(file, None, column, "required column",
                                      f"columns are {list(frame.columns)}; expected {allowed}")
    unknown = [c for c in frame.columns if c not in allowed]
    if unknown:
        raise DataValidationError(file, None, unknown[0], "unknown column", f"allowed columns are {allowed}")
    table = frame.reindex(columns=allowed).fillna("").astype(str)
    return table.apply(lambda column: column.str.strip())


def validate_qda_map(frame: pd.DataFrame, file: str = "qda_map.csv") -> pd.DataFrame:
    """Check a mapping frame and return it with all :data:`QDA_MAP_COLUMNS` as stripped strings.

    Raises:
        DataValidationError: naming the file, row (as the CSV line number), column and rule.
    """
    table = map_columns(frame, file, list(QDA_MAP_COLUMNS), ("qda_name",))
    seen: dict[str, int] = {}
    for index, row in enumerate(table.itertuples(index=False)):
        line = index + 2  # header is line 1

        def fail(column: str, rule: str, message: str, line: int = line) -> DataValidationError:
            return DataValidationError(file, line, column, rule, message)

        if not row.qda_name:
            raise fail("qda_name", "required value", "qda_name is empty")
        if row.qda_name in seen:
            raise fail("qda_name", "unique", f"{row.qda_name!r} also on line {seen[row.qda_name]}")
        seen[row.qda_name] = line
        if row.role and row.role not in ROLES:
            raise fail("role", "allowed values", f"{row.role!r} is not one of {ROLES}")
        if row.wave and (not row.wave.isdigit() or int(row.wave) not in WAVES):
            raise fail("wave", "wave 1-5", f"{row.wave!r} is not a wave 1-5")
        if row.role == "exclude":
            continue
        if row.document:
            kind = document_role(row.document)
            if kind is None:
                raise fail("document", "study document naming",
                           f"{row.document!r} is neither <study_id>_W<wave> (wave 1-5) nor "
                           "FG-<SITE>-NN / PI-<SITE>-NN")
            if row.role and row.role != kind[0]:
                raise fail("role", "consistent with document",
                           f"role {row.role!r} but {row.document!r} names a {kind[0]}'s document")
            if kind[0] == "woman" and ((row.study_id and row.study_id != kind[1]) or
                                       (row.wave and int(row.wave) != kind[2])):
                raise fail("document", "consistent with study_id and wave",
                           f"{row.document!r} disagrees with study_id {row.study_id!r} / wave "
                           f"{row.wave!r}")
        elif row.role == "professional":
            raise fail("document", "required for professionals",
                       "a professional source needs its document name (FG-<SITE>-NN / PI-...)")
        elif not row.study_id:
            raise fail("study_id", "required without document",
                       "give either document or study_id (and wave)")
    return table


def read_qda_map(path: str | Path) -> pd.DataFrame:
    """Read and check a ``qda_map.csv`` (UTF-8, comma-separated; see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(str(path), None, None, "file not found", "no such file")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return validate_qda_map(frame, str(path))


def make_qda_map(documents: Iterable[str]) -> pd.DataFrame:
    """Return a ``qda_map.csv`` frame mapping each document (used as source name) to itself.

    Women's rows carry study_id and wave; professionals' rows the role. Rows sorted by document.

    Raises:
        ValueError: for a document name that follows neither naming rule.
    """
    rows = []
    for document in sorted(set(documents)):
        kind = document_role(document)
        if kind is None:
            raise ValueError(f"{document!r} is not a study document name")
        role, study_id, wave = kind
        rows.append({"qda_name": document, "document": document, "study_id": study_id,
                     "wave": "" if wave is None else str(wave), "role": role})
    return pd.DataFrame(rows, columns=QDA_MAP_COLUMNS)


def write_qda_map(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a mapping frame as ``qda_map.csv`` (UTF-8, ``\\n`` line ends), after checking it."""
    table = validate_qda_map(frame, str(path))
    table.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _wave_variable(project: QdaProject, owner_guid: str, case_guid: str | None) -> str:
    """Return the value of a variable named 'wave' on a source, else on its case ('' if none)."""
    owners = ((project.source_variables, owner_guid), (project.case_variables, case_guid))
    for frame, guid in owners:
        if guid is None or frame.empty:
            continue
        hits = frame[(frame["owner_guid"] == guid) & (frame["variable"].str.lower() == "wave")]
        if not hits.empty and hits["value"].iloc[0]:
            return str(hits["value"].iloc[0]).strip()
    return ""


def resolve_documents(
    project: QdaProject, qda_map: pd.DataFrame | None, map_file: str = "qda_map.csv"
) -> pd.DataFrame:
    """Decide which study document each text source of *project* is.

    Args:
        project: the project read by :func:`analysis.sources.qda.read.read_project`.
        qda_map: a checked mapping (:func:`read_qda_map`) or ``None``.
        map_file: name of the mapping file, for messages.

    Returns:
        :data:`~analysis.sources.qda.model.DOCUMENTS_COLUMNS`, one row per mapped (not excluded) source.

    Raises:
        QdaError: for a source that cannot be mapped, or two sources mapped to one document.
    """
    table = qda_map if qda_map is not None else pd.DataFrame(columns=QDA_MAP_COLUMNS)
    by_name = {row["qda_name"]: row for row in table.to_dict("records")}
    cases_of = project.case_sources.groupby("source_guid")[["case_guid", "case_name"]].apply(
        lambda g: list(g.itertuples(index=False, name=None))).to_dict() \
        if not project.case_sources.empty else {}
    rows = []
    used: dict[str, str] = {}
    for source in project.sources.to_dict("records"):
        name, guid, line = source["name"], source["guid"], source["line"]
        row, matched_by, case_guid = by_name.get(name) or by_name.get(source_stem(name)), \
            "qda_map: source name", None
        if row is None:
            hits = [(cg, cn) for cg, cn in cases_of.get(guid, []) if cn in by_name]
            if len({cn for _, cn in hits}) > 1:
                raise QdaError(project.file, "TextSource", line, "ambiguous mapping",
                               f"source {name!r} belongs to cases "
                               f"{sorted({cn for _, cn in hits})} that are all in {map_file}")
            if hits:
                case_guid, case_name = hits[0]
                row, matched_by = by_name[case_name], f"qda_map: case {case_name!r}"
        if row is None:
            if document_role(source_stem(name)) is None:
                raise QdaError(
                    project.file, "TextSource", line, "unmapped source",
                    f"source {name!r} is not in {map_file} (by source or case name) and its name "
                    "does not follow the study's document naming (<study_id>_W<wave>, "
                    "FG-<SITE>-NN, PI-<SITE>-NN); add a row to the mapping (role 'exclude' to "
                    "skip it)",
                )
            row, matched_by = {"document": source_stem(name), "study_id": "", "wave": "",
                               "role": ""}, "source name"
        if row["role"] == "exclude":
            continue
        document = row["document"]
        if not document:
            wave = row["wave"] or _wave_variable(project, guid, case_guid)
            if not wave.isdigit() or int(wave) not in WAVES:
                raise QdaError(project.file, "TextSource", line, "wave unknown",
                               f"source {name!r} maps to study_id {row['study_id']!r} "
                               f"({matched_by}) but no wave 1-5: give it in {map_file} or as a "
                               f"'wave' variable of the source (found {wave!r})")
            document = f"{row['study_id']}_W{int(wave)}"
        kind = document_role(document)
        if kind is None:
            raise QdaError(project.file, "TextSource", line, "study document naming",
                           f"source {name!r} maps to {document!r}, which is not a study document "
                           "name")
        if document in used:
            raise QdaError(project.file, "TextSource", line, "one source per document",
                           f"sources {used[document]!r} and {name!r} both map to {document!r}")
        used[document] = name
        rows.append({"source_guid": guid, "qda_source": name, "document": document,
                     "role": kind[0], "study_id": kind[1], "wave": kind[2],
                     "matched_by": matched_by})
    frame = pd.DataFrame(rows, columns=DOCUMENTS_COLUMNS)
    return frame.astype({"wave": "Int64"})


def _segments(codings: pd.DataFrame) -> pd.DataFrame:
    """Turn mapped codings into a raw coded-segment frame in the contract's order."""
    frame = pd.DataFrame({
        "Document": codings["document"].astype(object),
        "Code": codings["code"].astype(object),
        "Start": codings["start"].astype("int64"),
        "End": codings["end"].astype("int64"),
        "Coded text": codings["text"].astype(object),
        "Coder": codings["coder"].astype(object),
    }, columns=SEGMENT_COLUMNS)
    return frame.sort_values(SEGMENT_SORT, kind="stable").reset_index(drop=True)


def to_raw_frames(
    project: QdaProject, qda_map: str | Path | pd.DataFrame | None = None
) -> RawCodedData:
    """Turn a read project into the study's raw frames (see :class:`RawCodedData`).

    Args:
        project: from :func:`analysis.sources.qda.read.read_project`.
        qda_map: a ``qda_map.csv`` path, a mapping frame, or ``None`` (names must follow the
            study's document naming).
    """
    map_file = "qda_map.csv"
    if isinstance(qda_map, (str, Path)):
        map_file = str(qda_map)
        qda_map = read_qda_map(qda_map)
    elif qda_map is not None:
        qda_map = validate_qda_map(qda_map)
    documents = resolve_documents(project, qda_map, map_file)
    document_of = dict(zip(documents["source_guid"], documents["document"], strict=True))
    role_of = dict(zip(documents["document"], documents["role"], strict=True))
    codings = project.codings[project.codings["source_guid"].isin(document_of)].copy()
    codings["document"] = codings["source_guid"].map(document_of)
    segments = _segments(codings)
    is_woman = segments["Document"].map(role_of).eq("woman")
    memos = project.memos.copy()
    memos["document"] = memos["source_guid"].map(document_of).fillna("")
    return RawCodedData(
        codebook=codebook_frame(project),
        women_segments=segments[is_woman].reset_index(drop=True),
        professional_segments=segments[~is_woman].reset_index(drop=True),
        transcripts={document: project.texts[guid] for guid, document in
                     sorted(document_of.items(), key=lambda item: item[1])},
        documents=documents.sort_values("document", kind="stable").reset_index(drop=True),
        memos=memos,
        origin=project.origin,
        deviations=list(project.deviations),
    )
