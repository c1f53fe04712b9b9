"""The gap in contact after the birth: who lost contact with a service, and for how long.

Owns :func:`postnatal_gap_per_woman` (each woman's longest gap in contact with a service in the
weeks after the birth, against the same weeks before it), :func:`postnatal_gap_by_service`
(the same by service, for the site), the dumbbell chart :func:`gap_chart` and its alt text.
Reads the ``contacts`` and ``participants`` derived tables (CONTRACTS.md) through
:mod:`analysis.analyse.site_profile`.
"""

from __future__ import annotations

from typing import Final

import altair as alt
import pandas as pd

from analysis.analyse.site_profile import for_site, ordered_services, require_columns, service_labels
from analysis.core import palette

GAP_BEFORE: Final[tuple[float, float]] = (-12.0, 0.0)
"""Last antenatal months: weeks -12 (inclusive) to 0 (exclusive) relative to birth."""

GAP_AFTER: Final[tuple[float, float]] = (0.0, 12.0)
"""First weeks after birth: weeks 0 (inclusive) to +12 (exclusive)."""


def postnatal_gap_per_woman(
    contacts: pd.DataFrame,
    women: pd.DataFrame,
    site: str | None = None,
    *,
    before: tuple[float, float] = GAP_BEFORE,
    after: tuple[float, float] = GAP_AFTER,
) -> pd.DataFrame:
    """Return study_id, contacts_before, contacts_after, change for each recruited woman.

    Windows are half-open in weeks relative to birth: ``before[0] <= week < before[1]`` and
    ``after[0] <= week < after[1]``.
    """
    require_columns(contacts, ["study_id", "week_rel_birth"], table_name="contacts")
    rows = for_site(contacts, site, table_name="contacts")
    ids = for_site(women, site, table_name="participants")["study_id"].sort_values().tolist()
    week = pd.to_numeric(rows["week_rel_birth"], errors="coerce")
    in_before = rows.loc[(week >= before[0]) & (week < before[1])]
    in_after = rows.loc[(week >= after[0]) & (week < after[1])]
    out = pd.DataFrame({"study_id": ids})
    out["contacts_before"] = out["study_id"].map(in_before.groupby("study_id").size()).fillna(0).astype(int)
    out["contacts_after"] = out["study_id"].map(in_after.groupby("study_id").size()).fillna(0).astype(int)
    out["change"] = out["contacts_after"] - out["contacts_before"]
    return out


def postnatal_gap_by_service(
    contacts: pd.DataFrame,
    site: str | None = None,
    *,
    before: tuple[float, float] = GAP_BEFORE,
    after: tuple[float, float] = GAP_AFTER,
) -> pd.DataFrame:
    """Return service, service_label, period (``before``/``after``), contacts (long format).

    Services with no contact in either window are left out; periods are zero-filled.
    """
    require_columns(contacts, ["study_id", "service", "week_rel_birth"], table_name="contacts")
    rows = for_site(contacts, site, table_name="contacts")
    week = pd.to_numeric(rows["week_rel_birth"], errors="coerce")
    period = pd.Series(pd.NA, index=rows.index, dtype="object")
    period[(week >= before[0]) & (week < before[1])] = "before"
    period[(week >= after[0]) & (week < after[1])] = "after"
    rows = rows.assign(period=period).dropna(subset=["period"])
    services = ordered_services(rows["service"])
    grid = pd.MultiIndex.from_product([services, ["before", "after"]], names=["service", "period"])
    counts = rows.groupby(["service", "period"]).size().reindex(grid, fill_value=0).rename("contacts").reset_index()
    counts.insert(1, "service_label", counts["service"].map(lambda s, labels=service_labels(): labels.get(s, s)))
    return counts


def gap_alt_text(released_gap: pd.DataFrame, n_women: int, site_name: str) -> str:
    """Describe the postnatal-gap chart from its released counts (totals and largest change)."""
    if released_gap.empty or n_women == 0:
        return f"Dot plot of contacts per woman before and after birth at {site_name}: no contacts in either window."
    values = released_gap.assign(value=pd.to_numeric(released_gap["contacts"], errors="coerce"))
    wide = values.pivot_table(index="service_label", columns="period", values="value", aggfunc="first")
    total_before = values.loc[values["period"] == "before", "value"].sum() / n_women
    total_after = values.loc[values["period"] == "after", "value"].sum() / n_women
    text = (
        f"Dot plot of contacts per woman, by service, in the 12 weeks before birth (circles) and the 12 weeks "
        f"after birth (squares) at {site_name} ({n_women} women). Across shown services, contacts went from "
        f"{total_before:.1f} to {total_after:.1f} per woman."
    )
    change = (wide.get("after") - wide.get("before")).dropna() if {"before", "after"} <= set(wide.columns) else None
    if change is not None and not change.empty:
        biggest_drop = change.idxmin()
        if change[biggest_drop] < 0:
            text += f" The largest fall was in {biggest_drop} ({change[biggest_drop] / n_women:+.1f} per woman)."
    if released_gap.get("suppressed") is not None and bool(released_gap["suppressed"].any()):
        text += " Some small counts are suppressed; the chart says which."
    return text


def gap_chart(released_gap: pd.DataFrame, n_women: int, *, title: str) -> alt.Chart:
    """Dumbbell chart of contacts per woman before vs after birth, one row per service.

    ``released_gap`` is ``postnatal_gap_by_service`` after ``release_counts`` (suppressed
    counts missing and flagged). Before = dark-blue circle, after = orange square, joined by a
    grey rule; suppressed values show as a grey cross at zero with the word "suppressed".
    """
    data = released_gap.copy()
    data["per_woman"] = pd.to_numeric(data["contacts"], errors="coerce") / max(n_women, 1)
    data["period_label"] = data["period"].map({"before": "12 weeks before birth", "after": "12 weeks after birth"})
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    order = data.drop_duplicates("service_label")["service_label"].tolist()
    y = alt.Y("service_label:N", sort=order, title=None)
    shown = data.loc[~data["suppressed"].astype(bool)]
    wide = shown.pivot_table(index="service_label", columns="period", values="per_woman", aggfunc="first").reset_index()
    for column in ("before", "after"):
        if column not in wide.columns:
            wide[column] = float("nan")
    wide = wide.dropna(subset=["before", "after"])
    rule = alt.Chart(wide).mark_rule(color=palette.GRID, strokeWidth=3).encode(
        y=y, x=alt.X("before:Q"), x2="after:Q"
    )
    points = (
        alt.Chart(shown)
        .mark_point(filled=True, size=140, opacity=1)
        .encode(
            y=y,
            x=alt.X("per_woman:Q", title="Contacts per woman in the window", axis=alt.Axis(tickCount=6)),
            color=alt.Color(
                "period_label:N",
                scale=alt.Scale(
                    domain=["12 weeks before birth", "12 weeks after birth"], range=list(palette.TWO_SERIES)
                ),
                title=None,
            ),
            shape=alt.Shape(
                "period_label:N",
                scale=alt.Scale(domain=["12 weeks before birth", "12 weeks after birth"], range=["circle", "square"]),
                title=None,
            ),
            tooltip=["service_label:N", "period_label:N", alt.Tooltip("per_woman:Q", format=".1f")],
        )
    )
    hidden = data.loc[data["suppressed"].astype(bool)]
    layers: list[alt.Chart] = [rule, points]
    if not hidden.empty:
        notes = (
            hidden.groupby("service_label", sort=False)["period"]
            .agg(lambda periods: "suppressed" if len(set(periods)) == 2 else f"{periods.iloc[0]}: suppressed")
            .rename("note")
            .reset_index()
            .assign(per_woman=0.0)
        )
        layers.append(
            alt.Chart(notes)
            .mark_text(align="left", dx=6, fontSize=11, fontStyle="italic", color=palette.DARK_GREY)
            .encode(y=y, x="per_woman:Q", text="note:N")
        )
    height = max(120, 28 * len(order))
    return alt.layer(*layers).properties(title=title, width=460, height=height)
