"""Identifier screening of raw data as the cleaning stage reads it.

The raw export must already be de-identified. Owns the screening of read frames (coded text,
code names, key-event details, contact-log text, professionals' roles and every column that
``sources.yml`` does not declare) and of transcripts, with the offline rules and name lists of
:mod:`analysis.protect.identifiers`. The first hit raises a
:class:`~analysis.core.errors.DataValidationError` naming file, row, column and the rule
``no identifiers: <kind>``, showing the identifier only masked. Reads the raw files of
CONTRACTS.md "Raw export folder"; writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.protect import identifiers

IDENTIFIER_KIND_NAMES: dict[str, str] = {
    "nhs_number": "NHS number", "chi_number": "CHI number", "postcode": "postcode",
    "date_of_birth": "date of birth", "phone": "phone number", "email": "email address",
    "street_address": "street address", "name": "name",
}
"""Readable name of each kind of identifier of :data:`analysis.protect.identifiers.KINDS` (in rules)."""


def _identifier_error(file: str, row: int | None, column: str | None,
                      hit: identifiers.Hit, where: str) -> DataValidationError:
    """The error for one identifier found: the value is shown only masked."""
    kind = IDENTIFIER_KIND_NAMES.get(hit.kind, hit.kind)
    detail = f" ({hit.detail})" if hit.detail else ""
    return DataValidationError(
        file, row, column, f"no identifiers: {kind}",
        f"possible {kind} {hit.masked}{detail} at {where}; the raw export must be de-identified "
        "before cleaning: remove or replace it (e.g. [name], [postcode]) and export again")


def free_text_columns(frame: pd.DataFrame, declared: Mapping[str, str],
                      keys: tuple[str, ...]) -> list[str]:
    """The columns of a raw frame to screen: the declared columns of ``keys`` present in the
    frame, then every column ``sources.yml`` does not declare (notes, memos)."""
    named = [declared[key] for key in keys if declared.get(key) in frame.columns]
    used = set(declared.values()) | {"_row", "_file"}
    return list(dict.fromkeys(named + [c for c in frame.columns if c not in used]))


def screen_identifiers(frame: pd.DataFrame, file: str, columns: list[str]) -> None:
    """Identifier screening of a raw table: stop at the first identifier in ``columns``.

    ``frame`` is a source as read (strings plus ``_row``). Each distinct text of a column is
    scanned once (:func:`analysis.protect.identifiers.scan_text`) and reported at its first row; of the
    columns' first hits, the one in the earliest row is raised as a
    :class:`DataValidationError` (rule ``no identifiers: <kind>``, value masked).
    """
    found: list[tuple[int, int, str, identifiers.Hit]] = []
    chosen = set(columns)  # by position: a header may repeat (read_source keeps duplicates)
    for order, (position, column) in enumerate(
            (i, c) for i, c in enumerate(frame.columns) if c in chosen):
        values = frame.iloc[:, position]
        distinct = values.loc[~values.duplicated(keep="first")]
        rows = frame.loc[distinct.index, "_row"]
        for value, row in zip(distinct, rows):
            if not isinstance(value, str) or not value.strip():
                continue
            hits = identifiers.scan_text(value, file=file)
            if hits:
                found.append((int(row), order, column, hits[0]))
                break
    if found:
        row, _, column, hit = min(found, key=lambda item: item[:2])
        where = (f"line {hit.line}, character {hit.column} of the cell" if (hit.line or 1) > 1
                 else f"character {hit.column}")
        raise _identifier_error(file, row, column, hit, where)


_DIGIT = re.compile(r"\d")


def screen_transcript(text: str, file: str,
                      seen: dict[tuple[str, bool], identifiers.Hit | None]) -> None:
    """Identifier screening of one transcript: stop at its first identifier, named by line
    (row) and character (column).

    Each distinct line is scanned once (``seen`` caches results across the transcripts of one
    run). Names, emails, NHS/CHI numbers and postcodes cannot cross a line break in the scanner's
    rules; a date of birth, phone number or street address can, and each of those holds a digit,
    so where a line or the next non-blank line holds a digit the lines from one to the other are
    also scanned joined, and a hit that neither line shows alone is reported. (An identifier
    broken over three or more non-blank lines is not found.)
    """
    lines = text.split("\n")
    following: list[int | None] = [None] * len(lines)
    nxt: int | None = None
    for index in range(len(lines) - 1, -1, -1):
        following[index] = nxt
        if lines[index].strip():
            nxt = index

    def first_hit(first: int, last: int) -> identifiers.Hit | None:
        """First hit in lines[first..last] joined; for several lines, only a hit that the last
        line does not show alone (the first line alone has none); ``hit.line`` counts from
        ``first``."""
        piece = "\n".join(lines[first:last + 1])
        key = (piece, first != last)
        if key not in seen:
            hits = identifiers.scan_text(piece, file=file)
            if first != last and hits:
                alone = {(h.column, h.kind) for h in identifiers.scan_text(lines[last], file=file)}
                end_line = last - first + 1
                hits = [h for h in hits if h.line != end_line or (h.column, h.kind) not in alone]
            seen[key] = hits[0] if hits else None
        return seen[key]

    for index, line in enumerate(lines):
        hit = first_hit(index, index)
        later = following[index]
        if hit is None and later is not None and (_DIGIT.search(line)
                                                  or _DIGIT.search(lines[later])):
            hit = first_hit(index, later)
        if hit is not None:
            row = index + (hit.line or 1)
            raise _identifier_error(file, row, f"character {hit.column}", hit,
                                    f"line {row}, character {hit.column}")
