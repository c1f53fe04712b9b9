"""Seeded generator of the SYNTHETIC Stepping Stones study (a fake raw export folder).

``python -m analysis.synthetic --seed 20240930 --scale 1 --out data_raw/synthetic`` writes a raw
export folder shaped as described in ``analysis/CONTRACTS.md`` ("Raw export folder"): a REDCap
export and data dictionary, the research team's key-event tracker, four differently kept
site contact logs, a QDA codebook, coded segments and transcripts (as CSV files and again as a
REFI-QDA project, ``SYNTHETIC_project.qdpx`` with ``qda_map.csv``), and the professionals list,
with the mess real exports have. Everything in it is invented; every file says so.

Modules:
    cohort        the women, their pregnancies, babies, placements and interview waves
    contacts      service contacts and the four site logs
    qualitative   codebook, coded segments, transcripts, professionals
    qda_export    the same coded data as a REFI-QDA project (.qdpx) and its qda_map.csv
    redcap_export the REDCap data dictionary and raw export
    diaries       diary register, coded audio diaries, drawings of life events, stand-in images
    coproduction  the EACG review log and the co-produced model-of-care file
    folder        sources.yml, service_map.csv, README.md, manifest.json; :func:`generate`
                  (``from analysis.synthetic.folder import generate``)
    writers       byte-stable CSV, XLSX and JSON writers
"""

from __future__ import annotations

GENERATOR_VERSION = "1.3.0"
"""Bump when the generator's output changes for the same seed and scale."""

DEFAULT_SEED = 20240930
"""The seed of the shipped study (the date of the study's findings event)."""

DEFAULT_SCALE = 1

__all__ = ["DEFAULT_SCALE", "DEFAULT_SEED", "GENERATOR_VERSION"]
