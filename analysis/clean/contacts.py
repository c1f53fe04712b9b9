"""Site contact logs -> the ``contacts`` derived table (CONTRACTS.md).

Owns reading each site's declared contact log, cleaning it with
:mod:`analysis.sources.contact_logs` (services harmonised, dates parsed, junk and duplicate rows
dropped and logged), identifier screening of its text, and weeks and phase relative to the
birth. Also returns which raw files each site's fingerprint covers.
"""

from __future__ import annotations


import pandas as pd

from analysis.clean.events import phase_of, weeks_rel_birth
from analysis.core import tables as t
from analysis.core.errors import DataValidationError
from analysis.protect.screening import free_text_columns, screen_identifiers
from analysis.sources.contact_logs import load_service_map, standardise_log
from analysis.sources.context import ReadContext, declared_section
from analysis.sources.declared import read_source, require_known

def read_contacts(ctx: ReadContext, women: pd.DataFrame, birth: pd.Series) -> tuple[pd.DataFrame, dict]:
    """Every site's contact log, harmonised: the ``contacts`` table and the files behind each site."""
    spec_map = declared_section(ctx, "service_map")
    ctx.record_input(spec_map["file"])
    service_frame = read_source(ctx.raw_dir, spec_map)
    service_map = load_service_map(service_frame, spec_map["file"], set(ctx.services["code"]),
                                   set(ctx.sites["code"]))
    logs = ctx.sources.get("contact_logs") or []
    site_files: dict[str, list[str]] = {}
    frames = []
    date_columns: dict[str, str] = {}
    recruited = women.loc[women["recruited"]].set_index("study_id")
    for spec in logs:
        file = spec["file"]
        ctx.record_input(file)
        site_files.setdefault(spec["site"], []).append(file)
        frame = read_source(ctx.raw_dir, spec)
        screen_identifiers(frame, file, free_text_columns(frame, dict(spec["columns"]),
                                                            ("service", "mode")))
        cleaned = standardise_log(frame, spec, file, service_map, ctx.id_pattern)
        ctx.log.extend(cleaned.log)
        contacts = cleaned.contacts
        contacts["_row"] = contacts["source_row"]
        contacts["_file"] = file
        require_known(contacts, "study_id", set(recruited.index),
                      "contact belongs to a recruited woman",
                      "study ID {value!r} is not a recruited woman in the REDCap export",
                      raw_column=spec["columns"]["study_id"])
        home = contacts["study_id"].map(recruited["site"])
        wrong = home != contacts["site"]
        if wrong.any():
            i = wrong.idxmax()
            raise DataValidationError(file, int(contacts.at[i, "_row"]),
                                      spec["columns"]["study_id"],
                                      "contact at the woman's site",
                                      f"{contacts.at[i, 'study_id']} is recruited at "
                                      f"{home[i]!r}, not {spec['site']!r}")
        date_columns[file] = spec["columns"]["date"]
        frames.append(contacts)
    columns = list(t.TABLE_COLUMNS["contacts"]) + ["_row", "_file"]
    contacts = (pd.concat(frames, ignore_index=True) if frames
                else pd.DataFrame(columns=columns))
    contacts["week_rel_birth"] = weeks_rel_birth(contacts["contact_date"], contacts["study_id"], birth)
    contacts["phase"] = phase_of(contacts["week_rel_birth"])
    contacts = contacts.sort_values(["study_id", "contact_date", "service", "source_file",
                                     "source_row"], kind="mergesort").reset_index(drop=True)
    number = contacts.groupby("study_id").cumcount() + 1
    contacts["contact_id"] = contacts["study_id"] + "-C" + number.astype(str).str.zfill(4)
    return contacts, {"site_files": site_files, "date_columns": date_columns}
