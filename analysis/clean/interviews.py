"""Interview status per wave -> the ``interviews`` derived table (CONTRACTS.md).

Owns each recruited woman's five waves: completed (with its week relative to the birth),
missed, withdrawn or lost, from the REDCap facts the participants reader gives.
"""

from __future__ import annotations


import pandas as pd

from analysis.clean.events import weeks_rel_birth
from analysis.core import tables as t
from analysis.sources.contact_logs import LogEntry
from analysis.sources.context import ReadContext

def derive_interviews(women: pd.DataFrame, waves: dict, birth: pd.Series,
                      ctx: ReadContext) -> pd.DataFrame:
    """One row per recruited woman and wave: the ``interviews`` derived table."""
    file = women["_file"].iloc[0] if len(women) else ""
    recruited = women["recruited"].to_numpy()
    records = []
    for wave, (status, date) in waves.items():
        frame = pd.DataFrame({"study_id": women["study_id"], "site": women["site"],
                              "wave": wave, "status": status, "_date": date,
                              "_withdrawal": women["_withdrawal"],
                              "_withdrawal_date": women["_withdrawal_date"],
                              "_row": women["_row"], "_file": file})
        records.append(frame.loc[recruited])
    frame = pd.concat(records, ignore_index=True)
    frame = frame.sort_values(["study_id", "wave"], kind="mergesort").reset_index(drop=True)
    last_recorded = frame.loc[frame["status"].notna()].groupby("study_id")["wave"].max()
    later_recorded = frame["wave"] < frame["study_id"].map(last_recorded).fillna(0)
    blank = frame["status"].isna()
    ended = frame["_withdrawal"].notna()
    frame.loc[blank & ended & (frame["_withdrawal"] == "withdrawn"), "status"] = "withdrawn"
    frame.loc[blank & ended & (frame["_withdrawal"] == "lost_to_follow_up"), "status"] = "lost"
    gap = blank & ~ended & later_recorded
    frame.loc[gap, "status"] = "missed"
    if gap.any():
        ctx.log.append(LogEntry("derive", file, "blank wave status before a recorded wave",
                                int(gap.sum()), "set to missed"))
    not_due = frame["status"].isna()
    if not_due.any():
        ctx.log.append(LogEntry("derive", file, "wave not yet due (no status, not withdrawn)",
                                int(not_due.sum()), "no interview row"))
    frame = frame.loc[~not_due].copy()
    completed = frame["status"] == "completed"
    undated = completed & frame["_date"].isna()
    if undated.any():
        ctx.log.append(LogEntry("derive", file, "completed interview without a date",
                                int(undated.sum()), "week left blank"))
    frame["week_rel_birth"] = weeks_rel_birth(frame["_date"], frame["study_id"], birth).where(completed)
    frame["wave_label"] = frame["wave"].map(t.WAVE_LABELS)
    return frame
