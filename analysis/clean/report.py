"""What the cleaning stage changed, summarised for the report's assumptions-and-caveats appendix."""

from __future__ import annotations

import pandas as pd

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
