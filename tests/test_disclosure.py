"""Tests for analysis.protect.disclosure: policy, suppression soundness (brute force), rounding, k-anonymity.

All tables are small invented (synthetic) examples worked by hand.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from analysis.protect import register
from analysis.protect.disclosure import (
    anonymise_participant_level, group_disclosure_rows, intruder_ranges, k_of, redact_and_round,
    round_to_base, suppress_matrix, table_lines,
)
from analysis.protect.policy import DisclosureError, get_profile, load_policy


pytestmark = pytest.mark.usefixtures("isolated_register")  # tests/conftest.py


STUDY = get_profile("study")
TRE = get_profile("tre-release")


def feasible_values(values: np.ndarray, status: np.ndarray, profile, *, row_margin=True,
                    column_margin=True) -> dict[tuple[int, int], set[int]]:
    """Brute force: every assignment of the hidden interior cells that reproduces what is
    published (shown cells and margins) and what the markers say; the values each hidden
    interior cell can take. Independent of the MILP audit in analysis.protect.disclosure."""
    n_rows = values.shape[0] - (1 if column_margin else 0)
    n_cols = values.shape[1] - (1 if row_margin else 0)
    cap = int(values[:n_rows, :n_cols].sum()) + 1
    separate = profile.primary_marker != profile.secondary_marker

    def domain(state: str) -> list[int]:
        if not separate:
            return list(range(0, cap + 1))
        if state == "primary":
            return list(range(1, profile.max_unsafe_count + 1))
        return [0] + list(range(profile.max_unsafe_count + 1, cap + 1))

    def allowed(value: int, state: str) -> bool:
        return state == "shown" or value in set(domain(state))

    hidden_rows: list[list[tuple[int, ...]]] = []
    for i in range(n_rows):
        hidden = [j for j in range(n_cols) if status[i, j] != "shown"]
        shown_sum = sum(values[i, j] for j in range(n_cols) if status[i, j] == "shown")
        options = []
        for combo in itertools.product(*[domain(status[i, j]) for j in hidden]):
            total = shown_sum + sum(combo)
            if row_margin:
                if status[i, n_cols] == "shown" and total != values[i, n_cols]:
                    continue
                if not allowed(int(total), status[i, n_cols]):
                    continue
            options.append(combo)
        hidden_rows.append(options)
    seen: dict[tuple[int, int], set[int]] = {}

    def column_ok(assign: list[tuple[int, ...]]) -> bool:
        if not column_margin:
            return True
        grid = values[:n_rows, :n_cols].copy()
        for i, combo in enumerate(assign):
            hidden = [j for j in range(n_cols) if status[i, j] != "shown"]
            for j, v in zip(hidden, combo):
                grid[i, j] = v
        sums = grid.sum(axis=0)
        for j in range(n_cols):
            if status[n_rows, j] == "shown" and sums[j] != values[n_rows, j]:
                return False
            if not allowed(int(sums[j]), status[n_rows, j]):
                return False
        if row_margin:
            grand = grid.sum()
            if status[n_rows, n_cols] == "shown" and grand != values[n_rows, n_cols]:
                return False
        return True

    def walk(i: int, assign: list[tuple[int, ...]]) -> None:
        if i == n_rows:
            if column_ok(assign):
                for r, combo in enumerate(assign):
                    hidden = [j for j in range(n_cols) if status[r, j] != "shown"]
                    for j, v in zip(hidden, combo):
                        seen.setdefault((r, j), set()).add(int(v))
            return
        for combo in hidden_rows[i]:
            walk(i + 1, assign + [combo])

    walk(0, [])
    return seen


def test_policy_has_both_profiles_and_documented_markers():
    policy = load_policy()
    assert set(policy.profiles) >= {"study", "tre-release"}
    assert STUDY.primary_marker == "<5" and STUDY.max_unsafe_count == 4
    assert TRE.primary_marker == "[REDACTED]" and TRE.max_unsafe_count == 7 and TRE.rounding_base == 5
    assert policy.is_sensitive("tbl-previous-children-removed".replace("-", "_"))
    assert policy.is_sensitive("tbl-placement-by-site")
    assert not policy.is_sensitive("tbl-interviews-by-wave")


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("DISCLOSURE_PROFILE", "tre-release")
    assert get_profile().name == "tre-release"
    assert get_profile("study").name == "study"
    monkeypatch.setenv("DISCLOSURE_PROFILE", "nonsense")
    with pytest.raises(DisclosureError, match="nonsense"):
        get_profile()


def test_bad_policy_file_names_file_and_field(tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("default_profile: study\nprofiles:\n  study:\n    method: suppress\n")
    with pytest.raises(DisclosureError, match=r"policy\.yml.*description"):
        load_policy(bad)


def test_primary_and_zero_rules():
    assert STUDY.is_unsafe(1) and STUDY.is_unsafe(4)
    assert not STUDY.is_unsafe(0) and not STUDY.is_unsafe(5)
    assert TRE.is_unsafe(7) and not TRE.is_unsafe(8) and not TRE.is_unsafe(0)


def test_single_small_cell_gets_complements_in_its_row_and_column():
    # Hand-worked: the 2 at (0,0) is primary; row 0 and column 0 each need a second hidden
    # cell, and the crossing cell (1,1) closes the rectangle.
    interior = np.array([[2, 9, 8], [7, 6, 11], [10, 12, 9]])
    result = suppress_matrix(interior, STUDY)
    assert result.status[0, 0] == "primary"
    assert result.primary == 1
    hidden = {tuple(c) for c in np.argwhere(result.status != "shown")}
    assert len([c for c in hidden if c[0] == 0]) >= 2
    assert len([c for c in hidden if c[1] == 0]) >= 2
    # Margins (9 cells + totals) stay published here.
    assert result.status[3, 3] == "shown"


@pytest.mark.parametrize("interior", [
    [[2, 9, 8], [7, 6, 11], [10, 12, 9]],
    [[1, 5], [6, 9]],                       # 1 next to a 5: the complement alone would pin it
    [[3, 0, 6], [0, 8, 2], [5, 7, 9]],
    [[1, 1, 6], [2, 7, 5]],
    [[4, 0], [0, 9], [6, 7]],
])
def test_no_suppressed_cell_can_be_recovered_brute_force(interior):
    matrix = np.array(interior)
    result = suppress_matrix(matrix, STUDY)
    lines = table_lines(result.values.shape, row_margin=True, column_margin=True)
    for line in lines:  # the classic rule: never exactly one hidden cell in a line
        assert sum(result.status[c] != "shown" for c in line) != 1
    feasible = feasible_values(result.values, result.status, STUDY)
    n_rows, n_cols = matrix.shape
    for i, j in itertools.product(range(n_rows), range(n_cols)):
        if result.status[i, j] == "primary":
            seen = feasible[(i, j)]
            assert matrix[i, j] in seen
            assert max(seen) - min(seen) + 1 >= STUDY.min_range, (i, j, seen)
        if 1 <= matrix[i, j] <= 4:
            assert result.status[i, j] == "primary"


def test_audit_detects_a_pinned_cell():
    # Row (1, 5 | 6) with both hidden: '<5' means 1..4 and '[c]' means 0 or >=5, so 1 + 5 = 6
    # pins the 1. The audit must say so, which is why suppress_matrix goes further.
    values = np.array([[1.0, 5.0, 6.0]])
    status = np.array([["primary", "secondary", "shown"]], dtype=object)
    ranges = intruder_ranges(values, status, row_margin=True, column_margin=False,
                             primary_bounds=(1, 4), secondary_floor=5)
    assert ranges[(0, 0)] == (1, 1)
    result = suppress_matrix(np.array([[1, 5], [6, 9]]), STUDY)
    seen = feasible_values(result.values, result.status, STUDY)[(0, 0)]
    assert len(seen) >= STUDY.min_range


def test_small_margin_is_itself_suppressed():
    result = suppress_matrix(np.array([[1, 2], [6, 7]]), STUDY)
    assert result.status[0, 2] == "primary"  # row total 3


def test_group_rows_detected():
    assert group_disclosure_rows(np.array([[6, 0, 0], [2, 3, 0], [0, 0, 0]])) == [0]


def test_group_row_suppressed_cannot_be_shown_to_be_everyone():
    interior = np.array([[6, 0], [5, 8], [7, 9]])
    result = suppress_matrix(interior, STUDY, group_rows=[0])
    assert all(result.status[0, j] != "shown" for j in range(3))
    feasible = feasible_values(result.values, result.status, STUDY)
    assert len(feasible[(0, 1)]) > 1  # the zero could be something else


def test_round_to_base_hand_worked():
    assert round_to_base(np.array([0, 2, 3, 8, 12, 13, 23]), 5).tolist() == [0, 0, 5, 10, 10, 15, 25]


def test_redact_and_round_hand_worked():
    released, redacted = redact_and_round(np.array([[3, 8], [12, 0], [7, 23]]), TRE)
    assert redacted.tolist() == [[True, False], [False, False], [True, False]]
    assert np.isnan(released[0, 0]) and released[0, 1] == 10 and released[1, 0] == 10
    assert released[1, 1] == 0 and released[2, 1] == 25


def test_k_of_hand_worked_and_against_pycanon():
    from pycanon import anonymity

    table = pd.DataFrame({"site": ["a", "a", "a", "b", "b"], "age": ["18-24"] * 3 + ["25-29"] * 2,
                          "x": range(5)})
    assert k_of(table, ["site", "age"]) == 2
    assert k_of(table, ["site", "age"]) == anonymity.k_anonymity(table, ["site", "age"])
    assert k_of(table.iloc[:0], ["site"]) == 0


def test_generalisation_reaches_k_with_least_loss_and_site_last():
    table = pd.DataFrame({
        "study_id": [f"SS-X-{i:03d}" for i in range(9)],
        "site": ["east_london"] * 3 + ["glasgow"] * 3 + ["ayrshire"] * 3,
        "ethnicity": ["White British", "White Irish", "White Scottish",
                      "Black African", "Black Caribbean", "White Other",
                      "White British", "White British", "Indian"],
        "parity": [0, 1, 3, 2, 4, 0, 1, 1, 2],
    })
    out, k, levels = anonymise_participant_level(table, ["site", "ethnicity", "parity"], k=3)
    assert k >= 3
    assert levels["site"] == 0  # site kept: generalising the others suffices
    assert set(out["site"]) == set(table["site"])
    from pycanon import anonymity
    assert anonymity.k_anonymity(out, ["site", "ethnicity", "parity"]) == k


def test_generalisation_falls_back_when_too_few_people():
    table = pd.DataFrame({"site": ["a", "b"], "parity": [0, 1]})
    out, k, _ = anonymise_participant_level(table, ["site", "parity"], k=3)
    assert k == 2 and set(out["site"]) == {"Any"}


def test_register_appends_json_lines(tmp_path):
    entry = register.record(register.RegisterEntry(table="tbl-a", kind="table", profile="study",
                                                       passed=True))
    assert entry.pid > 0
    lines = (tmp_path / "register.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["table"] == "tbl-a"
    assert register.read_register()[0]["table"] == "tbl-a"


def test_register_combines_repeated_names_and_keeps_latest_process(tmp_path):
    target = tmp_path / "register.jsonl"
    rows = [
        {"table": "fig-x", "passed": True, "primary_suppressed": 1, "pid": 1, "time": 1.0, "profile": "study"},
        {"table": "fig-x", "passed": False, "primary_suppressed": 0, "pid": 1, "time": 2.0, "profile": "study"},
        {"table": "tbl-y", "passed": False, "pid": 1, "time": 1.0, "profile": "study"},
        {"table": "tbl-y", "passed": True, "primary_suppressed": 2, "pid": 2, "time": 5.0, "profile": "study"},
    ]
    target.write_text("".join(json.dumps(r) + "\n" for r in rows))
    combined = {e["table"]: e for e in register.read_register(target)}
    assert combined["fig-x"]["passed"] is False and combined["fig-x"]["primary_suppressed"] == 1
    assert combined["fig-x"]["calls"] == 2
    assert combined["tbl-y"]["passed"] is True and combined["tbl-y"]["primary_suppressed"] == 2


def test_a_stage_rerun_replaces_its_earlier_runs_entries(tmp_path):
    """An incremental build reruns one site notebook, which no longer releases tbl-old: the
    register lists what the latest run of each stage released, sorted by name."""
    target = tmp_path / "register.jsonl"
    site, synthesis = "02_site_profile_glasgow", "03_synthesis"
    rows = [
        {"table": f"{site}/tbl-old", "passed": True, "pid": 10, "time": 1.0, "notebook": site},
        {"table": f"{site}/tbl-kept", "passed": False, "pid": 10, "time": 1.1, "notebook": site},
        {"table": f"{synthesis}/tbl-b", "passed": True, "pid": 11, "time": 1.2, "notebook": synthesis},
        {"table": f"{site}/tbl-kept", "passed": True, "pid": 12, "time": 9.0, "notebook": site},
        {"table": "tbl-interactive", "passed": True, "pid": 13, "time": 0.5, "notebook": ""},
    ]
    target.write_text("".join(json.dumps({**r, "profile": "study"}) + "\n" for r in rows))
    combined = register.read_register(target)
    assert [e["table"] for e in combined] == [
        f"{site}/tbl-kept", f"{synthesis}/tbl-b", "tbl-interactive"]
    assert combined[0]["passed"] is True and combined[0]["calls"] == 1


def test_the_stage_runner_names_the_notebook_for_the_register(monkeypatch):
    from analysis.tools import stage
    assert stage.NOTEBOOK_ENV == register.NOTEBOOK_ENV == "PAPERMILL_NOTEBOOK"
    monkeypatch.setenv(register.NOTEBOOK_ENV, "02_site_profile_ayrshire")
    entry = register.record(register.RegisterEntry(table="t", kind="table", profile="study", passed=True))
    assert entry.notebook == "02_site_profile_ayrshire"


def test_audit_shortcut_agrees_with_exact_ranges_on_random_tables():
    """The audit skips a cell's programs when tables the intruder cannot rule out (the true one,
    the solver's optima) already show the width it needs, and solves its minimum only when its
    maximum does not. On every cell of 60 random suppressed tables, that decides 'too narrow'
    exactly as the full ranges do, and every range it reports lies within the true one."""
    rng = np.random.default_rng(20261202)
    checked = shortcut_taken = 0
    for _ in range(60):
        counts = rng.choice([0, 1, 2, 3, 4, 5, 7, 9, 12, 20], size=(rng.integers(2, 5), rng.integers(2, 5)))
        result = suppress_matrix(counts, STUDY)
        for bounds, floor in (((1.0, float(STUDY.max_unsafe_count)), float(STUDY.max_unsafe_count + 1)), (None, None)):
            kwargs = dict(row_margin=result.row_margin, column_margin=result.column_margin,
                          primary_bounds=bounds, secondary_floor=floor)
            exact = intruder_ranges(result.values, result.status, **kwargs)
            for width in (1, STUDY.min_range - 1):
                quick = intruder_ranges(result.values, result.status, wide_enough=width, **kwargs)
                for cell, (lo, hi) in exact.items():
                    q_lo, q_hi = quick[cell]
                    tiny = 1e-6  # the solver's optima carry rounding noise; tables found are whole
                    assert lo - tiny <= q_lo <= q_hi <= hi + tiny and lo - tiny <= result.values[cell] <= hi + tiny
                    assert (hi - lo >= width - tiny) == (q_hi - q_lo >= width - tiny), (counts, cell)
                    if (q_lo, q_hi) != (lo, hi):
                        assert q_hi - q_lo >= width  # only a wide enough range is cut short
                    checked += 1
                    shortcut_taken += (q_lo, q_hi) != (lo, hi)
    assert checked > 200 and shortcut_taken > 0
