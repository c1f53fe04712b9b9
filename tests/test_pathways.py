"""Tests for analysis.analyse.pathways on the hand-written fixture (SYNTHETIC test data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import pathways
from analysis.protect import outputs
from analysis.publish import figures


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


def _as_dict(frame: pd.DataFrame, column: str = "transitions") -> dict[tuple[str, str], int]:
    return {(f, t): int(n) for f, t, n in frame[["from_service", "to_service", column]].itertuples(index=False)}


def test_sequences_collapse_repeat_visits(data) -> None:
    seq = pathways.service_sequences(data["contacts"])
    el1 = seq.loc[seq["study_id"] == "SS-EL-001", "service"].tolist()
    assert el1 == [
        "specialist_midwife", "drug_service", "specialist_midwife", "drug_service",
        "social_care", "obstetrics", "health_visitor", "drug_service",
    ]
    raw = pathways.service_sequences(data["contacts"], collapse_repeats=False)
    assert (raw["study_id"] == "SS-EL-001").sum() == 9


def test_directly_follows_east_london(data) -> None:
    counts = pathways.directly_follows(data["contacts"], "east_london")
    assert _as_dict(counts) == {
        ("specialist_midwife", "drug_service"): 2,
        ("specialist_midwife", "social_care"): 1,
        ("obstetrics", "health_visitor"): 1,
        ("drug_service", "specialist_midwife"): 1,
        ("drug_service", "social_care"): 1,
        ("social_care", "obstetrics"): 1,
        ("social_care", "neonatal_unit"): 1,
        ("health_visitor", "drug_service"): 1,
        ("neonatal_unit", "social_care"): 1,
    }
    assert counts.loc[(counts["from_service"] == "specialist_midwife") & (counts["to_service"] == "drug_service"), "women"].item() == 1
    # 7 + 3 hand-offs at the site
    assert counts["transitions"].sum() == 10


def test_directly_follows_with_repeats_and_ends(data) -> None:
    counts = pathways.directly_follows(data["contacts"], "glasgow", collapse_repeats=False, include_ends=True)
    as_dict = _as_dict(counts)
    assert as_dict[("mother_baby_placement", "mother_baby_placement")] == 1
    assert as_dict[("drug_service", "drug_service")] == 1
    assert as_dict[(pathways.START, "drug_service")] == 1
    assert as_dict[("drug_service", pathways.END)] == 1
    assert counts["transitions"].sum() == 7 + 1  # 7 contacts -> 6 steps, plus start and end


def test_ties_are_broken_by_contact_id(data) -> None:
    contacts = data["contacts"].copy()
    contacts.loc[contacts["contact_id"] == "C0002", ["week_rel_birth", "contact_date"]] = [-20.0, contacts.loc[0, "contact_date"]]
    first = pathways.service_sequences(contacts).query("study_id == 'SS-EL-001'")["service"].tolist()[:2]
    assert first == ["specialist_midwife", "drug_service"]  # C0001 before C0002 on the same day


def test_grid_and_chart(data, monkeypatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")
    grid = pathways.transition_grid(pathways.directly_follows(data["contacts"], "glasgow"))
    assert len(grid) == 3 * 3  # specialist midwife, drug service, mother-and-baby placement
    assert grid["transitions"].sum() == 4
    released = outputs.release_counts_by_row(grid, name="fig-test", count_column="transitions", row_columns=["from_service", "from_label"])
    chart = pathways.pathway_chart(released, title="Glasgow")
    assert figures.render_png(figures.chart_spec(chart))[:4] == b"\x89PNG"
    assert "Matrix of hand-offs" in pathways.pathway_alt_text(released, "Glasgow")
    with pytest.raises(ValueError, match="one site"):
        pathways.transition_grid(pathways.directly_follows(data["contacts"]))
