"""Framework Method matrix (Gale et al. 2013): women (rows) by themes (columns).

Each cell is a short, machine-drafted summary of the coded segments behind it (waves, number
of segments, codes, one short excerpt) followed by the segment ids it rests on, so analysts can
go back to the data and replace the draft with their own charting. ``write_matrix_xlsx`` writes
the matrix to Excel for the team to annotate: wrapped text, frozen header row and ID columns,
an "About" sheet, and a "Segments" sheet that resolves every segment id to its text.
Quasi-identifiers shown beside each woman must first pass through
``analysis.protect.person_level.release_participant_level`` (k-anonymity).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from analysis.analyse.site_profile import recruited_women, require_columns
from analysis.analyse.themes import themes_of
from analysis.core import atomic
from analysis.core.reproducible_zip import workbook_bytes

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
    ordered = segments.sort_values(["study_id", "theme_id", "wave", "segment_id"], kind="mergesort").assign(
        wave=lambda f: f["wave"].astype(int),
        code_label=lambda f: f["code_id"].map(leaf).fillna(f["code_id"]).astype(str),
        segment_id=lambda f: f["segment_id"].astype(str),
    )
    if ordered["text"].notna().all():
        agg = _woman_theme_groups(ordered)
    else:  # a group's first text is its first non-missing one: pandas' "first"
        agg = ordered.groupby(["study_id", "theme_id"], sort=True).agg(
            waves=("wave", lambda w: sorted(set(w))),
            segments=("segment_id", "size"),
            codes=("code_label", lambda c: list(dict.fromkeys(c))),
            segment_ids=("segment_id", list),
            first_text=("text", "first"),
        ).reset_index()
    agg["theme"] = agg["theme_id"].map(themes).fillna(agg["theme_id"])
    agg["summary"] = [
        cell_summary(w, c, str(t), i) for w, c, t, i in zip(agg["waves"], agg["codes"], agg["first_text"], agg["segment_ids"])
    ]
    rows = agg
    columns = ["study_id", "theme_id", "theme", "waves", "segments", "codes", "segment_ids", "summary"]
    return rows[columns] if len(rows) else pd.DataFrame(columns=columns)


def _woman_theme_groups(ordered: pd.DataFrame) -> pd.DataFrame:
    """One row per woman and theme of segments already sorted by woman, theme, wave and segment:
    the waves, segment count, codes (first-seen order), segment ids and first text. The same
    table as pandas' groupby with these aggregations, in one pass instead of a Python call per
    group and aggregation (34,000 groups at 100 times the study)."""
    columns = [ordered[c].tolist() for c in ("study_id", "theme_id", "wave", "code_label", "segment_id", "text")]
    rows = []
    for (study_id, theme_id), members in itertools.groupby(zip(*columns), key=lambda r: (r[0], r[1])):
        group = list(members)
        rows.append((study_id, theme_id, sorted({r[2] for r in group}), len(group),
                     list(dict.fromkeys(r[3] for r in group)), [r[4] for r in group], group[0][5]))
    out = pd.DataFrame(rows, columns=["study_id", "theme_id", "waves", "segments", "codes", "segment_ids", "first_text"])
    return out.astype({c: ordered[c].dtype for c in ("study_id", "theme_id")} | {"first_text": ordered["text"].dtype})


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
    Written in openpyxl's streaming (write-only) mode, so 100 times the study still takes
    seconds; creation and modification stamps are fixed so identical data give identical bytes.
    """
    target = Path(path)
    book = Workbook(write_only=True)
    book.properties.creator = "Stepping Stones analysis (framework_matrix.write_matrix_xlsx)"
    book.properties.created = FIXED_TIMESTAMP
    book.properties.modified = FIXED_TIMESTAMP
    sheet = book.create_sheet("Framework matrix")
    sheet.freeze_panes = f"{get_column_letter(id_columns + 1)}2"
    _write_frame(sheet, matrix, wrap_from=id_columns, wide_width=48)
    if segments is not None:
        seg_sheet = book.create_sheet("Segments")
        seg_sheet.freeze_panes = "B2"
        columns = [c for c in ("segment_id", "study_id", "wave", "document", "code_id", "theme_id", "text") if c in segments.columns]
        _write_frame(seg_sheet, segments[columns].sort_values("segment_id"), wrap_from=len(columns) - 1, wide_width=90)
    about = book.create_sheet("About")
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 100
    lines = [
        ("File", "Framework matrix (Framework Method, Gale et al. 2013): women by themes."),
        ("Data", "SYNTHETIC DATA: not findings of the study." if synthetic else "Study data: confidential, for the study team only."),
        ("Cells", "Machine-drafted summary: waves; number of segments: codes. An excerpt, then 'Refs:' the segment ids (see the Segments sheet)."),
        ("How to use", "Replace or annotate the drafts with your own charting; keep the Refs so every summary stays traceable."),
        ("Disclosure", f"Quasi-identifiers generalised to k-anonymity (k = {k_achieved})." if k_achieved is not None else "Quasi-identifiers not checked."),
    ]
    for key, value in lines:
        about.append([_styled(about, key, font=_BOLD), _styled(about, value, alignment=_WRAP)])
    return atomic.write_bytes(target, workbook_bytes(book))


_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")


def _styled(sheet, value: object, *, font: Font | None = None, alignment: Alignment | None = None,  # noqa: ANN001
            fill: PatternFill | None = None) -> WriteOnlyCell:
    """A write-only cell with optional font, alignment and fill."""
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if fill is not None:
        cell.fill = fill
    return cell


def _write_frame(sheet, frame: pd.DataFrame, *, wrap_from: int, wide_width: float) -> None:  # noqa: ANN001
    """Stream a header row and the frame's rows; columns after ``wrap_from`` are wide and wrapped."""
    for c, name in enumerate(frame.columns, start=1):
        width = wide_width if c > wrap_from else max(10, min(28, len(str(name)) + 4))
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(frame.columns)))}{max(1, len(frame) + 1)}"
    sheet.append([_styled(sheet, str(name), font=_BOLD, alignment=_WRAP, fill=_HEADER_FILL) for name in frame.columns])
    for values in frame.itertuples(index=False, name=None):
        row = []
        for c, value in enumerate(values, start=1):
            if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
                value = ""
            elif not isinstance(value, int | float | str):
                value = str(value)
            row.append(_styled(sheet, value, alignment=_WRAP) if c > wrap_from else value)
        sheet.append(row)
