"""Drawings of significant life events, read in the cleaning stage.

Owns the ``drawings`` and ``drawing_events`` sections of ``sources.yml``: each drawing is
digitised as the list of events the woman drew (kind, when, valence as she described it, her own
label) plus the team's coded description. ``When`` is a date (``date_formats``; a month alone is
its 15th), which must fall in the study window, or an age (``age_pattern``) for events before
the pregnancy. Consent per drawing is required. Events of an unknown drawing, drawings of
unknown women and unknown kinds or valences are errors naming file, row and column.

Writes the ``drawings`` and ``life_events`` derived tables (CONTRACTS.md); the timeline and the
cross-site figure are in :mod:`analysis.analyse.life_events`.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.clean.materials import (
    MaterialsContext, consent_codes, fail, map_values, parse_date, raise_at_first, read_declared,
    require_women, weeks_in_window,
)

VALENCES: tuple[str, ...] = ("positive", "negative", "mixed")


def read_drawings(mc: MaterialsContext) -> dict[str, pd.DataFrame]:
    """Read and validate the drawing register and the events drawn."""
    spec = mc.section("drawings")
    if spec is None:
        return {}
    drawings, columns = read_declared(mc, spec, ("study_id", "drawing_id", "consent"),
                                      screen=("description",))
    require_women(drawings, mc, columns, "drawing")
    drawings["consent"] = consent_codes(drawings, spec, columns)
    duplicated = drawings["drawing_id"].duplicated()
    raise_at_first(drawings, duplicated, columns["drawing_id"], "drawing id unique",
                   lambda i: f"drawing {drawings.at[i, 'drawing_id']!r} appears twice")
    if "date" in drawings.columns:
        fmt = (str(spec.get("date_format", "%d/%m/%Y")),)
        dates = pd.Series([parse_date(drawings, i, v, fmt, columns["date"]) if v else pd.NaT
                           for i, v in drawings["date"].items()], index=drawings.index)
        drawings["drawn_week"] = weeks_in_window(drawings, dates, mc, columns["date"], "drawing")
    else:
        drawings["drawn_week"] = float("nan")
    for key in ("image", "description"):
        if key not in drawings.columns:
            drawings[key] = ""
    drawings["site"] = drawings["study_id"].map(mc.women.set_index("study_id")["site"])
    events = _read_events(mc, drawings)
    return {"drawings": drawings, "life_events": events}


def _read_events(mc: MaterialsContext, drawings: pd.DataFrame) -> pd.DataFrame:
    spec = mc.section("drawing_events")
    if spec is None:
        return pd.DataFrame(columns=["drawing_id", "event_no", "study_id", "site", "kind", "kind_label",
                                     "label", "valence", "when", "week_rel_birth", "age"])
    frame, columns = read_declared(mc, spec, ("drawing_id", "event_no", "kind", "when", "valence"),
                                   screen=("label",))
    owner = drawings.set_index("drawing_id")
    bad = ~frame["drawing_id"].isin(owner.index)
    raise_at_first(frame, bad, columns["drawing_id"], "drawing in the drawing register",
                   lambda i: f"event of drawing {frame.at[i, 'drawing_id']!r}, which is not in "
                             f"{drawings['_file'].iloc[0] if len(drawings) else 'the drawing register'}")
    frame["study_id"] = frame["drawing_id"].map(owner["study_id"])
    frame["site"] = frame["drawing_id"].map(owner["site"])
    numbers = pd.to_numeric(frame["event_no"], errors="coerce")
    raise_at_first(frame, numbers.isna(), columns["event_no"], "event number",
                   lambda i: f"value {frame.at[i, 'event_no']!r} is not a number")
    frame["event_no"] = numbers.astype(int)
    kinds = dict(spec.get("kinds") or {})
    frame["kind_label"] = frame["kind"]
    frame["kind"] = map_values(frame, "kind", kinds, columns, "kind of life event")
    frame["valence"] = map_values(frame, "valence", spec.get("valence") or {v: v for v in VALENCES},
                                  columns, "valence")
    age_pattern = re.compile(str(spec.get("age_pattern", r"^age (?P<age>[0-9]{1,2})$")), re.IGNORECASE)
    formats = tuple(str(f) for f in spec.get("date_formats", ["%d/%m/%Y"]))
    dates, ages = [], []
    for i, value in frame["when"].items():
        match = age_pattern.match(value)
        if match:
            dates.append(pd.NaT)
            ages.append(int(match.group("age")))
        else:
            dates.append(parse_date(frame, i, value, formats, columns["when"]) if value else pd.NaT)
            ages.append(pd.NA)
            if not value:
                raise fail(frame, i, columns["when"], "date or age given",
                           "no date or age: give an approximate date or her age at the event")
    frame["week_rel_birth"] = weeks_in_window(frame, pd.Series(dates, index=frame.index), mc,
                                              columns["when"], "life event")
    frame["age"] = pd.array(ages, dtype="Int64")
    if "label" not in frame.columns:
        frame["label"] = ""
    return frame
