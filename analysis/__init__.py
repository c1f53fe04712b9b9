"""Stepping Stones analysis package.

All logic of the pipeline lives here; notebooks in ``notebooks/`` are thin wrappers that call
these modules. See ``analysis/CONTRACTS.md`` for the tables passed between stages.
"""

__version__ = "0.1.0"
