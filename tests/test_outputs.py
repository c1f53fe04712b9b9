"""Tests for analysis.protect.outputs, the one gate for tables and figure counts (synthetic examples)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.protect import register
from analysis.protect.outputs import disclosure_footnote, release_counts, release_table, release_text_columns
from analysis.protect.person_level import release_participant_level
from analysis.protect.policy import DisclosureError, get_profile

FIXTURES = Path(__file__).parent / "fixtures" / "protect"
CATEGORIES = ["with_mother", "kinship_care", "foster_care"]


pytestmark = pytest.mark.usefixtures("isolated_register")  # tests/conftest.py


def fixture_table() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "placements_by_site.csv")


def test_study_small_cells_marked_and_others_unchanged():
    table = fixture_table()
    out = release_table(table, name="tbl-placements-by-site", count_columns=CATEGORIES)
    assert list(out.columns) == list(table.columns) and len(out) == len(table)
    for i in range(len(table)):
        for column in CATEGORIES:
            value, shown = table.at[i, column], out.at[i, column]
            if 1 <= value <= 4:
                assert shown == "<5"
            elif isinstance(shown, str):
                assert shown == "[c]" and (value == 0 or value >= 5)
            else:
                assert shown == value
    # Hand-worked: the four small cells (3, 2, 4, 1) and at least one complement per line.
    assert (out[CATEGORIES] == "<5").sum().sum() == 4
    hidden = out[CATEGORIES].map(lambda v: isinstance(v, str))
    for i in range(len(out)):
        assert hidden.iloc[i].sum() != 1
    for column in CATEGORIES:
        assert hidden[column].sum() != 1


def test_study_with_total_row_and_column_keeps_totals_consistent():
    table = fixture_table()
    table["Total"] = table[CATEGORIES].sum(axis=1)
    total = pd.DataFrame([{"site": "Total", **table[CATEGORIES + ["Total"]].sum().to_dict()}])
    table = pd.concat([table, total], ignore_index=True)
    out = release_table(table, name="tbl-placements-total", count_columns=CATEGORIES + ["Total"])
    assert out.iloc[-1]["site"] == "Total"
    # Any row total shown must equal the true row total; a row with a hidden total must
    # have at least two hidden cells elsewhere, or none.
    for i in range(len(out)):
        if not isinstance(out.at[i, "Total"], str):
            assert out.at[i, "Total"] == table.at[i, "Total"]


def test_given_totals_that_do_not_add_up_are_refused_with_location():
    table = pd.DataFrame({"site": ["a", "b", "Total"], "x": [6, 7, 14]})
    with pytest.raises(DisclosureError, match=r"tbl-bad.*total row.*'x'"):
        release_table(table, name="tbl-bad", count_columns=["x"])


def test_bad_count_value_names_table_row_and_column():
    table = pd.DataFrame({"site": ["a", "b"], "x": [6, 2.5]})
    with pytest.raises(DisclosureError, match=r"tbl-bad2', row 1, column 'x'.*2.5"):
        release_table(table, name="tbl-bad2", count_columns=["x"])


def test_single_column_small_cell_protected_from_the_total():
    table = pd.DataFrame({"site": ["a", "b", "c", "Total"], "n": [1, 10, 12, 23]})
    out = release_table(table, name="tbl-one-column", count_columns=["n"])
    assert out.at[0, "n"] == "<5"
    assert sum(isinstance(v, str) for v in out["n"]) >= 2


def test_tre_release_hand_worked():
    table = pd.DataFrame({"site": ["a", "b", "c", "Total"], "yes": [3, 12, 23, 38],
                          "no": [8, 0, 7, 15]})
    out = release_table(table, name="tbl-tre", count_columns=["yes", "no"], profile="tre-release")
    assert out["yes"].tolist() == ["[REDACTED]", 10, 25, 35]  # total = 10 + 25
    assert out["no"].tolist() == [10, 0, "[REDACTED]", 10]
    entry = register.session_register()[-1]
    assert entry.profile == "tre-release" and entry.primary_suppressed == 2 and entry.rounded


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("DISCLOSURE_PROFILE", "tre-release")
    out = release_table(pd.DataFrame({"g": ["a", "b"], "n": [9, 12]}), name="tbl-env",
                        count_columns=["n"])
    assert out["n"].tolist() == [10, 10]


def test_percentages_only_from_released_counts():
    table = pd.DataFrame({"site": ["a", "b", "c"], "yes": [6, 12, 10], "no": [4, 15, 10]})
    out = release_table(table, name="tbl-pct", count_columns=["yes", "no"], percent="row")
    assert out.at[1, "yes (%)"] == round(100 * 12 / 27, 1)
    assert out.at[0, "no"] == "<5" and isinstance(out.at[0, "no (%)"], str)
    assert isinstance(out.at[0, "yes (%)"], str)  # 6 of 10 would reveal the 4


def test_sensitive_group_disclosure_suppressed_and_ordinary_flagged():
    table = pd.DataFrame({"site": ["a", "b", "c"], "yes": [6, 5, 7], "no": [0, 8, 9]})
    out = release_table(table, name="tbl-previous_children_removed-by-site",
                        count_columns=["yes", "no"])
    assert isinstance(out.at[0, "yes"], str) and isinstance(out.at[0, "no"], str)
    entry = register.session_register()[-1]
    assert entry.group_disclosures and "suppressed" in entry.notes[0]
    plain = release_table(table, name="tbl-interviews", count_columns=["yes", "no"])
    assert plain.at[0, "yes"] == 6
    assert "flagged" in register.session_register()[-1].notes[0]


def test_release_counts_for_figures():
    long = fixture_table().melt(id_vars="site", var_name="placement", value_name="n")
    out = release_counts(long, name="fig-placements", count_column="n")
    assert list(out.columns) == ["site", "placement", "n", "suppressed"]
    small = long["n"].between(1, 4)
    assert out.loc[small, "suppressed"].all() and out.loc[small, "n"].isna().all()
    shown = ~out["suppressed"]
    assert (out.loc[shown, "n"].astype(int) == long.loc[shown, "n"]).all()
    assert register.session_register()[-1].kind == "figure_counts"


def test_register_file_collects_entries_from_every_call(tmp_path):
    release_table(fixture_table(), name="tbl-a", count_columns=CATEGORIES)
    release_counts(pd.DataFrame({"w": [1, 2], "n": [7, 9]}), name="fig-b", count_column="n")
    lines = [json.loads(x) for x in (tmp_path / "register.jsonl").read_text().splitlines()]
    assert [x["table"] for x in lines] == ["tbl-a", "fig-b"]
    assert lines[0]["primary_suppressed"] == 4 and lines[0]["pid"] == os.getpid()


def test_participant_level_k_and_pycanon():
    from pycanon import anonymity

    people = pd.DataFrame({
        "study_id": [f"SS-EL-{i:03d}" for i in range(8)],
        "site": ["east_london"] * 4 + ["glasgow"] * 4,
        "age_band": ["18-24", "25-29", "30-34", "35-39", "18-24", "20-24", "25-29", "40-44"],
        "parity": [0, 1, 2, 5, 1, 0, 3, 2],
        "theme_text": ["synthetic summary"] * 8,
    })
    out, k = release_participant_level(people, name="tbl-framework", quasi_identifiers=["site", "age_band", "parity"])
    assert k >= 3
    assert anonymity.k_anonymity(out, ["site", "age_band", "parity"]) == k
    entry = register.session_register()[-1]
    assert entry.k_achieved == k and entry.passed and entry.generalised


def test_participant_level_failure_recorded():
    people = pd.DataFrame({"site": ["a", "b"], "parity": [0, 1]})
    _, k = release_participant_level(people, name="tbl-too-few", quasi_identifiers=["site", "parity"])
    assert k == 2 and not register.session_register()[-1].passed


def _microdata(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, row in table.iterrows():
        for column in CATEGORIES:
            rows += [{"site": row["site"], "placement": column}] * int(row[column])
    return pd.DataFrame(rows)


def test_primary_cells_agree_with_acro(tmp_path, monkeypatch):
    import acro

    monkeypatch.chdir(tmp_path)  # ACRO may write its outputs folder here
    table = fixture_table()
    checker = acro.ACRO(suppress=True)
    checker.sdc_checks.risk_appetite.update(safe_threshold=5, zeros_are_disclosive=False)
    micro = _microdata(table)
    acro_table = checker.crosstab(micro.site, micro.placement).reindex(
        index=table["site"], columns=CATEGORIES).fillna(0)
    ours = release_table(table, name="tbl-acro", count_columns=CATEGORIES).set_index("site")
    original = table.set_index("site")
    acro_primary = (original > 0) & (acro_table.to_numpy() == 0)
    our_primary = ours[CATEGORIES] == "<5"
    assert (acro_primary.to_numpy() == our_primary.to_numpy()).all()


def test_tre_rounding_agrees_with_acro(tmp_path, monkeypatch):
    import acro

    monkeypatch.chdir(tmp_path)
    table = fixture_table()
    checker = acro.ACRO(mitigation="round", round_base=5)
    checker.sdc_checks.risk_appetite.update(safe_threshold=8, zeros_are_disclosive=False)
    micro = _microdata(table)
    acro_rounded = checker.crosstab(micro.site, micro.placement).reindex(
        index=table["site"], columns=CATEGORIES).fillna(0)
    ours = release_table(table, name="tbl-acro-tre", count_columns=CATEGORIES,
                         profile="tre-release").set_index("site")
    original = table.set_index("site")[CATEGORIES].to_numpy()
    released = ~ours[CATEGORIES].isin(["[REDACTED]"]).to_numpy()
    assert (released == ~((original >= 1) & (original <= 7))).all()
    assert (ours[CATEGORIES].to_numpy()[released].astype(float)
            == acro_rounded.to_numpy()[released]).all()


def test_footnote_per_profile():
    assert "<5" in disclosure_footnote("study")
    assert "[REDACTED]" in disclosure_footnote("tre-release")
    assert get_profile("study").footnote == disclosure_footnote("study")
    assert np.isfinite(get_profile("study").min_range)


def test_release_counts_of_an_empty_figure_is_recorded_not_a_crash():
    from analysis.protect.register import session_register

    empty = pd.DataFrame({"service": pd.Series([], dtype="string"), "n": pd.Series([], dtype="int64")})
    released = release_counts(empty, name="fig-empty", count_column="n")
    assert released.empty and list(released.columns) == ["service", "n", "suppressed"]
    assert any(e.table == "fig-empty" and e.passed for e in session_register())


def test_reference_tables_are_recorded_and_counts_are_refused():
    from analysis.protect.register import session_register
    from analysis.protect.outputs import release_reference_table

    features = pd.DataFrame({"Feature": ["Co-located"], "East London": ["Yes"]})
    assert release_reference_table(features, name="tbl-features", source="sites.csv").equals(features)
    assert any(e.table == "tbl-features" and e.kind == "reference" and e.passed for e in session_register())
    with pytest.raises(DisclosureError, match="numeric column"):
        release_reference_table(pd.DataFrame({"site": ["a"], "n": [3]}), name="tbl-n", source="x")


def test_text_columns_of_a_released_table_are_shown_apart_without_its_counts():
    """A wide table set as two: the counts in the released table, its quotations in a second
    table that may hold no count and no column the released table does not have."""
    table = pd.DataFrame({"Theme": ["Stigma", "Trust"], "Women": [12, 2], "Quote": ["a", "b"]})
    released = release_table(table, name="x/tbl-wide", count_columns=["Women"], row_totals_published=False)
    shown = release_text_columns(released, ["Theme", "Quote"], name="x/tbl-wide-quotes", of="x/tbl-wide")
    assert shown.to_dict("list") == {"Theme": ["Stigma", "Trust"], "Quote": ["a", "b"]}
    entry = {e["table"]: e for e in register.read_register()}["x/tbl-wide-quotes"]
    assert entry["kind"] == "reference" and entry["notes"] == ["text columns of x/tbl-wide, released with its counts"]
    with pytest.raises(DisclosureError, match="numeric column"):
        release_text_columns(table, ["Theme", "Women"], name="x/t2", of="x/tbl-wide")
    with pytest.raises(DisclosureError, match=r"\['Age'\] not in the released table"):
        release_text_columns(released, ["Theme", "Age"], name="x/t3", of="x/tbl-wide")
