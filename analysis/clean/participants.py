"""The women of the study: REDCap records -> ``participants`` and their status.

Owns decoding the REDCap export with its data dictionary (:mod:`analysis.sources.redcap`) into
the ``participants``, ``participant_substances`` and ``participant_mental_health`` derived
tables, and each woman's status, waves completed and placements at birth and 18 months
(CONTRACTS.md "Derived tables").
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from analysis.core import tables as t
from analysis.core.errors import DataValidationError
from analysis.sources.contact_logs import LogEntry
from analysis.sources.context import ReadContext, SOURCES_FILE, declared_section
from analysis.sources.declared import drop_blank_and_duplicates, read_source
from analysis.sources.redcap import DAG_COLUMN, decode_records, read_dictionary

def read_participants(ctx: ReadContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Return (participants base, substances, mental health, per-woman REDCap facts)."""
    redcap = declared_section(ctx, "redcap")
    dictionary_spec, records_spec = redcap["dictionary"], redcap["records"]
    ctx.record_input(dictionary_spec["file"])
    ctx.record_input(records_spec["file"])
    dictionary = read_dictionary(read_source(ctx.raw_dir, dictionary_spec).drop(columns="_row"),
                                 dictionary_spec["file"])
    file = records_spec["file"]
    frame = read_source(ctx.raw_dir, records_spec)
    frame = drop_blank_and_duplicates(frame, file, ctx.log)
    fields: dict[str, str] = dict(redcap["fields"])
    for key, name in list(fields.items()) + [("site", redcap.get("site_field", DAG_COLUMN))]:
        if name not in dictionary.fields and name != DAG_COLUMN:
            raise DataValidationError(SOURCES_FILE, None, f"redcap.fields.{key}",
                                      "field in data dictionary",
                                      f"REDCap field {name!r} is not in {dictionary.file}")
    decoded = decode_records(frame, dictionary, file, mode=str(records_spec.get("export", "auto")),
                             header_row=int(records_spec.get("header_row", 1)))
    ctx.log.append(LogEntry("decode", file, f"REDCap {decoded.mode} export decoded with "
                            f"{dictionary.file}", len(decoded.values), "decoded"))
    for name, count in decoded.hidden.items():
        ctx.log.append(LogEntry("decode", file, f"value hidden by branching logic of {name}",
                                count, "blanked",
                                dictionary.fields[name].branching))
    values = decoded.values
    header_row = int(records_spec.get("header_row", 1))
    wave_fields = {int(w): spec for w, spec in (redcap.get("waves") or {}).items()}
    needed = list(fields.values()) + [redcap.get("site_field", DAG_COLUMN)] + [
        v for spec in wave_fields.values() for v in spec.values()]
    for name in needed:
        present = name in values.columns or (decoded.checked["field"] == name).any() or any(
            c.startswith(f"{name}___") for c in decoded.codes.columns)
        if not present:
            raise DataValidationError(file, header_row, name, "required column present",
                                      f"REDCap field {name!r} (declared in sources.yml) is "
                                      f"missing from the export")

    def get(key: str) -> pd.Series:
        return values[fields[key]] if fields.get(key) in values.columns else pd.Series(
            pd.NA, index=values.index)

    value_maps: dict[str, dict] = {k: {str(a): b for a, b in v.items()}
                                   for k, v in (redcap.get("values") or {}).items()}

    def mapped(key: str, series: pd.Series, column: str) -> pd.Series:
        mapping = value_maps.get(key)
        if not mapping:
            return series
        out = series.map(lambda v: mapping.get(str(v)) if pd.notna(v) else pd.NA)
        bad = series.notna() & out.isna()
        if bad.any():
            i = bad.idxmax()
            raise DataValidationError(file, int(values.at[i, "_row"]), column,
                                      f"value mapped in sources.yml redcap.values.{key}",
                                      f"label {series[i]!r} has no code in sources.yml "
                                      f"(known: {', '.join(mapping)})")
        return out

    site_field = redcap.get("site_field", DAG_COLUMN)
    site_map = {str(k): v for k, v in (redcap.get("sites") or {}).items()}
    dag = values[site_field].astype("string")
    site = dag.map(lambda v: site_map.get(str(v)) if pd.notna(v) else None)
    bad = site.isna() | ~site.isin(set(ctx.sites["code"]))
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(values.at[i, "_row"]), site_field,
                                  "known site (sources.yml redcap.sites)",
                                  f"data access group {dag[i]!r} is not a known site")
    study_id = get("study_id").astype("string").str.strip()
    recruited = get("consent").fillna(False).astype(bool)
    base = pd.DataFrame({
        "study_id": study_id, "site": site.astype("string"), "recruited": recruited,
        "age_band": get("age_band"), "ethnicity": get("ethnicity"), "parity": get("parity"),
        "previous_children_removed": get("previous_children_removed"),
        "care_experienced": get("care_experienced"),
        "treatment": mapped("treatment", get("treatment"), fields.get("treatment", "treatment")),
        "housing": get("housing"), "domestic_abuse": get("domestic_abuse"),
        "gestation_at_recruitment_weeks": get("gestation_at_recruitment_weeks"),
        "_row": values["_row"], "_file": file,
        "_consent_date": get("consent_date"),
        "_withdrawal": mapped("withdrawal_type", get("withdrawal_type"),
                              fields.get("withdrawal_type", "withdrawal_type")),
        "_withdrawal_date": get("withdrawal_date"),
    })
    # A hidden "previous children removed" (branching on parity > 0) means none removed.
    no_births = base["parity"].fillna(-1) == 0
    filled = no_births & base["previous_children_removed"].isna()
    base["previous_children_removed"] = base["previous_children_removed"].astype("boolean")
    base.loc[filled, "previous_children_removed"] = False
    if filled.any():
        ctx.log.append(LogEntry("derive", file, "previous_children_removed blank because "
                                "parity is 0", int(filled.sum()), "set to False"))
    descriptive = [c for c in t.TABLE_COLUMNS["participants"] if c not in
                   ("study_id", "site", "recruited") and c in base.columns]
    not_recruited = ~base["recruited"]
    for column in descriptive:
        base[column] = base[column].astype(object).where(~not_recruited, pd.NA)
    waves: dict[int, tuple[pd.Series, pd.Series]] = {}
    for wave, spec in sorted(wave_fields.items()):
        status = mapped("wave_status", values[spec["status"]], spec["status"])
        waves[wave] = (status, values[spec["date"]])

    checked = decoded.checked.merge(base[["_row", "study_id", "recruited"]], on="_row")
    checked = checked.loc[checked["recruited"]]

    def long(key: str, column: str) -> pd.DataFrame:
        name = fields.get(key)
        part = checked.loc[checked["field"] == name]
        return pd.DataFrame({"study_id": part["study_id"].to_numpy(),
                             column: part["label"].to_numpy()})

    return base, long("substances", "substance"), long("mental_health", "condition"), {
        "waves": waves}


def derive_participant_status(women: pd.DataFrame, interviews: pd.DataFrame,
                              placements: pd.DataFrame, final_wave: int) -> pd.DataFrame:
    """Each woman's status, waves completed, last wave and placements at birth and at 18 months."""
    completed = interviews.loc[interviews["status"] == "completed"]
    counts = completed.groupby("study_id")["wave"].agg(["count", "max"])
    final_done = set(interviews.loc[(interviews["wave"] == final_wave)
                                    & interviews["status"].isin(["completed", "missed"]),
                                    "study_id"])
    out = women.copy()
    status = np.where(out["_withdrawal"] == "withdrawn", "withdrawn",
                      np.where(out["_withdrawal"] == "lost_to_follow_up", "lost_to_follow_up",
                               np.where(out["study_id"].isin(final_done), "completed", "active")))
    out["status"] = pd.Series(status, index=out.index).where(out["recruited"])
    out["waves_completed"] = out["study_id"].map(counts["count"]).fillna(0).where(out["recruited"])
    out["last_wave"] = out["study_id"].map(counts["max"]).where(out["recruited"])
    first = placements.sort_values(["study_id", "from_week"]).groupby("study_id").first()
    at_birth = first.loc[first["from_week"] <= 8, "placement"]
    out["placement_at_birth"] = out["study_id"].map(at_birth)
    target = t.WAVE_TARGET_WEEKS[final_wave]
    covering = placements.loc[(placements["from_week"] <= target)
                              & (placements["to_week"].isna() | (placements["to_week"] > target))]
    at_18m = covering.groupby("study_id")["placement"].last()
    out["placement_at_18m"] = out["study_id"].map(at_18m).where(out["status"] == "completed")
    return out
