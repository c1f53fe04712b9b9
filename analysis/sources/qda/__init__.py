"""REFI-QDA import and export (``.qdpx`` projects, ``.qdc`` codebooks).

Research teams code transcripts in NVivo, ATLAS.ti, MAXQDA or QualCoder and exchange them as
REFI-QDA files. This package reads such files into the study's raw frames (the same codebook and
coded-segment frames the CSV export gives, CONTRACTS.md "Raw export folder"), and writes the
study's frames back out as a ``.qdc`` codebook or a whole ``.qdpx`` project.

Main entry points:

- :func:`read_coded_data` - ``.qdpx`` (+ optional ``qda_map.csv``) -> :class:`RawCodedData`;
  its ``string_frames()`` gives the frames exactly as the cleaning stage reads the CSV export.
- :func:`read_project` - any REFI-QDA file -> :class:`QdaProject` (tool's own terms).
- :func:`read_codebook` - the raw codebook frame of a ``.qdc``/``.qdpx``.
- :func:`write_qdc`, :func:`write_qdpx` - write reproducible, schema-valid files.
- :func:`make_qda_map`, :func:`read_qda_map`, :func:`write_qda_map` - the mapping file.
- ``python -m analysis.sources.qda summary|codebook|export`` - see :mod:`analysis.sources.qda.__main__`.
"""

from analysis.sources.qda.errors import QdaError, QdaWarning
from analysis.sources.qda.mapping import (
    QDA_MAP_COLUMNS, make_qda_map, read_qda_map, to_raw_frames, write_qda_map,
)
from analysis.sources.qda.model import (
    CODEBOOK_COLUMNS, QdaProject, RawCodedData, SEGMENT_COLUMNS, codebook_frame,
)
from analysis.sources.qda.read import read_codebook, read_coded_data, read_project
from analysis.sources.qda.write import write_qdc, write_qdpx

__all__ = [
    "CODEBOOK_COLUMNS", "QDA_MAP_COLUMNS", "SEGMENT_COLUMNS", "QdaError", "QdaProject",
    "QdaWarning", "RawCodedData", "codebook_frame", "make_qda_map", "read_codebook",
    "read_coded_data", "read_project", "read_qda_map", "to_raw_frames", "write_qda_map",
    "write_qdc", "write_qdpx",
]
