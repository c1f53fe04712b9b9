"""What the cleaning stage changed, summarised for the report's assumptions-and-caveats appendix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from analysis.protect.outputs import ReleasedTable

SUMMARY_COLUMNS: tuple[str, ...] = ("Stage", "File", "Rule", "Action", "Rows")


def cleaning_summary(log: pd.DataFrame) -> pd.DataFrame:
    """One row per (stage, file, rule, action) of the cleaning log, with the rows affected summed.

    The log's ``detail`` column is left out: it can name study IDs and row numbers, which
    belong in the secure derived-data folder, not in a report. Order follows the log (stage by
    stage, file by file), so the table reads in the order the pipeline worked.
    """
    missing = {"stage", "file", "rule", "rows_affected", "action"} - set(log.columns)
    if missing:
        raise ValueError(f"cleaning log: missing column(s) {sorted(missing)} (rule: cleaning_log contract)")
    keys = ["stage", "file", "rule", "action"]
    summary = (log.assign(rows_affected=pd.to_numeric(log["rows_affected"], errors="raise").astype("int64"))
               .groupby(keys, sort=False, as_index=False)["rows_affected"].sum())
    summary.columns = list(SUMMARY_COLUMNS)
    summary["File"] = summary["File"].str.replace(r"^SYNTHETIC_", "", regex=True)
    return summary.reset_index(drop=True)


def release_cleaning_summary(log: pd.DataFrame, *, name: str, profile: str | None = None) -> ReleasedTable:
    """The cleaning summary released through ``analysis.protect.outputs.release_sensitive_table``: when
    too many of its cells would be withheld for the profile's information-loss target, the
    policy's ``cleaning_summary`` rule combines the rules that changed few rows into one row
    first. Column totals are not published (rows count different things). The report shows
    ``display_table()`` and the key number ``cleaning.table_note`` (``note``)."""
    from analysis.protect import outputs

    return outputs.release_sensitive_table(cleaning_summary(log), name=name, count_columns=["Rows"],
                                           what="rows", profile=profile, column_totals_published=False)
