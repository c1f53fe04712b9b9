"""Redesign before suppression, participation-count exemptions, information loss and the prose
that follows the numbers (issue 11). Synthetic examples only."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.analyse import prose
from analysis.protect import output_check, policy, redesign, register
from analysis.protect.outputs import release_sensitive_table, release_table, suppression_count
from analysis.protect.policy import DisclosureError, get_profile, load_policy

pytestmark = pytest.mark.usefixtures("isolated_register")  # tests/conftest.py

STUDY = get_profile("study")
TRE = get_profile("tre-release")
PLACEMENTS = ["With mother", "Mother-and-baby placement", "Kinship care", "Foster care", "Not known"]


def placements_by_site() -> pd.DataFrame:
    """Four sites of nine babies: like the synthetic study, every site has small categories."""
    return pd.DataFrame({
        "Site": ["A", "B", "C", "D"],
        "With mother": [8, 6, 7, 7],
        "Mother-and-baby placement": [0, 0, 1, 0],
        "Kinship care": [0, 1, 0, 0],
        "Foster care": [1, 1, 1, 1],
        "Not known": [0, 1, 0, 1],
    })


def rule():
    found = load_policy().redesign_rule("03_synthesis/tbl-placements-birth")
    assert found is not None
    return found


# --- each redesign step ------------------------------------------------------------------------

def test_merge_step_sums_declared_groups_and_counts_merged_categories():
    design = redesign.Design(table=placements_by_site(), count_columns=tuple(PLACEMENTS))
    merged = redesign.apply_step(design, rule().steps[0], STUDY, 0)
    assert merged is not None
    assert merged.count_columns == ("With mother", "Not with mother", "Not known")
    assert merged.table["With mother"].tolist() == [8, 6, 8, 7]
    assert merged.table["Not with mother"].tolist() == [1, 2, 1, 1]
    assert merged.merged_categories == 2 and merged.steps == (0,)
    assert "Kinship care and foster care combined as Not with mother" in merged.descriptions[0]


def test_up_level_step_adds_rows_into_one():
    design = redesign.Design(table=placements_by_site(), count_columns=tuple(PLACEMENTS))
    up = redesign.apply_step(design, rule().steps[1], STUDY, 1)
    assert up is not None and len(up.table) == 1
    assert up.table.at[0, "Site"] == "All sites"
    assert up.table.at[0, "With mother"] == 28 and up.rows_combined == 3
    assert redesign.apply_step(up, rule().steps[1], STUDY, 1) is None  # one row: nothing to do


def test_collapse_rare_merges_small_categories_and_pairs_a_lone_one():
    table = pd.DataFrame({"Site": ["All"], "A": [20], "B": [9], "C": [2]})
    design = redesign.Design(table=table, count_columns=("A", "B", "C"))
    collapsed = redesign.collapse_rare(design, {"description": "rare"}, STUDY)
    assert collapsed is not None
    assert collapsed.count_columns == ("A", "B or C")  # lone rare C joins the smallest other
    assert collapsed.table["B or C"].tolist() == [11]
    nothing_rare = redesign.Design(table=table.assign(C=[6]), count_columns=("A", "B", "C"))
    assert redesign.collapse_rare(nothing_rare, {"description": "rare"}, STUDY) is None


def test_band_step_uses_declared_bands():
    table = pd.DataFrame({"Site": ["All"], "18-24": [3], "25-29": [6], "30-34": [7], "35+": [2]})
    design = redesign.Design(table=table, count_columns=("18-24", "25-29", "30-34", "35+"))
    banded = redesign.band_categories(design, {"description": "ages banded",
                                               "bands": {"Under 30": ["18-24", "25-29"],
                                                         "30 and over": ["30-34", "35+"]}})
    assert banded is not None
    assert banded.count_columns == ("Under 30", "30 and over")
    assert banded.table.iloc[0][["Under 30", "30 and over"]].tolist() == [9, 9]


def test_candidates_follow_declared_order_and_skip_duplicates():
    designs = redesign.candidate_designs(placements_by_site(), PLACEMENTS, rule(), STUDY)
    assert designs[0].steps == ()
    assert all(list(d.steps) == sorted(d.steps) for d in designs)
    keys = [redesign._key(d) for d in designs]
    assert len(keys) == len(set(keys))


# --- choosing the design -----------------------------------------------------------------------

def test_sensitive_table_is_redesigned_to_meet_the_target_with_no_small_counts_shown():
    released = release_sensitive_table(placements_by_site(), name="tbl-placements-birth",
                                       count_columns=PLACEMENTS, what="babies")
    assert released.table is not None and released.sentence is None
    shares = released.suppressed_share
    assert shares is not None and shares <= STUDY.max_suppressed_share
    values = released.table[list(released.count_columns)].to_numpy().ravel()
    assert not any(isinstance(v, (int,)) and 1 <= v <= 4 for v in values)
    assert all(not (str(v).isdigit() and 1 <= int(v) <= 4) for v in values)
    assert released.merged_categories >= 1 and "redesigned" in released.note
    entry = register.read_register()[0]
    assert entry["merged_categories"] == released.merged_categories
    assert entry["modification"] and entry["suppressed_cells"] == 0


def test_small_cell_table_without_a_redesign_rule_is_still_suppressed():
    table = pd.DataFrame({"Group": list("abcdef"), "x": [12, 2, 9, 10, 8, 9], "y": [8, 7, 11, 9, 10, 12],
                          "z": [9, 8, 12, 10, 11, 9], "w": [10, 9, 8, 12, 9, 11]})
    released = release_sensitive_table(table, name="tbl-substances-by-group", count_columns=["x", "y", "z", "w"])
    assert released.table is not None
    assert released.table.at[1, "x"] == "<5"
    assert (released.table[["x", "y", "z", "w"]] == "[c]").any().any()  # secondary suppression too
    assert released.modification == "" and released.suppressed_share is not None
    assert 0 < released.suppressed_share <= STUDY.max_suppressed_share


def test_table_where_merging_is_impossible_is_replaced_by_a_sentence():
    # Two categories, every cell small: no merge, combination or collapse shows any count.
    table = pd.DataFrame({"Site": ["A"], "With mother": [2], "Foster care": [1]})
    released = release_sensitive_table(table, name="tbl-placements-tiny", count_columns=["With mother", "Foster care"],
                                       what="babies")
    assert released.table is None
    assert released.sentence and "Not published" in released.sentence
    assert "fewer" in released.sentence  # the total (3) is itself small
    assert " 2 " not in released.sentence and " 1 " not in released.sentence and " 3 " not in released.sentence
    assert released.display_table().shape == (1, 1)
    entry = register.read_register()[0]
    assert entry["replaced_by_sentence"] and entry["passed"]


# --- participation counts ----------------------------------------------------------------------

def retention() -> pd.DataFrame:
    return pd.DataFrame({"Wave": ["1", "2", "Total"], "Completed": [9, 7, 16], "Withdrawn": [0, 2, 2]})


def test_participation_counts_are_published_and_the_exemption_logged():
    out = release_table(retention(), name="03_synthesis/tbl-retention-all", count_columns=["Completed", "Withdrawn"])
    assert out["Withdrawn"].tolist() == [0, 2, 2]
    entry = register.read_register()[0]
    assert "participation" in entry["exemption"].lower() and entry["suppressed_cells"] == 0


def test_participation_counts_are_rounded_not_redacted_under_tre_release():
    out = release_table(retention(), name="03_synthesis/tbl-retention-all", count_columns=["Completed", "Withdrawn"],
                        profile="tre-release")
    assert out["Completed"].tolist() == [10, 5, 15] and out["Withdrawn"].tolist() == [0, 0, 0]
    assert register.read_register()[0]["exemption"]


def test_same_counts_under_another_name_are_protected():
    out = release_table(retention(), name="tbl-something-else", count_columns=["Completed", "Withdrawn"])
    assert "<5" in out["Withdrawn"].tolist()
    assert not register.read_register()[0]["exemption"]


def test_a_sensitive_name_is_never_exempt():
    policy = load_policy()
    assert policy.is_participation("03_synthesis/tbl-retention-all")
    assert not policy.is_participation("tbl-retention-placement")


def test_policy_refuses_exemptions_without_justification(tmp_path):
    text = policy.POLICY_PATH.read_text(encoding="utf-8")
    start = text.index("  justification: >-")
    end = text.index("  tables:", start)
    broken = tmp_path / "policy.yml"
    broken.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(DisclosureError, match="justification"):
        load_policy(broken)


# --- information loss --------------------------------------------------------------------------

def test_suppressed_share_counts_marker_cells():
    frame = pd.DataFrame({"g": ["a", "b"], "x": [10, "<5"], "y": ["[c]", 7]})
    assert suppression_count(frame, ["x", "y"]) == (4, 2)
    assert register.suppressed_share({"count_cells": 4, "suppressed_cells": 2}) == 0.5
    assert register.suppressed_share({"count_cells": 0}) is None


def test_loss_target_fails_fully_suppressed_and_over_target_tables():
    ok, _ = output_check.loss_target_met({"count_cells": 8, "suppressed_cells": 2}, STUDY)
    assert ok
    over, detail = output_check.loss_target_met({"count_cells": 8, "suppressed_cells": 3}, STUDY)
    assert not over and "38%" in detail
    everything, _ = output_check.loss_target_met({"count_cells": 1, "suppressed_cells": 1},
                                                 get_profile("study"))
    assert not everything
    replaced, _ = output_check.loss_target_met({"replaced_by_sentence": True}, STUDY)
    assert replaced


# --- prose -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "profile", "expected"), [
    ("29", STUDY, "At birth, 81% of the babies (29 of 36) went home with their mother."),
    ("<5", STUDY, "At birth, fewer than 5 of the 36 babies went home with their mother."),
    ("[c]", STUDY, "How many babies went home with their mother at birth is not published: the number is withheld"),
    (None, STUDY, "How many babies went home with their mother at birth is not published: the numbers are too small"),
    ("30", TRE, "At birth, about 83% of the babies (about 30 of 36) went home with their mother."),
    ("[REDACTED]", TRE, "How many babies went home with their mother at birth is not published"),
])
def test_share_sentence_adapts_to_each_case(value, profile, expected):
    text = prose.share_sentence(value, 36, profile, lead="At birth,", noun="babies",
                                predicate="went home with their mother",
                                what="how many babies went home with their mother at birth")
    assert text.startswith(expected)
    for marker in ("[c]", "<5", "[REDACTED]"):
        assert marker not in text


def test_count_phrase_never_quotes_a_marker():
    assert prose.count_phrase("1,234", STUDY, "contacts") == "1,234 contacts"
    assert prose.count_phrase("<5", STUDY, "women") == "fewer than 5 women"
    assert prose.count_phrase("[c]", STUDY, "women") == "a withheld number of women"
    assert prose.count_phrase("35", TRE, "women") == "about 35 women"
