"""The Expert Advisory and Co-production Group (EACG) in the synthesis.

From the review log the synthesis builds the results table "how the EACG shaped the findings"
(:func:`shaped_table`), the GRIPP2 short-form table of the report's patient and public
involvement section (:func:`gripp2_table`) and the key numbers its prose quotes
(:func:`key_numbers`). Reads the ``eacg_reviews`` and ``care_model_versions`` derived tables
(CONTRACTS.md); reading the log is :mod:`analysis.clean.eacg`.
"""

from __future__ import annotations


import pandas as pd

from analysis.clean.eacg import MEMBER_ROLE


def member_roles(members: pd.Series) -> list[str]:
    """Distinct roles across meetings, in first-seen order."""
    seen: dict[str, None] = {}
    for text in members:
        for member in str(text).split(";"):
            match = MEMBER_ROLE.match(member.strip())
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
