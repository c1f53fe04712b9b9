"""The cleaning summary for the report: grouped, summed, and free of study IDs."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.clean.report import SUMMARY_COLUMNS, cleaning_summary


def test_rows_are_summed_per_rule_and_details_are_dropped() -> None:
    log = pd.DataFrame({
        "stage": ["clean", "clean", "clean", "derive"],
        "file": ["SYNTHETIC_contacts_a.csv", "SYNTHETIC_contacts_a.csv", "SYNTHETIC_contacts_b.csv", "events.csv"],
        "rule": ["exact duplicate row", "exact duplicate row", "blank row", "birth not recorded"],
        "rows_affected": [3, 4, 6, 2],
        "action": ["dropped", "dropped", "dropped", "estimated"],
        "detail": ["rows 1, 2, 3", "rows 7", "rows 9", "SS-HD-009, SS-AA-003"],
    })
    summary = cleaning_summary(log)
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert summary["Rows"].tolist() == [7, 6, 2]
    assert summary["File"].tolist() == ["contacts_a.csv", "contacts_b.csv", "events.csv"]
    assert not summary.astype(str).apply(lambda c: c.str.contains("SS-")).any().any()


def test_a_log_without_its_columns_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="rows_affected"):
        cleaning_summary(pd.DataFrame({"stage": ["clean"]}))
