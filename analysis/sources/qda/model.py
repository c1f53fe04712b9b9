"""What the REFI-QDA reader returns: a project as tidy frames, and the study's raw frames.

:class:`QdaProject` holds everything read from one ``.qdpx``/``.qdc`` in the tool's own terms
(GUIDs, source names), with positions already converted to canonical offsets.
:class:`RawCodedData` holds the same content in the study's raw-export form (CONTRACTS.md "Raw
export folder"): the codebook and coded-segment frames exactly as the CSV path reads them, plus
transcripts, memos and the source-to-document mapping used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

CODEBOOK_COLUMNS = ["Code", "Description", "Colour"]
"""Columns of the raw codebook frame (``SYNTHETIC_codebook.csv``)."""

SEGMENT_COLUMNS = ["Document", "Code", "Start", "End", "Coded text", "Coder"]
"""Columns of the raw coded-segment frames (women's and professionals')."""

SEGMENT_SORT = ["Document", "Start", "End", "Code"]
"""Row order of the raw coded-segment frames."""

CODE_PATH_SEPARATOR = "\\"
"""Joins the names of a code's ancestors and itself into its path, e.g. ``Theme\\Sub\\Leaf``."""

CODES_COLUMNS = [
    "guid", "code", "name", "parent_guid", "level", "is_codable", "description", "colour", "line",
]
USERS_COLUMNS = ["guid", "name"]
SOURCES_COLUMNS = [
    "guid", "name", "n_characters", "position_convention", "labels_checked", "labels_matched",
    "line",
]
CODINGS_COLUMNS = [
    "source_guid", "source_name", "selection_guid", "start", "end", "text", "code_guid", "code",
    "coder", "whole_document", "line",
]
CASES_COLUMNS = ["guid", "name", "line"]
VARIABLE_VALUES_COLUMNS = ["owner_guid", "owner_name", "variable", "type", "value"]
CASE_SOURCES_COLUMNS = ["case_guid", "case_name", "source_guid", "source_name"]
MEMOS_COLUMNS = [
    "memo_guid", "memo_name", "memo_text", "author", "target_kind", "target_guid", "code",
    "source_guid", "source_name", "start", "end",
]
DOCUMENTS_COLUMNS = ["source_guid", "qda_source", "document", "role", "study_id", "wave",
                     "matched_by"]


def empty_frame(columns: list[str]) -> pd.DataFrame:
    """Return an empty frame with *columns* (object dtype)."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})


@dataclass
class QdaProject:
    """A REFI-QDA project or codebook, read and checked.

    Attributes:
        file: the file read.
        kind: ``"project"`` (``.qdpx``/``.qde``) or ``"codebook"`` (``.qdc``).
        name: the project's ``name`` attribute (empty for a codebook).
        origin: the exporting tool, from the ``origin`` attribute (may be empty).
        codes: one row per code, parents before children (:data:`CODES_COLUMNS`); ``code`` is the
            path joined with ``\\``, ``level`` 1 for top-level codes.
        users: :data:`USERS_COLUMNS`.
        sources: one row per text source (:data:`SOURCES_COLUMNS`), with the position
            convention detected and how many selection labels matched the text.
        texts: canonical text of each text source (no BOM, ``\\n`` line ends), by source GUID.
        codings: one row per coding (:data:`CODINGS_COLUMNS`), offsets canonical; a
            whole-document coding spans the whole text and has no selection GUID.
        cases: :data:`CASES_COLUMNS` (``name`` may be empty).
        case_variables: variable values of cases (:data:`VARIABLE_VALUES_COLUMNS`).
        source_variables: variable values of sources (:data:`VARIABLE_VALUES_COLUMNS`).
        case_sources: which sources belong to which case (:data:`CASE_SOURCES_COLUMNS`).
        memos: one row per memo and target it is attached to (:data:`MEMOS_COLUMNS`);
            ``target_kind`` is project, code, source, selection, coding or none.
        non_text_sources: how many picture/PDF/audio/video sources were skipped.
        deviations: tolerated deviations, in the order found.
    """

    file: str
    kind: str
    name: str
    origin: str
    codes: pd.DataFrame
    users: pd.DataFrame = field(default_factory=lambda: empty_frame(USERS_COLUMNS))
    sources: pd.DataFrame = field(default_factory=lambda: empty_frame(SOURCES_COLUMNS))
    texts: dict[str, str] = field(default_factory=dict)
    codings: pd.DataFrame = field(default_factory=lambda: empty_frame(CODINGS_COLUMNS))
    cases: pd.DataFrame = field(default_factory=lambda: empty_frame(CASES_COLUMNS))
    case_variables: pd.DataFrame = field(
        default_factory=lambda: empty_frame(VARIABLE_VALUES_COLUMNS))
    source_variables: pd.DataFrame = field(
        default_factory=lambda: empty_frame(VARIABLE_VALUES_COLUMNS))
    case_sources: pd.DataFrame = field(default_factory=lambda: empty_frame(CASE_SOURCES_COLUMNS))
    memos: pd.DataFrame = field(default_factory=lambda: empty_frame(MEMOS_COLUMNS))
    non_text_sources: int = 0
    deviations: list[str] = field(default_factory=list)


@dataclass
class RawCodedData:
    """A QDA project in the study's raw-export form (what the cleaning stage reads).

    Attributes:
        codebook: :data:`CODEBOOK_COLUMNS`, one row per code, parents before children.
        women_segments: :data:`SEGMENT_COLUMNS` for documents ``<study_id>_W<wave>``.
        professional_segments: :data:`SEGMENT_COLUMNS` for ``FG-<SITE>-NN``/``PI-<SITE>-NN``.
        transcripts: canonical text of each mapped document, by document name.
        documents: how each QDA source was mapped (:data:`DOCUMENTS_COLUMNS`).
        memos: the project's memos (:data:`MEMOS_COLUMNS` plus ``document``).
        origin: the exporting tool.
        deviations: tolerated deviations.
    """

    codebook: pd.DataFrame
    women_segments: pd.DataFrame
    professional_segments: pd.DataFrame
    transcripts: dict[str, str]
    documents: pd.DataFrame
    memos: pd.DataFrame
    origin: str
    deviations: list[str]

    def string_frames(self) -> dict[str, pd.DataFrame]:
        """Return the codebook and segment frames as a text-only CSV reader gives them.

        That is the form ``analysis.sources.declared.read_source`` returns for the CSV export: the same
        columns, every cell a string (``""`` when blank), plus ``_row``, the row each line would
        have in the equivalent CSV file (header = row 1). Keys: ``codebook``, ``segments``
        (women) and ``professional_segments``, as in ``sources.yml``.
        """
        frames = {"codebook": self.codebook, "segments": self.women_segments,
                  "professional_segments": self.professional_segments}
        out = {}
        for key, frame in frames.items():
            text = frame.astype(str).astype(object) if len(frame) else frame.astype(object)
            text = text.reset_index(drop=True)
            text["_row"] = range(2, len(text) + 2)
            out[key] = text
        return out


def codebook_frame(project: QdaProject) -> pd.DataFrame:
    """Return the project's codebook in raw-export form: ``Code``, ``Description``, ``Colour``.

    One row per code, parents before children (depth-first, in the file's order).
    """
    frame = project.codes[["code", "description", "colour"]].copy()
    frame.columns = ["Code", "Description", "Colour"]
    return frame.reset_index(drop=True)
