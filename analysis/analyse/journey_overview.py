"""All the women of a site at once: the overview of journeys and the week-by-week strip.

Owns :func:`overview_counts` / :func:`overview_chart` (how many women were in contact with each
service in each block of weeks around the birth, under disclosure control) and
:func:`woman_week_strip` / :func:`woman_week_strip_chart` (one row per woman, one cell per block
of weeks, for the study team). Reads the ``contacts``, ``events`` and ``participants`` derived
tables (CONTRACTS.md); a single woman's journey map is :mod:`analysis.analyse.journeys`.
"""

from __future__ import annotations

from typing import Final

import altair as alt
import numpy as np
import pandas as pd

from analysis.analyse.journeys import END_WEEK
from analysis.analyse.site_profile import (
    for_site, ordered_services, require_columns, service_labels,
)
from analysis.core import palette

BIN_WEEKS: Final[int] = 8
"""Width of the week blocks in the site overview (8 weeks: blocks end at the birth, and a
site's handful of women gives counts large enough to show)."""

STRIP_BIN_WEEKS: Final[int] = 4
"""Width of the week blocks in the internal woman-by-week strip."""

MAX_STRIP_WOMEN: Final[int] = 150
"""Most women drawn in the woman-by-week strip (150 x 30 blocks stays under altair's row limit)."""


def overview_counts(
    contacts: pd.DataFrame,
    site: str | None = None,
    *,
    bin_weeks: int = BIN_WEEKS,
    start_week: float = -40.0,
    end_week: float = END_WEEK,
) -> pd.DataFrame:
    """Return service, service_label, block_start, women: women with >= 1 contact per block.

    Blocks are ``bin_weeks`` wide starting at ``start_week`` (weeks relative to birth); only
    services with contacts at the site appear and every block is listed (zero-filled).
    """
    require_columns(contacts, ["study_id", "service", "week_rel_birth"], table_name="contacts")
    rows = for_site(contacts, site, table_name="contacts")
    week = pd.to_numeric(rows["week_rel_birth"], errors="coerce")
    rows = rows.loc[(week >= start_week) & (week < end_week)].assign(week=week)
    rows["block_start"] = (np.floor((rows["week"] - start_week) / bin_weeks) * bin_weeks + start_week).astype(int)
    blocks = list(range(int(start_week), int(end_week), bin_weeks))
    services = ordered_services(rows["service"])
    grid = pd.MultiIndex.from_product([services, blocks], names=["service", "block_start"])
    counts = (
        rows.groupby(["service", "block_start"])["study_id"].nunique().reindex(grid, fill_value=0).rename("women").reset_index()
    )
    labels = service_labels()
    counts.insert(1, "service_label", counts["service"].map(lambda s: labels.get(s, s)))
    return counts


def overview_chart(released: pd.DataFrame, n_women: int, *, title: str, bin_weeks: int = BIN_WEEKS) -> alt.LayerChart:
    """Heatmap of the share of women with a contact, service (rows) by week block (columns).

    Suppressed blocks are grey with a cross; the share is written in cells of 50% or more so
    the pattern does not rest on colour alone; a dashed rule marks the birth.
    """
    data = released.copy()
    value = pd.to_numeric(data["women"], errors="coerce")
    data["share"] = value / max(n_women, 1)
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["block_end"] = data["block_start"] + bin_weeks
    data["label"] = [
        f"{s:.0%}" if (not sup and pd.notna(s) and s >= 0.5) else "" for s, sup in zip(data["share"], data["suppressed"])
    ]
    order = data.drop_duplicates("service_label")["service_label"].tolist()
    x = alt.X("block_start:Q", title="Weeks relative to birth (0 = birth)", scale=alt.Scale(nice=False))
    y = alt.Y("service_label:N", sort=order, title=None)
    shown = data.loc[~data["suppressed"].astype(bool)]
    hidden = data.loc[data["suppressed"].astype(bool)]
    cells = (
        alt.Chart(shown)
        .mark_rect(stroke="#FFFFFF", strokeWidth=0.5)
        .encode(
            x=x,
            x2="block_end:Q",
            y=y,
            color=alt.Color(
                "share:Q",
                scale=alt.Scale(domain=[0, 1], range=list(palette.SEQUENTIAL)),
                title="Women with a contact",
                legend=alt.Legend(format="%", orient="bottom", direction="horizontal", gradientLength=240, titleLimit=400),
            ),
            tooltip=["service_label:N", "block_start:Q", alt.Tooltip("share:Q", format=".0%")],
        )
    )
    layers: list[alt.Chart] = [cells]
    if not hidden.empty:
        layers.append(alt.Chart(hidden).mark_rect(color=palette.SUPPRESSED_GREY).encode(x=x, x2="block_end:Q", y=y))
        layers.append(
            alt.Chart(hidden.assign(mid=hidden["block_start"] + bin_weeks / 2))
            .mark_point(shape="cross", color=palette.DARK_GREY, size=30)
            .encode(x="mid:Q", y=y)
        )
    layers.append(
        alt.Chart(shown.assign(mid=shown["block_start"] + bin_weeks / 2))
        .mark_text(fontSize=9)
        .encode(
            x="mid:Q",
            y=y,
            text="label:N",
            color=alt.condition("datum.share >= 0.7", alt.value("#FFFFFF"), alt.value("#000000")),
        )
    )
    layers.append(
        alt.Chart(pd.DataFrame({"week": [0.0]})).mark_rule(color=palette.ORANGE, strokeDash=[5, 3], strokeWidth=2).encode(x="week:Q")
    )
    return alt.layer(*layers).properties(title=title, width=620, height=max(140, 24 * len(order)))


def overview_alt_text(released: pd.DataFrame, n_women: int, site_name: str) -> str:
    """Describe the site overview: which services reach most women before and after birth."""
    data = released.assign(value=pd.to_numeric(released["women"], errors="coerce"))
    if data.empty or n_women == 0:
        return f"Heatmap of service contacts by {BIN_WEEKS}-week block at {site_name}: no contacts."
    before = data.loc[data["block_start"] < 0].groupby("service_label")["value"].mean()
    after = data.loc[data["block_start"] >= 0].groupby("service_label")["value"].mean()
    text = (
        f"Heatmap of the share of the {n_women} women at {site_name} with at least one contact, by service (rows) "
        f"and {BIN_WEEKS}-week block from 40 weeks before to 78 weeks after birth (columns); darker is more women."
    )
    if not before.dropna().empty:
        text += f" Before birth the widest reach was {before.idxmax()}"
    if not after.dropna().empty:
        text += f"; after birth {after.idxmax()}."
    else:
        text += "."
    if bool(released.get("suppressed", pd.Series(dtype=bool)).any()):
        text += " Blocks with suppressed small counts are grey with a cross."
    return text


def woman_week_strip(contacts: pd.DataFrame, women: pd.DataFrame, site: str | None = None, *, bin_weeks: int = STRIP_BIN_WEEKS) -> pd.DataFrame:
    """Return study_id, block_start, contacts for every woman and block (internal overview)."""
    rows = for_site(contacts, site, table_name="contacts")
    ids = for_site(women, site, table_name="participants")["study_id"].sort_values().tolist()
    week = pd.to_numeric(rows["week_rel_birth"], errors="coerce")
    rows = rows.loc[(week >= -40) & (week < END_WEEK)].assign(week=week)
    rows["block_start"] = (np.floor((rows["week"] + 40) / bin_weeks) * bin_weeks - 40).astype(int)
    blocks = list(range(-40, int(END_WEEK), bin_weeks))
    grid = pd.MultiIndex.from_product([ids, blocks], names=["study_id", "block_start"])
    return rows.groupby(["study_id", "block_start"]).size().reindex(grid, fill_value=0).rename("contacts").reset_index()


def woman_week_strip_chart(
    strip: pd.DataFrame, *, title: str, bin_weeks: int = STRIP_BIN_WEEKS, max_women: int = MAX_STRIP_WOMEN
) -> alt.Chart:
    """All women at a glance: one row per woman, darker blocks = more contacts (internal).

    At most ``max_women`` women (the first by study ID) are drawn, so the chart stays readable
    and its inline data small; the title then says how many of how many are shown.
    """
    ids = sorted(strip["study_id"].unique())
    if len(ids) > max_women:
        strip = strip.loc[strip["study_id"].isin(ids[:max_women])]
        title = f"{title} (first {max_women} of {len(ids)} women)"
    n = strip["study_id"].nunique()
    step = int(max(3, min(16, 600 // max(n, 1))))
    data = strip.assign(block_end=strip["block_start"] + bin_weeks)
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("block_start:Q", title="Weeks relative to birth (0 = birth)", scale=alt.Scale(nice=False)),
            x2="block_end:Q",
            y=alt.Y("study_id:N", title=None, axis=alt.Axis(labels=n <= 60, ticks=n <= 60)),
            color=alt.Color(
                "contacts:Q",
                scale=alt.Scale(range=list(palette.SEQUENTIAL)),
                title="Contacts in block",
            ),
        )
        .properties(title=title, width=620, height=alt.Step(step))
    )
