"""Framework Method matrix (Gale et al. 2013): women (rows) by themes (columns).

Each cell is a short, machine-drafted summary of the coded segments behind it (waves, number
of segments, codes, one short excerpt) followed by the segment ids it rests on, so analysts can
go back to the data and replace the draft with their own charting. ``write_matrix_xlsx`` writes
the matrix to Excel for the team to annotate: wrapped text, frozen header row and ID columns,
an "About" sheet, and a "Segments" sheet that resolves every segment id to its text.
Quasi-identifiers shown beside each woman must first pass through
``analysis.outputs.release_participant_level`` (k-anonymity).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analysis.figures import atomic_write_bytes
from analysis.site_profile import recruited_women, require_columns
from analysis.themes import themes_of

QUASI_IDENTIFIERS: Final[tuple[str, ...]] = ("site", "age_band", "ethnicity", "parity")
"""Columns shown beside each woman that could identify her in combination."""

MAX_REFERENCES: Final[int] = 40
"""Most segment ids listed in one cell (the rest are counted)."""

EXCERPT_CHARS: Final[int] = 90
"""Longest excerpt in a cell."""

FIXED_TIMESTAMP: Final[dt.datetime] = dt.datetime(2024, 1, 1, 0, 0, 0)
"""Workbook created/modified stamp, fixed so the file does not change between identical runs."""


def matrix_long(segments: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Return study_id, theme_id, theme, waves, segments, codes, segment_ids, summary per woman-theme.

    Only woman-theme pairs with at least one segment appear.
    """
    require_columns(segments, ["segment_id", "study_id", "wave", "code_id", "theme_id", "text"], table_name="segments")
    require_columns(codebook, ["code_id", "code"], table_name="codebook")
    leaf = codebook.set_index("code_id")["code"].astype(str).map(lambda c: c.split("\\")[-1])
    themes = themes_of(codebook).set_index("theme_id")["theme"]
    rows = []
    ordered = segments.sort_values(["study_id", "theme_id", "wave", "segment_id"], kind="mergesort")
    for (study_id, theme_id), group in ordered.groupby(["study_id", "theme_id"], sort=True):
        waves = sorted({int(w) for w in group["wave"]})
        codes = list(dict.fromkeys(leaf.get(c, str(c)) for c in group["code_id"]))
        ids = group["segment_id"].astype(str).tolist()
        rows.append(
            {
                "study_id": study_id,
                "theme_id": theme_id,
                "theme": themes.get(theme_id, theme_id),
                "waves": waves,
                "segments": len(group),
                "codes": codes,
                "segment_ids": ids,
                "summary": cell_summary(waves, codes, str(group["text"].iloc[0]), ids),
            }
        )
    return pd.DataFrame(rows, columns=["study_id", "theme_id", "theme", "waves", "segments", "codes", "segment_ids", "summary"])


def cell_summary(waves: Sequence[int], codes: Sequence[str], first_text: str, segment_ids: Sequence[str]) -> str:
    """Draft one matrix cell: waves, segment count, codes, a short excerpt and the references."""
    wave_text = ", ".join(f"W{w}" for w in waves)
    excerpt = " ".join(first_text.split())
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1].rstrip() + "\u2026"
    refs = list(segment_ids)[:MAX_REFERENCES]
    more = len(segment_ids) - len(refs)
    ref_text = ", ".join(refs) + (f" (+{more} more)" if more > 0 else "")
    noun = "segment" if len(segment_ids) == 1 else "segments"
    return f"{wave_text}; {len(segment_ids)} {noun}: {'; '.join(codes)}. \u201c{excerpt}\u201d Refs: {ref_text}"


def build_matrix(segments: pd.DataFrame, codebook: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Return the wide matrix: study_id, quasi-identifiers, then one column per theme.

    Rows are every recruited woman (sorted by study ID), also those with no coded segments;
    empty cells are blank strings. Theme columns follow the codebook's theme order.
    """
    require_columns(participants, ["study_id", *QUASI_IDENTIFIERS], table_name="participants")
    women = recruited_women(participants)[["study_id", *QUASI_IDENTIFIERS]].copy()
    long = matrix_long(segments, codebook)
    theme_names = themes_of(codebook)["theme"].tolist()
    wide = long.pivot(index="study_id", columns="theme", values="summary") if not long.empty else pd.DataFrame()
    out = women.set_index("study_id")
    for theme in theme_names:
        column = wide[theme] if theme in wide.columns else pd.Series(dtype=object)
        out[theme] = column.reindex(out.index).fillna("")
    out = out.reset_index()
    out["parity"] = out["parity"].astype("object").where(out["parity"].notna(), "Not known")
    return out


def write_matrix_xlsx(
    matrix: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    segments: pd.DataFrame | None = None,
    synthetic: bool,
    k_achieved: int | None = None,
    id_columns: int = 1 + len(QUASI_IDENTIFIERS),
) -> Path:
    """Write the framework matrix workbook atomically and return its path.

    Sheets: "Framework matrix" (header bold, text wrapped, top row and the first ``id_columns``
    columns frozen, auto-filter), "Segments" (segment id -> woman, wave, code, text; only when
    ``segments`` is given) and "About" (what the file is, synthetic or not, k-anonymity).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.properties.creator = "Stepping Stones analysis (analysis/framework_matrix.py)"
    book.properties.created = FIXED_TIMESTAMP
    book.properties.modified = FIXED_TIMESTAMP
    sheet = book.active
    sheet.title = "Framework matrix"
    _write_frame(sheet, matrix, wrap_from=id_columns, theme_width=48)
    sheet.freeze_panes = sheet.cell(row=2, column=id_columns + 1)
    if segments is not None:
        seg_sheet = book.create_sheet("Segments")
        columns = [c for c in ("segment_id", "study_id", "wave", "document", "code_id", "theme_id", "text") if c in segments.columns]
        _write_frame(seg_sheet, segments[columns].sort_values("segment_id"), wrap_from=len(columns) - 1, theme_width=90)
        seg_sheet.freeze_panes = "B2"
    about = book.create_sheet("About")
    lines = [
        ("File", "Framework matrix (Framework Method, Gale et al. 2013): women by themes."),
        ("Data", "SYNTHETIC DATA: not findings of the study." if synthetic else "Study data: confidential, for the study team only."),
        ("Cells", "Machine-drafted summary: waves; number of segments: codes. An excerpt, then 'Refs:' the segment ids (see the Segments sheet)."),
        ("How to use", "Replace or annotate the drafts with your own charting; keep the Refs so every summary stays traceable."),
        ("Disclosure", f"Quasi-identifiers generalised to k-anonymity (k = {k_achieved})." if k_achieved is not None else "Quasi-identifiers not checked."),
    ]
    for r, (key, value) in enumerate(lines, start=1):
        about.cell(row=r, column=1, value=key).font = Font(bold=True)
        about.cell(row=r, column=2, value=value).alignment = Alignment(wrap_text=True, vertical="top")
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 100
    buffer = io.BytesIO()
    book.save(buffer)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def _write_frame(sheet, frame: pd.DataFrame, *, wrap_from: int, theme_width: float) -> None:  # noqa: ANN001
    """Write a header row and the frame's values; columns from ``wrap_from`` are wide and wrapped."""
    header_fill = PatternFill("solid", fgColor="DCE6F0")
    for c, name in enumerate(frame.columns, start=1):
        cell = sheet.cell(row=1, column=c, value=str(name))
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, values in enumerate(frame.itertuples(index=False, name=None), start=2):
        longest = 0
        for c, value in enumerate(values, start=1):
            if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
                value = ""
            elif not isinstance(value, int | float | str):
                value = str(value)
            cell = sheet.cell(row=r, column=c, value=value)
            cell.alignment = Alignment(wrap_text=c > wrap_from, vertical="top")
            if c > wrap_from:
                longest = max(longest, len(str(value)))
        sheet.row_dimensions[r].height = max(15, 15 * (1 + longest // int(theme_width * 1.1)))
    for c, name in enumerate(frame.columns, start=1):
        width = theme_width if c > wrap_from else max(10, min(28, len(str(name)) + 4))
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(frame.columns)))}{max(1, len(frame) + 1)}"
