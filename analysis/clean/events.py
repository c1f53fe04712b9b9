"""Key events from the research tracker -> ``events``, birth dates and ``placements``.

Owns reading the ``key_events`` section (patterns, identifier screening of ``detail``), each
woman's birth date (the ``birth`` event, else recruitment gestation and
:data:`BIRTH_FALLBACK_GESTATION`), weeks and phase relative to the birth, and the baby's
placements as intervals. Writes the ``events`` and ``placements`` derived tables (CONTRACTS.md).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from analysis.core import tables as t
from analysis.core.errors import DataValidationError
from analysis.protect.screening import free_text_columns, screen_identifiers
from analysis.sources.contact_logs import LogEntry
from analysis.sources.context import ReadContext, declared_section
from analysis.sources.declared import (
    check_pattern, drop_blank_and_duplicates, read_source, require_columns, require_known,
)

BIRTH_FALLBACK_GESTATION = 40
"""Weeks of gestation assumed at birth when a woman's birth is not recorded."""


def phase_of(weeks: pd.Series) -> pd.Series:
    """Phase of each week relative to the birth: ``antenatal``, ``birth`` or ``postnatal``."""
    low, high = t.BIRTH_PHASE_WEEKS
    phase = np.where(weeks < low, "antenatal", np.where(weeks <= high, "birth", "postnatal"))
    return pd.Series(phase, index=weeks.index).where(weeks.notna())


def read_key_events(ctx: ReadContext, women: pd.DataFrame) -> pd.DataFrame:
    """The tracker's key events of recruited women, checked and screened for identifiers."""
    spec = declared_section(ctx, "key_events")
    file = spec["file"]
    ctx.record_input(file)
    frame = read_source(ctx.raw_dir, spec)
    columns = dict(spec["columns"])
    require_columns(frame, columns, file, int(spec.get("header_row", 1)),
                     optional=("detail",))
    frame = drop_blank_and_duplicates(frame, file, ctx.log)
    screen_identifiers(frame, file, free_text_columns(frame, columns, ("detail",)))
    check_pattern(frame, columns["study_id"], ctx.id_pattern, file)
    out = pd.DataFrame({
        "study_id": frame[columns["study_id"]].str.strip(),
        "_event_raw": frame[columns["event"]].str.strip(),
        "_date_raw": frame[columns["date"]].str.strip(),
        "detail": frame[columns["detail"]].str.strip() if columns.get("detail") in frame else "",
        "_row": frame["_row"], "_file": file,
    })
    recruited = women.loc[women["recruited"]]
    require_known(out, "study_id", set(recruited["study_id"]),
                  "event belongs to a recruited woman",
                  "study ID {value!r} is not a recruited woman in the REDCap export",
                  raw_column=columns["study_id"])
    events = {str(k): v for k, v in spec["events"].items()}
    out["event"] = out["_event_raw"].map(events)
    require_known(out.assign(_known=out["event"].notna()), "_known", {True},
                  "event in sources.yml key_events.events",
                  "event name not declared in sources.yml", raw_column=columns["event"])
    out["_date"] = pd.to_datetime(out["_date_raw"], format=spec["date_format"], errors="coerce")
    bad = out["_date"].isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns["date"],
                                  f"date format {spec['date_format']}",
                                  f"value {out.at[i, '_date_raw']!r} is not a valid date in "
                                  f"format {spec['date_format']}")
    placements = {str(k): v for k, v in (spec.get("placements") or {}).items()}
    is_change = out["event"] == "placement_change"
    out.loc[is_change, "detail"] = out.loc[is_change, "detail"].map(placements)
    bad = is_change & out["detail"].isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns.get("detail", "detail"),
                                  "placement in sources.yml key_events.placements",
                                  f"placement {frame.loc[i, columns['detail']]!r} is not declared")
    births = out.loc[out["event"] == "birth"]
    twice = births["study_id"].duplicated()
    if twice.any():
        i = twice.idxmax()
        raise DataValidationError(file, int(births.at[i, "_row"]), columns["event"],
                                  "one birth per woman",
                                  f"{births.at[i, 'study_id']} has a second birth event")
    out = out.merge(women[["study_id", "site"]], on="study_id", how="left")
    return out


def birth_dates(ctx: ReadContext, women: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Birth date per recruited woman; estimated from consent and gestation when missing."""
    recruited = women.loc[women["recruited"]].set_index("study_id")
    births = events.loc[events["event"] == "birth"].set_index("study_id")["_date"]
    birth = births.reindex(recruited.index)
    missing = birth.isna()
    if missing.any():
        gestation = recruited["gestation_at_recruitment_weeks"].astype("Float64").fillna(20)
        estimate = pd.to_datetime(recruited["_consent_date"]) + pd.to_timedelta(
            (BIRTH_FALLBACK_GESTATION - gestation.astype(float)) * 7, unit="D")
        birth = birth.fillna(estimate.dt.normalize())
        ctx.log.append(LogEntry(
            "derive", declared_section(ctx, "key_events")["file"], "birth not recorded", int(missing.sum()),
            "estimated", f"due date from consent date and gestation "
            f"({BIRTH_FALLBACK_GESTATION} weeks): {', '.join(missing[missing].index[:12])}"))
    if birth.isna().any():
        who = birth[birth.isna()].index[0]
        row = int(recruited.at[who, "_row"])
        raise DataValidationError(declared_section(ctx, "redcap")["records"]["file"], row,
                                  declared_section(ctx, "redcap")["fields"].get("consent_date", "consent_date"),
                                  "birth date known or estimable",
                                  f"{who}: no birth event and no consent date to estimate it")
    return birth


def weeks_rel_birth(dates: pd.Series, study_ids: pd.Series, birth: pd.Series) -> pd.Series:
    """Weeks from each woman's birth date to each date (negative before the birth)."""
    reference = study_ids.map(birth)
    return (pd.to_datetime(dates) - pd.to_datetime(reference)).dt.days / 7.0


def derive_placements(events: pd.DataFrame) -> pd.DataFrame:
    """The baby's placements as intervals [from_week, to_week) from placement-change events.

    A change to the placement the baby is already in (a repeated entry) is ignored; the last
    placement is open (``to_week`` missing).
    """
    changes = events.loc[events["event"] == "placement_change"].sort_values(
        ["study_id", "week_rel_birth", "_row"], kind="mergesort")
    repeated = (changes["study_id"] == changes["study_id"].shift()) & (
        changes["detail"] == changes["detail"].shift())
    changes = changes.loc[~repeated]
    frame = pd.DataFrame({
        "study_id": changes["study_id"].to_numpy(), "site": changes["site"].to_numpy(),
        "placement": changes["detail"].to_numpy(),
        "from_week": changes["week_rel_birth"].to_numpy(),
        "_row": changes["_row"].to_numpy(), "_file": changes["_file"].to_numpy(),
    })
    frame["to_week"] = frame.groupby("study_id")["from_week"].shift(-1)
    return frame
