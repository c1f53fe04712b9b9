"""Text positions of REFI-QDA selections: which convention a tool used, and correcting it.

The study's convention (and REFI-QDA's): positions count Unicode code points of the transcript
from 0, end-exclusive, so ``text[start:end]`` is the coded text. Transcripts are kept in a
*canonical* form: no byte-order mark, ``\\n`` line ends.

Real tools deviate: some count a byte-order mark at the start of the file as a character, some
count a ``\\r\\n`` line end as one character although the file holds two, and tools built on
UTF-16 strings count a character outside the Basic Multilingual Plane (e.g. an emoji) as two.
:func:`detect_convention` tries each combination and keeps the one under which the selections'
own text (the ``name`` most tools give a selection) matches the source best;
:class:`PositionMap` turns positions in that convention into canonical offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

BOM = "\ufeff"


@dataclass(frozen=True)
class PositionConvention:
    """How a tool counted positions in a source text.

    Attributes:
        bom_counted: a byte-order mark at the start of the file counts as position 0.
        crlf_as_two: a ``\\r\\n`` line end counts as two positions (as its code points do).
        utf16_units: a character outside the BMP counts as two positions (UTF-16 code units).
    """

    bom_counted: bool = False
    crlf_as_two: bool = True
    utf16_units: bool = False

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``"code points"`` or ``"BOM counted, CRLF as one"``."""
        parts = []
        if self.bom_counted:
            parts.append("byte-order mark counted as a character")
        if not self.crlf_as_two:
            parts.append("\\r\\n counted as one character")
        if self.utf16_units:
            parts.append("UTF-16 code units (characters beyond U+FFFF count two)")
        return ", ".join(parts) or "code points from 0 (REFI-QDA)"


STANDARD = PositionConvention()
"""The REFI-QDA convention: code points of the file's text (after any BOM), ``\\r\\n`` as two."""

CONVENTIONS: tuple[PositionConvention, ...] = tuple(
    PositionConvention(bom, crlf, utf16)
    for bom, crlf, utf16 in product((False, True), (True, False), (False, True))
)
"""Every convention tried, the standard one first (it wins ties)."""


@dataclass(frozen=True)
class SourceText:
    """A source's text as stored, and its canonical form.

    Attributes:
        canonical: text without a leading BOM and with ``\\r\\n`` replaced by ``\\n``.
        has_bom: the stored text started with a byte-order mark.
        crlf_newlines: canonical indices of the ``\\n`` that were ``\\r\\n`` in the stored text.
        astral: canonical indices of characters outside the Basic Multilingual Plane.
    """

    canonical: str
    has_bom: bool
    crlf_newlines: np.ndarray
    astral: np.ndarray

    @classmethod
    def from_stored(cls, stored: str) -> SourceText:
        """Split the stored text of a source into its canonical form and the facts that matter."""
        has_bom = stored.startswith(BOM)
        body = stored[1:] if has_bom else stored
        pieces = body.split("\r\n")
        lengths = np.fromiter((len(piece) for piece in pieces), dtype=np.int64, count=len(pieces))
        crlf = (np.cumsum(lengths + 1) - 1)[:-1]
        canonical = "\n".join(pieces)
        if canonical.isascii():
            astral = np.empty(0, dtype=np.int64)
        else:
            astral = np.fromiter(
                (i for i, ch in enumerate(canonical) if ord(ch) > 0xFFFF), dtype=np.int64
            )
        return cls(canonical, has_bom, crlf, astral)

    @property
    def conventions_differ(self) -> bool:
        """Whether any convention would give different offsets from the standard one."""
        return self.has_bom or len(self.crlf_newlines) > 0 or len(self.astral) > 0

    @property
    def normalised(self) -> bool:
        """Whether the canonical text differs from the stored one (BOM or ``\\r\\n`` removed)."""
        return self.has_bom or len(self.crlf_newlines) > 0


class PositionMap:
    """Converts positions counted under one convention into canonical offsets of a source."""

    def __init__(self, source: SourceText, convention: PositionConvention) -> None:
        """Build the table of each canonical character's position under *convention*."""
        self.source = source
        self.convention = convention
        length = len(source.canonical)
        offset = 1 if (convention.bom_counted and source.has_bom) else 0
        self._identity = offset == 0 and not (
            (convention.crlf_as_two and len(source.crlf_newlines))
            or (convention.utf16_units and len(source.astral)))
        if self._identity:
            self._positions = np.array([length])
            return
        widths = np.ones(length, dtype=np.int64)
        if convention.crlf_as_two and len(source.crlf_newlines):
            widths[source.crlf_newlines] += 1
        if convention.utf16_units and len(source.astral):
            widths[source.astral] += 1
        self._positions = np.concatenate(([0], np.cumsum(widths))) + offset

    @property
    def end(self) -> int:
        """The position just past the last character under this convention."""
        return int(self._positions[-1])

    def to_canonical(self, position: int) -> int | None:
        """Return the canonical offset for *position*, or ``None`` if it lies outside the text."""
        if position < 0 or position > self.end:
            return None
        if self._identity:
            return position
        return int(np.searchsorted(self._positions, position, side="left"))


def _matches(selected: str, label: str) -> bool:
    """Whether a selection's label (its stored text, possibly truncated) fits *selected*."""
    label = label.replace("\r\n", "\n").lstrip(BOM)
    if selected == label or selected.strip() == label.strip():
        return True
    stem = label.rstrip().rstrip("…").rstrip(".").rstrip()
    return len(label) < len(selected) and len(stem) >= 3 and selected.startswith(stem)


def count_matches(
    source: SourceText,
    convention: PositionConvention,
    selections: Sequence[tuple[int, int, str]],
) -> int:
    """Count the *selections* ``(start, end, label)`` whose label matches under *convention*."""
    mapping = PositionMap(source, convention)
    hits = 0
    for start, end, label in selections:
        a, b = mapping.to_canonical(start), mapping.to_canonical(end)
        if a is not None and b is not None and _matches(source.canonical[a:b], label):
            hits += 1
    return hits


@dataclass(frozen=True)
class Detection:
    """The convention chosen for one source and the evidence for it.

    Attributes:
        convention: the convention used to convert this source's positions.
        checked: how many selections had a label to check against the text.
        matched: how many of those match the text under *convention*.
    """

    convention: PositionConvention
    checked: int
    matched: int


def detect_convention(
    source: SourceText, selections: Sequence[tuple[int, int, str]]
) -> Detection:
    """Choose the position convention that makes the most selection labels match the text.

    Args:
        source: the source text.
        selections: ``(start, end, label)`` of each selection that carries a label (the selected
            text, as most tools write it in the ``name`` attribute); empty labels are ignored.

    Returns:
        The best convention (the standard one on ties or when nothing can be checked).
    """
    labelled = [(s, e, label) for s, e, label in selections if label and label.strip()]
    if not labelled:
        return Detection(STANDARD, 0, 0)
    candidates = CONVENTIONS if source.conventions_differ else (STANDARD,)
    best = Detection(STANDARD, len(labelled), count_matches(source, STANDARD, labelled))
    if best.matched == len(labelled):
        return best
    for convention in candidates[1:]:
        matched = count_matches(source, convention, labelled)
        if matched > best.matched:
            best = Detection(convention, len(labelled), matched)
    return best
