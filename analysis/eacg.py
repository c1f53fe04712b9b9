"""The Expert Advisory and Co-production Group (EACG) review log.

``sources.yml`` section ``eacg_review_log`` declares a CSV with one row per item discussed:
meeting date, members (by role only: ``role`` or ``role xN``, ``;``-separated, each role from
the section's ``roles`` list, so no names can be recorded), the item (a finding or component id
of the model-of-care file), what was discussed, the group's response (``responses`` map),
what changed and the model version. An unknown role, an item that is not in the model, a
version not in the model's history, a missing response are errors naming file, row and column.

From the log the synthesis builds the results table "how the EACG shaped the findings"
(:func:`shaped_table`), the GRIPP2 short-form table of the report's patient and public
involvement section (:func:`gripp2_table`) and the key numbers its prose quotes
(:func:`key_numbers`).
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.errors import DataValidationError
from analysis.study_materials import (
    MaterialsContext,
    fail,
    map_values,
    parse_date,
    read_declared,
    require_filled,
)

RESPONSES: tuple[str, ...] = ("endorsed", "refined", "challenged")
_MEMBER = re.compile(r"^(?P<role>.+?)(?:\s+x(?P<n>[0-9]+))?$")


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
            match = _MEMBER.match(member)
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
    if bad.any():
        i = int(bad.idxmax())
        raise fail(frame, i, columns["item"], "item in the model of care",
                   f"item {frame.at[i, 'item']!r} is neither a finding nor a component of the model of care")
    frame["item_kind"] = frame["item"].map(lambda x: "finding" if x in findings else "component")
    versions = set(model["care_model_versions"]["version"].astype(int))
    numbers = pd.to_numeric(frame["version"], errors="coerce")
    bad = numbers.isna() | ~numbers.isin(versions)
    if bad.any():
        i = int(bad.idxmax())
        raise fail(frame, i, columns["version"], "version in the model's history",
                   f"version {frame.at[i, 'version']!r} is not in the model's versions {sorted(versions)}")
    frame["version"] = numbers.astype(int)
    for key in ("discussed", "change"):
        if key not in frame.columns:
            frame[key] = ""
    frame["source_row"] = frame["_row"]
    return {"eacg_reviews": frame}


def member_roles(members: pd.Series) -> list[str]:
    """Distinct roles across meetings, in first-seen order."""
    seen: dict[str, None] = {}
    for text in members:
        for member in str(text).split(";"):
            match = _MEMBER.match(member.strip())
            if match:
                seen.setdefault(match.group("role").strip(), None)
    return list(seen)


def shaped_table(reviews: pd.DataFrame) -> pd.DataFrame:
    """Results table: how the EACG shaped the findings (one row per item reviewed, dated by month)."""
    data = reviews.sort_values(["meeting_date", "source_row"])
    return pd.DataFrame({
        "Meeting": pd.to_datetime(data["meeting_date"]).dt.strftime("%b %Y"),
        "Item": data["item"] + " " + data["discussed"],
        "Response": data["response"].str.capitalize(),
        "What changed": data["change"],
        "Model version": "v" + data["version"].astype(int).astype(str),
    }).reset_index(drop=True)


def gripp2_table(reviews: pd.DataFrame, versions: pd.DataFrame) -> pd.DataFrame:
    """GRIPP2 short form (Staniszewska et al. 2017), each answer generated from the log."""
    meetings = reviews["meeting_date"].nunique()
    first, last = pd.to_datetime(reviews["meeting_date"]).min(), pd.to_datetime(reviews["meeting_date"]).max()
    responses = reviews["response"].value_counts()
    changed = int((reviews["response"] != "endorsed").sum())
    roles = member_roles(reviews["members"])
    return pd.DataFrame({
        "GRIPP2 item": ["1 Aim", "2 Methods", "3 Results", "4 Discussion and conclusions", "5 Reflections/critical perspective"],
        "Report": [
            "The Expert Advisory and Co-production Group (EACG) of women with lived experience and professionals "
            "reviewed the team's interpretations and the draft model of care.",
            (f"{_words(meetings).capitalize()} meetings from {first:%B %Y} to {last:%B %Y}" if meetings > 1
             else f"One meeting in {first:%B %Y}") + f"; members by role: {', '.join(roles)}. "
            f"Each item discussed, the group's response and what changed were recorded in a review log.",
            f"{_words(len(reviews)).capitalize()} item{'s' if len(reviews) != 1 else ''} reviewed: {_words(int(responses.get('endorsed', 0)))} endorsed, "
            f"{_words(int(responses.get('refined', 0)))} refined, {_words(int(responses.get('challenged', 0)))} "
            f"challenged; {_words(changed)} led to a change. The model of care went through "
            f"{_words(len(versions))} version{'s' if len(versions) != 1 else ''}.",
            "Findings and model components were reworded, rescoped or added where the group asked "
            "(see the table of how the EACG shaped the findings).",
            "The log records roles only; who attended varied between meetings.",
        ],
    })


def key_numbers(reviews: pd.DataFrame, versions: pd.DataFrame) -> dict[str, str]:
    """Numbers the report's prose quotes (strings, as in _variables.yml)."""
    if reviews.empty:
        return {"meetings": "no", "items": "no", "changed": "no", "versions": "no", "first": "", "last": ""}
    dates = pd.to_datetime(reviews["meeting_date"])
    return {
        "meetings": _words(reviews["meeting_date"].nunique()),
        "items": _words(len(reviews)),
        "changed": _words(int((reviews["response"] != "endorsed").sum())),
        "versions": _words(len(versions)),
        "first": f"{dates.min():%B %Y}",
        "last": f"{dates.max():%B %Y}",
    }


def _words(n: int) -> str:
    names = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return names[n] if 0 <= n < len(names) else str(n)
