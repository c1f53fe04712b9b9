"""Tests for analysis.analyse.themes on the hand-written fixture (SYNTHETIC test data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import themes
from analysis.core import tables
from analysis.publish import figures


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


@pytest.fixture(scope="module")
def presence(data) -> pd.DataFrame:
    return themes.theme_presence(data["segments"], data["interviews"])


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ([1, 1, 1], "persists"),
        ([0, 1, 1], "emerges"),
        ([0, 0, 1], "emerges"),
        ([1, 0, 0], "fades"),
        ([1, 1, 0], "fades"),
        ([0, 1, 0], "appears"),
        ([1], "appears"),
        ([1, 0, 1], "intermittent"),
        ([0, 1, 1, 0], "intermittent"),
        ([0, 0], None),
    ],
)
def test_classify_trajectory(pattern, expected) -> None:
    assert themes.classify_trajectory(pattern) == expected


def test_theme_presence_covers_completed_interviews(presence) -> None:
    # 5 + 2 + 3 completed interviews, 3 themes
    assert len(presence) == 10 * 3
    # EL-001: W1 2, W2 2, W3 1, W5 1; EL-002: W1 1, W2 2; GG-001: W1 1, W2 2, W3 1
    assert presence["present"].sum() == 13


def test_prevalence_by_wave(data, presence) -> None:
    prev = themes.prevalence_by_wave(presence, data["codebook"]).set_index(["theme_id", "wave"])
    assert prev.loc[("C01", 1)].tolist() == ["Fear of removal", 3, 3]
    assert prev.loc[("C01", 2), "women"] == 2
    assert prev.loc[("C05", 2), "women"] == 2
    assert prev.loc[("C03", 5)].tolist() == ["Support after birth", 1, 1]
    assert prev.xs(3, level="wave")["interviewed"].unique().tolist() == [2]


def test_prevalence_by_site(data, presence) -> None:
    prev = themes.prevalence_by_site(presence, data["codebook"]).set_index(["theme_id", "site"])
    assert prev.loc[("C05", "east_london"), ["women", "interviewed"]].tolist() == [1, 2]
    assert prev.loc[("C01", "glasgow"), ["women", "interviewed"]].tolist() == [1, 1]


def test_trajectories(data, presence) -> None:
    traj = themes.trajectories(presence, data["codebook"]).set_index(["study_id", "theme_id"])["trajectory"].to_dict()
    assert traj == {
        ("SS-EL-001", "C01"): "fades",
        ("SS-EL-001", "C03"): "intermittent",
        ("SS-EL-001", "C05"): "appears",
        ("SS-EL-002", "C01"): "persists",
        ("SS-EL-002", "C03"): "emerges",
        ("SS-GG-001", "C01"): "fades",
        ("SS-GG-001", "C03"): "appears",
        ("SS-GG-001", "C05"): "emerges",
    }
    summary = themes.trajectory_summary(themes.trajectories(presence, data["codebook"]), data["codebook"])
    assert summary.set_index(["theme_id", "trajectory"]).loc[("C01", "fades"), "women"] == 2
    assert summary["women"].sum() == 8


def test_cooccurrence(data) -> None:
    by_segment = themes.segment_cooccurrence(data["segments"], data["codebook"])
    assert by_segment[["code_a", "code_b", "segments"]].values.tolist() == [["C02", "C04", 2], ["C04", "C06", 1]]
    by_document = themes.document_cooccurrence(data["segments"], data["codebook"])
    assert by_document[["code_a", "code_b", "documents"]].values.tolist() == [
        ["C02", "C04", 2], ["C02", "C06", 1], ["C04", "C06", 1],
    ]


def test_touching_spans_do_not_overlap() -> None:
    segments = pd.DataFrame(
        {"document": ["D", "D"], "code_id": ["A", "B"], "start": [0, 10], "end": [10, 20]}
    )
    assert themes.segment_cooccurrence(segments).empty


def test_accounts_side_by_side(data) -> None:
    table = themes.accounts_side_by_side(data["segments"], data["professional_segments"], data["codebook"]).set_index("theme")
    assert table.loc["Fear of removal", ["women", "women_segments", "professionals", "professional_segments"]].tolist() == [3, 6, 1, 1]
    assert table.loc["Support after birth", "professionals"] == 2
    assert table.loc["Opioid treatment", "professional_example"] == ""
    assert table.loc["Fear of removal", "women_example"].endswith("[S001]")


def test_site_presence_is_independent(data) -> None:
    alone = themes.theme_presence(tables.site_rows(data, "segments", "glasgow"), tables.site_rows(data, "interviews", "glasgow"), "glasgow")
    together = themes.theme_presence(data["segments"], data["interviews"], "glasgow")
    pd.testing.assert_frame_equal(alone, together)


def test_heatmaps_render(data, presence, monkeypatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    released = themes.release_prevalence(themes.prevalence_by_wave(presence, data["codebook"]), by="wave", name="fig-test")
    assert released["suppressed"].all()  # every count in the fixture is below 5
    chart = themes.share_heatmap(released, row="theme", column="wave", count="women", denominator="interviewed", title="T")
    assert figures.render_png(figures.chart_spec(chart))[:4] == b"\x89PNG"
    text = themes.heatmap_alt_text(released, row="theme", column="wave", count="women", denominator="interviewed", what="x")
    assert "15 cells are suppressed" in text
    chart, alt_text = themes.cooccurrence_figure(themes.segment_cooccurrence(data["segments"].iloc[0:1], data["codebook"]), name="fig-test", title="Co")
    assert "No two different codes" in alt_text


def test_theme_level_document_cooccurrence(data) -> None:
    pairs = themes.document_cooccurrence(data["segments"], data["codebook"], level="theme")
    # EL-001_W1: C01+C03; EL-001_W2: C01+C05; EL-002_W2: C01+C03; GG-001_W2: C03+C05
    assert pairs[["code_a", "code_b", "documents"]].values.tolist() == [["C01", "C03", 2], ["C01", "C05", 1], ["C03", "C05", 1]]
    assert pairs["code_a_label"].tolist()[0] == "Fear of removal"
    with pytest.raises(ValueError, match="level must be"):
        themes.document_cooccurrence(data["segments"], level="wave")
