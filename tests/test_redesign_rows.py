"""Row merging, the information-loss target enforced under every profile (study and
tre-release), its exemptions, and the tables of the cleaning stage and the site profiles that
use them (issue 11). Synthetic examples only."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.analyse import site_profile
from analysis.clean import report as cleaning_report
from analysis.protect import output_check, policy, redesign, register
from analysis.protect.outputs import release_sensitive_table, release_table, suppression_count
from analysis.protect.policy import POLICY_PATH, DisclosureError, get_profile, load_policy

pytestmark = pytest.mark.usefixtures("isolated_register")  # tests/conftest.py

STUDY = get_profile("study")
TRE = get_profile("tre-release")
MERGE_ROWS = {"kind": "merge_rows", "description": "rules with few rows combined", "label_column": "Rule",
              "label": "{n} other rules (combined)"}


def _registered(table: str) -> dict:
    """The register's combined entry for ``table`` (the register lists tables by name)."""
    return {entry["table"]: entry for entry in register.read_register()}[table]


def cleaning_log() -> pd.DataFrame:
    """A cleaning log like the synthetic study's: a few rules change many rows, several few."""
    rows = [("01_read", "contacts.csv", "duplicate row", 40, "dropped"),
            ("01_read", "contacts.csv", "blank row", 2, "dropped"),
            ("01_read", "contacts.csv", "junk total row", 1, "dropped"),
            ("02_check", "participants.csv", "birth not recorded", 3, "estimated"),
            ("02_check", "participants.csv", "branching logic", 6, "blanked"),
            ("02_check", "contacts.csv", "service renamed", 25, "mapped"),
            ("02_check", "contacts.csv", "date out of window", 12, "dropped"),
            ("03_derive", "interviews.csv", "wave from date", 30, "derived")]
    return pd.DataFrame(rows, columns=["stage", "file", "rule", "rows_affected", "action"])


def summary_design() -> redesign.Design:
    return redesign.Design(table=cleaning_report.cleaning_summary(cleaning_log()), count_columns=("Rows",))


# --- the merge_rows step -----------------------------------------------------------------------

def test_merge_rows_combines_sparse_rows_into_one_labelled_row():
    merged = redesign.merge_rows(summary_design(), MERGE_ROWS, TRE, 0)
    assert merged is not None
    table = merged.table
    # Under tre-release 1-7 are unsafe: blank row 2, junk row 1, birth 3, branching 6 combine.
    assert table["Rule"].tolist() == ["duplicate row", "service renamed", "date out of window",
                                      "wave from date", "4 other rules (combined)"]
    assert table["Rows"].tolist() == [40, 25, 12, 30, 12]
    assert int(table["Rows"].sum()) == int(cleaning_log()["rows_affected"].sum())
    assert table.iloc[-1]["File"] == ""  # the combined rules come from several files
    assert merged.rows_combined == 3 and merged.merged_categories == 3 and merged.steps == (0,)
    assert "rules with few rows combined: blank row, junk total row, birth not recorded and branching logic combined as 4 other rules" \
        in merged.descriptions[0]
    # Pure: the design it was given is unchanged.
    assert len(summary_design().table) == 8


def test_merge_rows_pairs_a_lone_sparse_row_and_keeps_shared_labels_and_totals():
    table = pd.DataFrame({"Service": ["GP", "Midwife", "Housing", "Total"], "before": [9, 20, 3, 32],
                          "after": [8, 15, 0, 23]})
    design = redesign.Design(table=table, count_columns=("before", "after"))
    merged = redesign.merge_rows(design, {"description": "few", "label": "Other ({n})"}, STUDY, 2)
    assert merged is not None
    assert merged.table["Service"].tolist() == ["Midwife", "Other (2)", "Total"]  # with GP, the smallest
    assert merged.table["before"].tolist() == [20, 12, 32] and merged.table["after"].tolist() == [15, 8, 23]


def test_merge_rows_changes_nothing_without_sparse_rows_or_when_every_row_is_sparse():
    safe = redesign.Design(table=pd.DataFrame({"Rule": ["a", "b"], "Rows": [9, 0]}), count_columns=("Rows",))
    assert redesign.merge_rows(safe, MERGE_ROWS, STUDY) is None
    small = redesign.Design(table=pd.DataFrame({"Rule": ["a", "b"], "Rows": [2, 1]}), count_columns=("Rows",))
    assert redesign.merge_rows(small, MERGE_ROWS, STUDY) is None  # that is up_level's job
    with pytest.raises(DisclosureError, match="label_column 'Nope'"):
        redesign.merge_rows(small, {**MERGE_ROWS, "label_column": "Nope"}, STUDY)


def test_policy_declares_the_row_merge_and_validates_it(tmp_path):
    policy = load_policy()
    for name in ("01_clean/tbl-cleaning-summary", "02_site_profile_glasgow/tbl-characteristics",
                 "02_site_profile_glasgow/tbl-postnatal-gap"):
        found = policy.redesign_rule(name)
        assert found is not None and found.steps[0]["kind"] == "merge_rows"
    text = POLICY_PATH.read_text(encoding="utf-8")
    broken = tmp_path / "policy.yml"
    broken.write_text(text.replace('label: "{n} other rules (combined)"', "label: ''"), encoding="utf-8")
    with pytest.raises(DisclosureError, match="merge_rows.*lacks 'label'"):
        load_policy(broken)


# --- the target under both profiles ------------------------------------------------------------

@pytest.mark.parametrize("profile", ["study", "tre-release"])
def test_cleaning_summary_meets_the_target_under_each_profile(profile):
    prof = get_profile(profile)
    assert prof.loss_target == "enforce" and prof.max_suppressed_share == 0.25
    before = release_table(cleaning_report.cleaning_summary(cleaning_log()), name="before/tbl-x",
                           count_columns=["Rows"], column_totals_published=False, profile=profile)
    cells, hidden = suppression_count(before, ["Rows"])
    released = cleaning_report.release_cleaning_summary(cleaning_log(), name="01_clean/tbl-cleaning-summary",
                                                        profile=profile)
    assert released.table is not None
    cells_after, hidden_after = suppression_count(released.table, ["Rows"])
    assert hidden_after / cells_after <= 0.25
    # As designed, study hides 1-4 (3 of 8 rules), tre-release 1-7 (4 of 8): both over 25%.
    assert (hidden, cells) == ({"study": 3, "tre-release": 4}[profile], 8)
    assert released.modification.startswith("cleaning rules that changed few rows combined")
    assert "redesigned" in released.note
    assert released.merged_categories == {"study": 2, "tre-release": 3}[profile]
    entry = _registered("01_clean/tbl-cleaning-summary")
    assert entry["profile"] == profile
    assert output_check.loss_target_met(entry, prof)[0]


def test_a_table_no_design_can_publish_is_replaced_under_tre_release():
    # Every rule changed 1-7 rows and the rows combined are still 7 or fewer: nothing can be shown.
    log = pd.DataFrame([("s", "f.csv", "a", 2, "dropped"), ("s", "f.csv", "b", 3, "dropped"),
                        ("s", "f.csv", "c", 1, "dropped")], columns=["stage", "file", "rule", "rows_affected", "action"])
    released = cleaning_report.release_cleaning_summary(log, name="01_clean/tbl-cleaning-summary", profile="tre-release")
    assert released.table is None and released.sentence
    assert "7 or fewer rows" in released.sentence and "Not published" in released.sentence
    entry = _registered("01_clean/tbl-cleaning-summary")
    assert entry["replaced_by_sentence"] and output_check.loss_target_met(entry, TRE)[0]


def test_characteristics_blocks_are_redesigned_or_replaced_and_meet_the_target():
    table = pd.DataFrame({
        "characteristic": ["Women recruited", "Age", "Age", "Age", "Ethnicity", "Ethnicity"],
        "category": ["Recruited", "Under 25", "25-34", "35 and over", "White", "Black"],
        "n": [12, 3, 7, 2, 10, 2],
    })
    out = site_profile.release_characteristics(table, name="02_site_profile_x/tbl-characteristics")
    assert out["Category"].tolist()[:3] == ["Recruited", "25-34", "Other (2 categories)"]
    assert out["n"].tolist()[:3] == [12, 7, 5]
    assert out["Characteristic"].tolist()[3] == "Ethnicity" and out["Category"].tolist()[3].startswith("Not published")
    assert "Age: rare categories combined" in out.attrs["note"]
    entry = _registered("02_site_profile_x/tbl-characteristics")
    assert entry["count_cells"] == 3 and entry["suppressed_cells"] == 0 and entry["replaced_by_sentence"]
    assert output_check.loss_target_met(entry, STUDY)[0]


def test_a_combined_row_of_a_multi_select_characteristic_counts_mentions_without_a_percentage():
    table = pd.DataFrame({
        "characteristic": ["Women recruited", *["Substances used (any)"] * 3],
        "category": ["Women", "Heroin", "Alcohol", "Cannabis"],
        "n": [9, 8, 3, 4],
    })
    out = site_profile.release_characteristics(table, name="02_site_profile_x/tbl-characteristics")
    row = out.loc[out["Category"].str.startswith("Other")].iloc[0]
    assert row["Category"] == "Other (2 categories), mentions" and row["n"] == 7 and row["%"] == ""
    assert out.loc[out["Category"] == "Heroin", "%"].tolist() == ["89"]
    assert "counts mentions" in out.attrs["note"]


# --- enforcement in the output check -----------------------------------------------------------

@pytest.fixture()
def outputs_folder(tmp_path, monkeypatch):
    derived = tmp_path / "data_derived"
    derived.mkdir()
    monkeypatch.setenv("DATA_DERIVED", str(derived))
    monkeypatch.setenv("DISCLOSURE_REGISTER", str(derived / "disclosure_register.jsonl"))
    (derived / "manifest.json").write_text(json.dumps({"data_fingerprint": "abc", "data_raw": "data_raw/synthetic"}))
    folder = tmp_path / "reports" / "_output"
    folder.mkdir(parents=True)
    register.reset_register()
    return folder


def _over_target_table(profile: str) -> None:
    # No redesign rule matches this name: released as is, 2 of 4 cells hidden.
    release_table(pd.DataFrame({"Rule": ["a", "b", "c", "d"], "Rows": [2, 3, 40, 50]}),
                  name="02_site_profile_x/tbl-over-target", count_columns=["Rows"],
                  column_totals_published=False, profile=profile)


@pytest.mark.parametrize("profile", ["study", "tre-release"])
def test_a_table_over_the_target_fails_the_check_naming_table_and_profile(outputs_folder, monkeypatch, capsys,
                                                                           profile):
    monkeypatch.setenv("DISCLOSURE_PROFILE", profile)
    _over_target_table(profile)
    assert output_check.main(["--outputs", str(outputs_folder)]) == 1
    printed = capsys.readouterr().out
    assert "information_loss" in printed and "02_site_profile_x/tbl-over-target" in printed
    assert f"profile {profile}" in printed and "no exemption in the policy" in printed


def test_a_policy_exemption_lets_the_table_through_and_is_logged(outputs_folder, monkeypatch, tmp_path, capsys):
    text = POLICY_PATH.read_text(encoding="utf-8")
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(text.replace("\nloss_exemptions:\n", "\nloss_exemptions:\n  - table: tbl-over-target$\n"
                                   "    profiles: [study]\n    justification: the rules are published "
                                   "elsewhere in full\n"), encoding="utf-8")
    monkeypatch.setattr(policy, "POLICY_PATH", policy_file)
    _over_target_table("study")
    assert output_check.main(["--outputs", str(outputs_folder)]) == 0
    capsys.readouterr()
    rows = {(r.check, r.table): r for r in output_check.check_outputs(outputs_folder)}
    loss = rows[("information_loss", "02_site_profile_x/tbl-over-target")]
    assert loss.result == "n/a" and "published elsewhere in full" in loss.detail
    exemption = rows[("exemption", "02_site_profile_x/tbl-over-target")]
    assert exemption.result == "pass" and "information-loss target" in exemption.detail


def test_policy_refuses_a_loss_exemption_without_justification_or_with_an_unknown_profile(tmp_path):
    text = POLICY_PATH.read_text(encoding="utf-8")
    broken = tmp_path / "policy.yml"
    broken.write_text(text.replace("\nloss_exemptions:\n", "\nloss_exemptions:\n  - table: x\n    profiles: [study]\n"),
                      encoding="utf-8")
    with pytest.raises(DisclosureError, match="loss_exemptions entry 1 needs 'table' and 'justification'"):
        load_policy(broken)
    broken.write_text(text.replace("\nloss_exemptions:\n", "\nloss_exemptions:\n  - table: x\n    profiles: [nope]\n"
                                   "    justification: because\n"), encoding="utf-8")
    with pytest.raises(DisclosureError, match="'profiles' must list profiles"):
        load_policy(broken)


def test_shipped_exemptions_are_justified_and_narrow():
    policy = load_policy()
    assert policy.loss_exemption("02_site_profile_glasgow/tbl-professional-themes", "tre-release") is not None
    assert policy.loss_exemption("02_site_profile_glasgow/tbl-characteristics", "study") is None
    assert policy.loss_exemption("03_synthesis/tbl-accounts", "tre-release") is None
    assert all(len(e.justification) > 80 for e in policy.loss_exemptions)
