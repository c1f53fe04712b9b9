"""The professionals file: who was interviewed, at which site and service, in which document.

Owns reading the ``professionals`` section of ``sources.yml`` (required columns, blank and
duplicate rows, identifier screening of roles and services). Reads CONTRACTS.md "Raw export
folder"; gives the ``professionals`` derived table.
"""

from __future__ import annotations


import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.protect.screening import free_text_columns, screen_identifiers
from analysis.sources.context import ReadContext, declared_section
from analysis.sources.declared import (
    drop_blank_and_duplicates, read_source, require_columns, require_known,
)

def read_professionals(ctx: ReadContext) -> pd.DataFrame:
    """The professionals file as read and checked (the ``professionals`` derived table)."""
    spec = declared_section(ctx, "professionals")
    file = spec["file"]
    ctx.record_input(file)
    frame = read_source(ctx.raw_dir, spec)
    columns = dict(spec["columns"])
    require_columns(frame, columns, file, int(spec.get("header_row", 1)))
    frame = drop_blank_and_duplicates(frame, file, ctx.log)
    screen_identifiers(frame, file, free_text_columns(frame, columns, ("role", "service")))
    site_lookup = {**dict(zip(ctx.sites["label"], ctx.sites["code"])),
                   **dict(zip(ctx.sites["code"], ctx.sites["code"]))}
    service_lookup = {**dict(zip(ctx.services["label"], ctx.services["code"])),
                      **dict(zip(ctx.services["code"], ctx.services["code"]))}
    out = pd.DataFrame({key: frame[name].str.strip() for key, name in columns.items()})
    out["_row"], out["_file"] = frame["_row"], file
    out["site"] = out["site"].map(site_lookup)
    require_known(out.assign(_known=out["site"].notna()), "_known", {True}, "known site",
                  "site is not a code or label in analysis/config/sites.csv",
                  raw_column=columns["site"])
    raw_service = out["service"]
    out["service"] = raw_service.map(lambda v: service_lookup.get(v) if v else None)
    bad = raw_service.ne("") & out["service"].isna()
    if bad.any():
        i = bad.idxmax()
        raise DataValidationError(file, int(out.at[i, "_row"]), columns["service"],
                                  "known service", f"service {raw_service[i]!r} is not a code or "
                                  "label in analysis/config/services.csv")
    out["data_collection"] = out["data_collection"].str.lower()
    return out
