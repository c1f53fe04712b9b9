"""Tests for analysis.analyse.framework_matrix on the hand-written fixture (SYNTHETIC test data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import framework_matrix


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


def test_matrix_long_references_segments(data) -> None:
    long = framework_matrix.matrix_long(data["segments"], data["codebook"]).set_index(["study_id", "theme_id"])
    cell = long.loc[("SS-EL-001", "C01")]
    assert cell["waves"] == [1, 2, 3]
    assert cell["segment_ids"] == ["S001", "S003", "S005"]
    assert cell["summary"].startswith("W1, W2, W3; 3 segments: Pre-birth assessment; Fear of removal.")
    assert cell["summary"].endswith("Refs: S001, S003, S005")
    assert len(long) == 8


def test_cell_summary_caps_references() -> None:
    ids = [f"S{i:03d}" for i in range(framework_matrix.MAX_REFERENCES + 5)]
    text = framework_matrix.cell_summary([1], ["Code"], "x" * 500, ids)
    assert text.endswith("(+5 more)")
    assert "\u2026" in text


def test_build_matrix_wide(data) -> None:
    matrix = framework_matrix.build_matrix(data["segments"], data["codebook"], data["participants"])
    assert matrix.columns.tolist() == [
        "study_id", "site", "age_band", "ethnicity", "parity", "Fear of removal", "Support after birth", "Opioid treatment",
    ]
    assert matrix["study_id"].tolist() == ["SS-EL-001", "SS-EL-002", "SS-GG-001"]
    assert matrix.set_index("study_id").loc["SS-EL-002", "Opioid treatment"] == ""


def test_write_xlsx(data, tmp_path) -> None:
    matrix = framework_matrix.build_matrix(data["segments"], data["codebook"], data["participants"])
    path = framework_matrix.write_matrix_xlsx(matrix, tmp_path / "fm.xlsx", segments=data["segments"], synthetic=True, k_achieved=3)
    book = load_workbook(path)
    assert book.sheetnames == ["Framework matrix", "Segments", "About"]
    sheet = book["Framework matrix"]
    assert sheet.freeze_panes == "F2"
    assert sheet["F1"].value == "Fear of removal"
    assert sheet["F2"].alignment.wrap_text
    assert sheet["F2"].value.endswith("Refs: S001, S003, S005")
    assert book["Segments"].max_row == 1 + len(data["segments"])
    assert "SYNTHETIC DATA" in book["About"]["B2"].value
    again = framework_matrix.write_matrix_xlsx(matrix, tmp_path / "fm2.xlsx", segments=data["segments"], synthetic=True, k_achieved=3)
    assert again.read_bytes() == path.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))



def _ordered(segments: pd.DataFrame) -> pd.DataFrame:
    return segments.sort_values(["study_id", "theme_id", "wave", "segment_id"], kind="mergesort").assign(
        wave=lambda f: f["wave"].astype(int), code_label=lambda f: f["code_id"].astype(str),
        segment_id=lambda f: f["segment_id"].astype(str))


def test_one_pass_grouping_gives_pandas_table(data) -> None:
    """The one-pass grouping gives the table pandas' groupby gives, dtypes included."""
    ordered = _ordered(data["segments"])
    reference = ordered.groupby(["study_id", "theme_id"], sort=True).agg(
        waves=("wave", lambda w: sorted(set(w))), segments=("segment_id", "size"),
        codes=("code_label", lambda c: list(dict.fromkeys(c))), segment_ids=("segment_id", list),
        first_text=("text", "first")).reset_index()
    pd.testing.assert_frame_equal(framework_matrix._woman_theme_groups(ordered), reference)


def test_a_missing_first_text_takes_the_next_one(data) -> None:
    """pandas' "first" skips a missing value; matrix_long keeps that rule."""
    segments = data["segments"].copy()
    first = _ordered(segments).index[0]
    second_text = str(_ordered(segments)["text"].iloc[1])
    segments["text"] = segments["text"].astype(object)
    segments.loc[first, "text"] = None
    long = framework_matrix.matrix_long(segments, data["codebook"])
    row = long.iloc[0]
    assert _ordered(data["segments"]).iloc[1][["study_id", "theme_id"]].tolist() == [row["study_id"], row["theme_id"]]
    assert " ".join(second_text.split())[:20] in row["summary"]
