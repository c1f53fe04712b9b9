"""The Expert Advisory and Co-production Group (EACG) review log, read in the cleaning stage.

Owns the ``eacg_review_log`` section of ``sources.yml``: a CSV with one row per item discussed:
meeting date, members (by role only: ``role`` or ``role xN``, ``;``-separated, each role from
the section's ``roles`` list, so no names can be recorded), the item (a finding or component id
of the model-of-care file), what was discussed, the group's response (``responses`` map), what
changed and the model version. An unknown role, an item that is not in the model, a version not
in the model's history, a missing response are errors naming file, row and column.

Writes the ``eacg_reviews`` derived table (CONTRACTS.md); the tables the synthesis builds from
it are in :mod:`analysis.analyse.eacg`.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.clean.materials import (
    MaterialsContext, fail, map_values, parse_date, raise_at_first, read_declared, require_filled,
)
from analysis.core.errors import DataValidationError

RESPONSES: tuple[str, ...] = ("endorsed", "refined", "challenged")

MEMBER_ROLE = re.compile(r"^(?P<role>.+?)(?:\s+x(?P<n>[0-9]+))?$")


def read_review_log(mc: MaterialsContext, model: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Read and validate the review log against the model of care."""
    spec = mc.section("eacg_review_log")
    if spec is None:
        return {}
    file = str(spec["file"])
    if not model:
        raise DataValidationError("sources.yml", None, "eacg_review_log", "model_of_care declared",
                                  f"{file} refers to the model of care, but sources.yml declares no "
                                  "model_of_care file")
    frame, columns = read_declared(mc, spec, ("meeting_date", "members", "item", "response", "version"),
                                   screen=("discussed", "change"))
    for key in ("meeting_date", "members", "item", "response", "version"):
        require_filled(frame, key, columns, key.replace("_", " "))
    fmt = (str(spec.get("date_format", "%Y-%m-%d")),)
    frame["meeting_date"] = [parse_date(frame, i, v, fmt, columns["meeting_date"])
                             for i, v in frame["meeting_date"].items()]
    roles = {str(r).lower() for r in spec.get("roles") or []}
    for i, members in frame["members"].items():
        for member in (m.strip() for m in members.split(";")):
            match = MEMBER_ROLE.match(member)
            role = match.group("role").strip().lower() if match else member
            if role not in roles:
                raise fail(frame, i, columns["members"], "members by role only",
                           f"member {member!r} is not one of the roles declared in sources.yml "
                           f"({sorted(roles)}); record roles, never names")
    frame["response"] = map_values(frame, "response", spec.get("responses") or {r: r for r in RESPONSES},
                                   columns, "response")
    findings = set(model["care_model_findings"]["finding_id"])
    components = set(model["care_model_components"]["component_id"])
    bad = ~frame["item"].isin(findings | components)
    raise_at_first(frame, bad, columns["item"], "item in the model of care",
                   lambda i: f"item {frame.at[i, 'item']!r} is neither a finding nor a component of the "
                             "model of care")
    frame["item_kind"] = frame["item"].map(lambda x: "finding" if x in findings else "component")
    versions = set(model["care_model_versions"]["version"].astype(int))
    numbers = pd.to_numeric(frame["version"], errors="coerce")
    bad = numbers.isna() | ~numbers.isin(versions)
    raise_at_first(frame, bad, columns["version"], "version in the model's history",
                   lambda i: f"version {frame.at[i, 'version']!r} is not in the model's versions "
                             f"{sorted(versions)}")
    frame["version"] = numbers.astype(int)
    for key in ("discussed", "change"):
        if key not in frame.columns:
            frame[key] = ""
    frame["source_row"] = frame["_row"]
    return {"eacg_reviews": frame}
