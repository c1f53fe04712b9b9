"""Stage 3 of the pipeline: the analyses the site profiles and the synthesis run.

Site profile, journeys (one woman's map; all women's overview), themes, pathways, framework
matrix, models of care, diaries, life events, the EACG and the model of care, prose and key
numbers. They read the derived tables (``core.tables``) and release every count through
``protect``. Imports ``core``, ``clean`` (shared constants of the study materials) and ``protect``.
"""
