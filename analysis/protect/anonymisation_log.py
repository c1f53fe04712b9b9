"""Pseudonymising free text and keeping the anonymisation log on the secure side.

UK Data Service practice: every replacement made while anonymising a transcript or quote is
logged (original -> replacement, where), so the team can audit and reverse it, and the log is
kept with the identifiable data, never with the outputs. Here the log may only be written inside
the derived-data folder (``$DATA_DERIVED``, git-ignored); any other target is refused.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from analysis.core import paths

LOG_FILE_NAME: str = "anonymisation_log.csv"
"""Default file name inside ``$DATA_DERIVED``."""


class AnonymisationLogError(ValueError):
    """Refused or bad anonymisation request (names the file, row and rule)."""


@dataclass(frozen=True)
class Replacement:
    """One replacement made in one place."""

    original: str
    replacement: str
    where: str
    count: int


def pseudonymise_text(text: str, replacements: Mapping[str, str], *, where: str) -> tuple[str, list[Replacement]]:
    """Replace each original (whole words, case-insensitive, longest first) with its stand-in.

    Returns the new text and one :class:`Replacement` per original actually found.
    """
    log: list[Replacement] = []
    for original in sorted(replacements, key=len, reverse=True):
        pattern = re.compile(rf"(?<!\w){re.escape(original)}(?!\w)", re.IGNORECASE)
        text, count = pattern.subn(replacements[original], text)
        if count:
            log.append(Replacement(original, replacements[original], where, count))
    return text, log


def pseudonymise_column(df: pd.DataFrame, column: str, replacements: Mapping[str, str], *,
                        file: str) -> tuple[pd.DataFrame, list[Replacement]]:
    """Pseudonymise a text column; the log names ``file``, row index and column."""
    if column not in df.columns:
        raise AnonymisationLogError(f"{file}: no column {column!r}")
    out = df.copy()
    log: list[Replacement] = []
    for index, value in out[column].items():
        if isinstance(value, str):
            new, entries = pseudonymise_text(value, replacements, where=f"{file}: row {index}, column {column!r}")
            out.at[index, column] = new
            log.extend(entries)
    return out, log


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def write_anonymisation_log(entries: Sequence[Replacement], path: Path | None = None) -> Path:
    """Append entries to the anonymisation log on the secure side and return its path.

    The target must lie inside ``$DATA_DERIVED`` (default ``data_derived/``) and never inside
    the rendered outputs; anything else raises :class:`AnonymisationLogError`.
    """
    secure = paths.data_derived()
    target = path if path is not None else secure / LOG_FILE_NAME
    if not _inside(target, secure) or _inside(target, paths.reports_output()):
        raise AnonymisationLogError(
            f"{target}: refused (rule: the anonymisation log holds real identifiers and may only "
            f"be written inside the secure derived-data folder {secure})")
    target.parent.mkdir(parents=True, exist_ok=True)
    exists = target.exists()
    rows = [asdict(e) for e in entries]
    handle, temporary = tempfile.mkstemp(prefix=".anon-", dir=target.parent)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        if exists:
            stream.write(target.read_text(encoding="utf-8"))
        writer = csv.DictWriter(stream, fieldnames=["original", "replacement", "where", "count"])
        if not exists:
            writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, target)
    return target
