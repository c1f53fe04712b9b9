"""The SYNTHETIC coded data as a REFI-QDA project: ``SYNTHETIC_project.qdpx`` and ``qda_map.csv``.

The project holds exactly what the CSV form of the export holds (``SYNTHETIC_codebook.csv``,
``SYNTHETIC_coded_segments.csv``, ``SYNTHETIC_professional_segments.csv`` and
``transcripts/``): the same codebook, every coding of the women's and the professionals'
documents and every transcript, written by :mod:`analysis.sources.qda` (reproducible bytes: GUIDs
derived from names, no timestamps, sorted zip entries with a fixed date). ``qda_map.csv`` maps
each QDA source name to its study document, study ID and wave (here every source is already
named by its document, so the map is the identity; a real project's map is where NVivo or
ATLAS.ti source names are tied to study IDs). Reading the project back with
:func:`analysis.sources.qda.read_coded_data` gives the same frames as reading the CSVs.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.sources.qda import CODEBOOK_COLUMNS, QDA_MAP_COLUMNS, SEGMENT_COLUMNS, make_qda_map
from analysis.sources.qda.write import project_qdpx_entries, qdpx_bytes
from analysis.synthetic import writers
from analysis.synthetic.qualitative import Document

PROJECT_NAME = "Stepping Stones (SYNTHETIC)"
"""The project's ``name`` attribute (says the data are synthetic)."""

ORIGIN = "Stepping Stones synthetic generator (analysis.synthetic)"
"""The project's ``origin`` attribute: the tool that wrote it."""

DESCRIPTION = (
    "SYNTHETIC DATA - invented for software testing, not real people. The codebook, codings and "
    "transcripts of the SYNTHETIC Stepping Stones study, the same as the CSV files of this "
    "export folder."
)
"""The project's ``Description`` (says plainly that the data are synthetic)."""


def segments_frame(documents: Sequence[Document]) -> pd.DataFrame:
    """Return the raw coded-segment frame of *documents* (the rows of the segments CSV)."""
    rows = [(doc.name, code, start, end, text, doc.coder)
            for doc in documents for code, start, end, text in doc.codings]
    frame = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    return frame.astype({"Start": "int64", "End": "int64"})


def project_bytes(codebook_rows: Sequence[Sequence[str]], women_docs: Sequence[Document],
                  professional_docs: Sequence[Document]) -> bytes:
    """Return ``SYNTHETIC_project.qdpx``: codebook, both sets of codings and all transcripts.

    Args:
        codebook_rows: (Code path, Description, Colour) as written to the codebook CSV.
        women_docs: the women's interview documents with their codings.
        professional_docs: the professionals' focus groups and interviews with their codings.
    """
    codebook = pd.DataFrame(list(codebook_rows), columns=CODEBOOK_COLUMNS)
    transcripts = {doc.name: doc.text for doc in [*women_docs, *professional_docs]}
    entries = project_qdpx_entries(
        codebook, [segments_frame(women_docs), segments_frame(professional_docs)], transcripts,
        project_name=PROJECT_NAME, origin=ORIGIN, description=DESCRIPTION)
    return qdpx_bytes(entries)


def qda_map_bytes(documents: Sequence[Document]) -> bytes:
    """Return ``qda_map.csv`` for *documents*: QDA source name -> document, study ID, wave, role."""
    frame = make_qda_map(doc.name for doc in documents)
    rows = frame[QDA_MAP_COLUMNS].itertuples(index=False, name=None)
    return writers.csv_text(QDA_MAP_COLUMNS, rows).encode("utf-8")
