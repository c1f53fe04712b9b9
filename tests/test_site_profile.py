"""Tests for analysis.analyse.site_profile on the hand-written fixture (SYNTHETIC test data).

Fixture: SS-EL-001 and SS-EL-002 at east_london, SS-GG-001 at glasgow, SS-EL-003 screened but
not recruited. Expected numbers below were counted by hand from tests/fixtures/analysis/derived.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "analysis"))
import analysis_fixture  # noqa: E402

from analysis.analyse import postnatal_gap, site_profile
from analysis.core import tables


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return analysis_fixture.load_tables()


@pytest.fixture(autouse=True)
def _no_register(monkeypatch) -> None:
    monkeypatch.setenv("DISCLOSURE_REGISTER", "off")


def test_recruited_women_excludes_screened_only(data) -> None:
    assert site_profile.recruited_women(data["participants"])["study_id"].tolist() == ["SS-EL-001", "SS-EL-002", "SS-GG-001"]
    assert site_profile.recruited_women(data["participants"], "east_london")["study_id"].tolist() == ["SS-EL-001", "SS-EL-002"]


def test_characteristics_counts(data) -> None:
    table = site_profile.participant_characteristics(
        data["participants"], data["participant_substances"], data["participant_mental_health"], "east_london"
    )
    lookup = {(c, k): n for c, k, n in table.itertuples(index=False)}
    assert lookup[("Women recruited", "Women")] == 2
    assert lookup[("Previous children removed", "Yes")] == 1
    assert lookup[("Care-experienced", "Yes")] == 1
    assert lookup[("Substances used (any)", "Heroin")] == 2
    assert lookup[("Substances used (any)", "Crack cocaine")] == 1
    assert lookup[("Mental health (any)", "Anxiety")] == 2
    assert lookup[("Opioid substitution treatment", "Buprenorphine")] == 1
    # every single-choice block adds up to the site's women
    for block in ("Age band", "Ethnicity", "Parity (previous births)", "Housing", "Domestic abuse"):
        assert table.loc[table["characteristic"] == block, "n"].sum() == 2, block


def test_release_characteristics_suppresses_small_counts(data) -> None:
    table = site_profile.participant_characteristics(
        data["participants"], data["participant_substances"], data["participant_mental_health"]
    )
    released = site_profile.release_characteristics(table, name="tbl-test")
    assert list(released.columns) == ["Characteristic", "Category", "n", "%"]
    # Two women: no count can be shown; each block is suppressed or (issue 11: over the
    # information-loss target whatever the design) replaced by a sentence saying what can be said.
    assert set(released["n"].astype(str)) <= {"<5", "[c]", "0", ""}
    replaced = released["n"].astype(str) == ""
    assert replaced.any() and released.loc[replaced, "Category"].str.startswith("Not published").all()
    assert (released.loc[released["n"].astype(str).isin(["<5", ""]), "%"] == "").all()


def test_add_percentages_uses_released_counts_only() -> None:
    released = pd.DataFrame({"n": [10, "<5", 6]})
    assert site_profile.add_percentages(released, 20)["%"].tolist() == ["50", "", "30"]


def test_interview_flow(data) -> None:
    flow = site_profile.interview_flow(data["interviews"], "east_london")
    wide = flow.pivot(index="wave", columns="status", values="women")
    assert wide["completed"].tolist() == [2, 2, 1, 1, 1]
    assert wide["lost"].tolist() == [0, 0, 1, 1, 1]
    assert (wide.sum(axis=1) == 2).all()
    summary = site_profile.retention_summary(flow)
    assert list(summary.columns) == ["Wave", "Timing", "Completed", "Missed", "Withdrawn", "Lost"]


def test_interview_flow_rejects_unknown_status(data) -> None:
    bad = data["interviews"].copy()
    bad.loc[0, "status"] = "done"
    with pytest.raises(site_profile.ProfileInputError, match="interviews.*status.*'done'"):
        site_profile.interview_flow(bad)


def test_contacts_per_woman_by_phase(data) -> None:
    women = site_profile.recruited_women(data["participants"])
    per_woman = site_profile.contacts_per_woman(data["contacts"], women).set_index("study_id")
    assert per_woman.loc["SS-EL-001"].tolist() == [5, 1, 3, 9]
    assert per_woman.loc["SS-EL-002"].tolist() == [3, 1, 1, 5]
    assert per_woman.loc["SS-GG-001"].tolist() == [3, 0, 4, 7]
    summary = site_profile.contacts_per_woman_summary(per_woman.reset_index()).set_index("phase")
    assert summary.loc["total", "contacts"] == 21
    assert summary.loc["antenatal", "median_per_woman"] == 3.0


def test_contacts_by_service_phase(data) -> None:
    counts = site_profile.contacts_by_service_phase(data["contacts"], "east_london")
    lookup = counts.set_index(["service", "phase"])["contacts"]
    assert lookup[("specialist_midwife", "antenatal")] == 4
    assert lookup[("drug_service", "postnatal")] == 2
    assert lookup[("neonatal_unit", "birth")] == 1
    assert counts["contacts"].sum() == 14
    # configured service order
    assert counts["service"].drop_duplicates().tolist()[:2] == ["specialist_midwife", "obstetrics"]


def test_contacts_phase_outside_contract_is_an_error(data) -> None:
    bad = data["contacts"].copy()
    bad.loc[3, "phase"] = "later"
    with pytest.raises(site_profile.ProfileInputError, match="row 3, column 'phase'"):
        site_profile.contacts_by_service_phase(bad)


def test_postnatal_gap(data) -> None:
    women = site_profile.recruited_women(data["participants"])
    gap = postnatal_gap.postnatal_gap_per_woman(data["contacts"], women).set_index("study_id")
    # weeks -12 <= w < 0 and 0 <= w < 12
    assert gap.loc["SS-EL-001"].tolist() == [3, 2, -1]
    assert gap.loc["SS-EL-002"].tolist() == [2, 2, 0]
    assert gap.loc["SS-GG-001"].tolist() == [2, 3, 1]
    by_service = postnatal_gap.postnatal_gap_by_service(data["contacts"], "east_london")
    lookup = by_service.set_index(["service", "period"])["contacts"]
    assert lookup[("specialist_midwife", "before")] == 2
    assert lookup[("specialist_midwife", "after")] == 0
    assert lookup[("social_care", "before")] == 2
    assert by_service.groupby("period")["contacts"].sum().to_dict() == {"after": 4, "before": 5}


def test_gap_alt_text_reports_totals(data) -> None:
    gap = postnatal_gap.postnatal_gap_by_service(data["contacts"], "east_london").assign(suppressed=False)
    text = postnatal_gap.gap_alt_text(gap, 2, "East London")
    assert "from 2.5 to 2.0 per woman" in text
    assert "largest fall was in Specialist midwife (-1.0 per woman)" in text


def test_site_run_is_independent_of_other_sites(data) -> None:
    only = {name: tables.site_rows(data, name, "glasgow") for name in ("participants", "interviews", "contacts")}
    for func, args in (
        (site_profile.interview_flow, ("interviews",)),
        (site_profile.contacts_by_service_phase, ("contacts",)),
        (postnatal_gap.postnatal_gap_by_service, ("contacts",)),
    ):
        alone = func(*(only[a] for a in args), "glasgow")
        together = func(*(data[a] for a in args), "glasgow")
        pd.testing.assert_frame_equal(alone.reset_index(drop=True), together.reset_index(drop=True))
    women_alone = site_profile.recruited_women(only["participants"], "glasgow")
    women_all = site_profile.recruited_women(data["participants"], "glasgow")
    pd.testing.assert_frame_equal(women_alone, women_all)


def test_missing_column_is_named(data) -> None:
    with pytest.raises(site_profile.ProfileInputError, match="table 'contacts': missing column\\(s\\) \\['phase'\\]"):
        site_profile.contacts_by_service_phase(data["contacts"].drop(columns="phase"))


def test_contacts_summary_table_for_display(data) -> None:
    women = site_profile.recruited_women(data["participants"])
    table = site_profile.contacts_summary_table(site_profile.contacts_per_woman(data["contacts"], women))
    assert table.columns.tolist() == ["Phase", "Women", "Contacts", "Median per woman", "Lower quartile", "Upper quartile"]
    assert table["Phase"].tolist()[-1] == "Total"
    assert table["Contacts"].tolist() == [11, 2, 8, 21]
