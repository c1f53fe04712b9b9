"""Where the project's folders are, with the environment overrides the Makefile passes."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parents[2]
"""The repository's top folder."""

CONFIG_DIR: Path = PROJECT_ROOT / "analysis" / "config"
"""Reviewable configuration tables shipped with the code (sites, services, policies)."""

SYNTHETIC_RAW: Path = PROJECT_ROOT / "data_raw" / "synthetic"
"""The shipped synthetic study: the default raw export folder."""


def data_raw() -> Path:
    """Return the raw export folder: ``$DATA_RAW`` if set, else the shipped synthetic study."""
    value = os.environ.get("DATA_RAW")
    return Path(value).resolve() if value else SYNTHETIC_RAW


def data_derived() -> Path:
    """Return the derived-data folder: ``$DATA_DERIVED`` if set, else ``data_derived/``."""
    value = os.environ.get("DATA_DERIVED")
    return Path(value).resolve() if value else PROJECT_ROOT / "data_derived"


def reports_output() -> Path:
    """Return the folder every rendered output lands in (``reports/_output``)."""
    return PROJECT_ROOT / "reports" / "_output"
