"""The four sites side by side: model of care, service contacts and the baby's placement.

Site features come from ``analysis/config/sites.csv``; contacts and outcomes from the derived
tables. Every count table here is meant to go through ``analysis.protect.outputs`` before display.
"""

from __future__ import annotations

from typing import Final, TYPE_CHECKING

import altair as alt
import pandas as pd

from analysis.analyse.journeys import PLACEMENT_LABELS
from analysis.analyse.postnatal_gap import GAP_AFTER, GAP_BEFORE
from analysis.analyse.site_profile import read_sites, recruited_women, require_columns
from analysis.core import palette

if TYPE_CHECKING:
    from analysis.protect.outputs import ReleasedTable

FEATURE_LABELS: Final[dict[str, str]] = {
    "nation": "Nation",
    "model_of_care": "Model of care",
    "colocated": "Specialist midwife and drug service co-located",
    "lead_professional": "Lead professional",
    "specialist_midwife": "Specialist (substance use) midwife",
    "mbu_access": "Access to mother-and-baby placements",
    "rehab_access": "Access to residential rehab",
}
"""Row labels of the models-of-care table, in display order."""

OUTCOME_TIMES: Final[dict[str, str]] = {"placement_at_birth": "At birth", "placement_at_18m": "At 18 months"}


def site_order(sites: pd.DataFrame | None = None) -> list[str]:
    """Site codes in configured order."""
    return (sites if sites is not None else read_sites())["code"].tolist()


def features_table(sites: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the models of care side by side: one row per feature, one column per site label."""
    sites = read_sites() if sites is None else sites
    require_columns(sites, ["code", "label", *FEATURE_LABELS], table_name="sites.csv")
    rows = []
    for column, label in FEATURE_LABELS.items():
        row = {"Feature": label}
        for site in sites.itertuples(index=False):
            value = getattr(site, column)
            if isinstance(value, bool):
                value = "Yes" if value else "No"
            row[site.label] = str(value)[:1].upper() + str(value)[1:]
        rows.append(row)
    return pd.DataFrame(rows)


def women_by_site(participants: pd.DataFrame) -> pd.DataFrame:
    """Return site, women: recruited women per site (configured order; unconfigured sites last)."""
    women = recruited_women(participants)
    counts = women.groupby("site")["study_id"].nunique()
    order = [s for s in site_order() if s in counts.index] + sorted(set(counts.index) - set(site_order()))
    return pd.DataFrame({"site": order, "women": [int(counts[s]) for s in order]})


def contacts_by_site_period(
    contacts: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    before: tuple[float, float] = GAP_BEFORE,
    after: tuple[float, float] = GAP_AFTER,
) -> pd.DataFrame:
    """Return site, period, contacts, women: contacts in the 12 weeks before and after birth.

    ``women`` is the site's recruited women (the denominator of contacts per woman).
    """
    require_columns(contacts, ["study_id", "site", "week_rel_birth"], table_name="contacts")
    women = women_by_site(participants)
    week = pd.to_numeric(contacts["week_rel_birth"], errors="coerce")
    periods = {
        "before": (week >= before[0]) & (week < before[1]),
        "after": (week >= after[0]) & (week < after[1]),
    }
    rows = []
    for site, n in women.itertuples(index=False):
        at_site = contacts["site"] == site
        for period, mask in periods.items():
            rows.append({"site": site, "period": period, "contacts": int((at_site & mask).sum()), "women": n})
    return pd.DataFrame(rows, columns=["site", "period", "contacts", "women"])


def placements_by_site(participants: pd.DataFrame) -> pd.DataFrame:
    """Return site, time, placement, babies: the baby's placement at birth and at 18 months.

    Every placement category of the contract and every site is listed (zero-filled); a missing
    placement is counted as ``not_known``.
    """
    require_columns(participants, ["study_id", "site", *OUTCOME_TIMES], table_name="participants")
    women = recruited_women(participants)
    sites = women_by_site(participants)["site"].tolist()
    categories = [*PLACEMENT_LABELS, "not_known"]
    rows = []
    for column, time in OUTCOME_TIMES.items():
        values = women[column].astype("object").where(women[column].notna(), "not_known")
        unknown = sorted(set(values) - set(categories))
        if unknown:
            raise ValueError(
                f"table 'participants', column {column!r}: unknown placement(s) {unknown}; expected {categories}"
            )
        counts = pd.crosstab(women["site"], values).reindex(index=sites, columns=categories, fill_value=0)
        for site in sites:
            for category in categories:
                rows.append({"site": site, "time": time, "placement": category, "babies": int(counts.loc[site, category])})
    return pd.DataFrame(rows, columns=["site", "time", "placement", "babies"])


ALL_SITES: Final[str] = "all_sites"
"""Site code of the all-sites rows added by ``release_placements``."""


def release_placements(placements: pd.DataFrame, *, name: str, profile: str | None = None) -> pd.DataFrame:
    """Release ``placements_by_site`` for the figure, plus all-sites rows (``site = ALL_SITES``).

    Per-site counts are released as one table (rows = site and time, columns = placement, so
    the all-sites counts are its published column margins); the all-sites counts are released
    on their own. Small sites are often fully suppressed; the all-sites rows still show the
    overall pattern.
    """
    from analysis.protect import outputs

    per_site = outputs.release_counts(placements, name=name, count_column="babies", by=["site", "time"], profile=profile)
    totals = placements.groupby(["time", "placement"], sort=False)["babies"].sum().reset_index()
    totals.insert(0, "site", ALL_SITES)
    overall = outputs.release_counts(totals, name=f"{name}-all-sites", count_column="babies", by=["site", "time"], profile=profile)
    return pd.concat([per_site, overall], ignore_index=True)


def placements_wide(placements: pd.DataFrame, time: str) -> pd.DataFrame:
    """One row per site, one count column per placement (labels), for ``release_table``.

    Placement columns that are zero at every site are dropped (except ``With mother``).
    """
    subset = placements.loc[placements["time"] == time]
    wide = subset.pivot_table(index="site", columns="placement", values="babies", aggfunc="sum", sort=False)
    labels = read_sites().set_index("code")["label"]
    wide.index = [labels.get(s, s) for s in wide.index]
    keep = [c for c in wide.columns if c == "with_mother" or wide[c].sum() > 0]
    wide = wide[keep].rename(columns={**PLACEMENT_LABELS, "not_known": "Not known"})
    wide.columns.name = None
    return wide.rename_axis("Site").reset_index()


def release_placement_table(placements: pd.DataFrame, time: str, *, name: str,
                            profile: str | None = None) -> ReleasedTable:
    """The placements-by-site table at ``time`` ("At birth", "At 18 months"), redesigned before
    suppression by ``analysis.protect.outputs.release_sensitive_table`` (the policy's ``placement``
    rule: merge placements, combine sites, combine rare categories). Returns its
    ``ReleasedTable``; the report shows ``display_table()`` and ``note``, and the key numbers
    read the same release, so prose and table agree."""
    from analysis.protect import outputs

    wide = placements_wide(placements, time)
    return outputs.release_sensitive_table(wide, name=name, count_columns=list(wide.columns[1:]),
                                           what="babies", profile=profile)


def placements_chart(released: pd.DataFrame, *, title: str) -> alt.FacetChart:
    """Baby's placement by site: one panel per time, bars per placement, counts written on bars.

    Placement is carried by the bar's position and its text label; sites are the rows.
    """
    data = released.copy()
    data["value"] = pd.to_numeric(data["babies"], errors="coerce").astype(float)
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["suppressed"] = data["suppressed"].astype(bool)
    labels = {**read_sites().set_index("code")["label"].to_dict(), ALL_SITES: "All sites"}
    data["site_label"] = data["site"].map(lambda s: labels.get(s, s))
    data["placement_label"] = data["placement"].map({**PLACEMENT_LABELS, "not_known": "Not known"})
    data["label"] = ["supp." if s else f"{int(v)}" for v, s in zip(data["value"].fillna(0), data["suppressed"])]
    data["shown"] = data["value"].fillna(0)
    used = data.groupby("placement")["value"].sum(min_count=1)
    keep = [p for p in [*PLACEMENT_LABELS, "not_known"] if p == "with_mother" or used.get(p, 0) > 0 or data.loc[data["placement"] == p, "suppressed"].any()]
    data = data.loc[data["placement"].isin(keep)]
    order = [({**PLACEMENT_LABELS, "not_known": "Not known"})[p] for p in keep]
    y = alt.Y("placement_label:N", sort=order, title=None)
    base = alt.Chart().encode(y=y)
    bars = base.mark_bar(color=palette.DARK_BLUE).encode(x=alt.X("shown:Q", title="Babies"))
    text = base.mark_text(align="left", dx=3).encode(x="shown:Q", text="label:N")
    return (
        alt.layer(bars, text, data=data)
        .properties(width=170, height=22 * len(order))
        .facet(
            row=alt.Row(
                "site_label:N",
                sort=[labels.get(s, s) for s in [*site_order(), ALL_SITES]],
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold"),
            ),
            column=alt.Column("time:N", sort=list(OUTCOME_TIMES.values()), title=None),
        )
        .properties(title=title)
    )


def placements_alt_text(released: pd.DataFrame) -> str:
    """Describe the placements chart: share with mother at birth and 18 months, by site where shown."""
    data = released.assign(value=pd.to_numeric(released["babies"], errors="coerce"))
    labels = {**read_sites().set_index("code")["label"].to_dict(), ALL_SITES: "All sites"}
    text = (
        "Bar charts of the baby's placement (with mother, mother-and-baby placement, kinship, foster care, "
        "adoption) at birth and at 18 months, one row of panels per site, each bar labelled with its count."
    )
    parts = []
    for site in data["site"].drop_duplicates():
        for time in OUTCOME_TIMES.values():
            cell = data.loc[(data["site"] == site) & (data["time"] == time) & (data["placement"] == "with_mother"), "value"]
            if not cell.empty and pd.notna(cell.iloc[0]):
                parts.append(f"{labels.get(site, site)} {time.lower()}: {int(cell.iloc[0])} with mother")
    if parts:
        text += " " + "; ".join(parts) + "."
    if "suppressed" in data.columns and bool(data["suppressed"].astype(bool).any()):
        text += " Small counts are suppressed and labelled supp."
    return text


def contacts_site_chart(released: pd.DataFrame, *, title: str) -> alt.LayerChart:
    """Contacts per woman before vs after birth at each site (circle = before, square = after)."""
    data = released.copy()
    data["value"] = pd.to_numeric(data["contacts"], errors="coerce") / pd.to_numeric(data["women"], errors="coerce")
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    labels = read_sites().set_index("code")["label"]
    data["site_label"] = data["site"].map(lambda s: labels.get(s, s))
    names = {"before": "12 weeks before birth", "after": "12 weeks after birth"}
    data["period_label"] = data["period"].map(names)
    data["label"] = [("supp." if bool(s) else f"{v:.1f}") for v, s in zip(data["value"].fillna(0), data["suppressed"])]
    order = [labels.get(s, s) for s in site_order() if s in set(data["site"])]
    y = alt.Y("site_label:N", sort=order, title=None)
    wide = data.pivot_table(index="site_label", columns="period", values="value", aggfunc="first").reset_index()
    for column in ("before", "after"):
        if column not in wide.columns:
            wide[column] = float("nan")
    rule = alt.Chart(wide).mark_rule(color=palette.GRID, strokeWidth=3).encode(y=y, x="before:Q", x2="after:Q")
    domain = list(names.values())
    points = alt.Chart(data).mark_point(filled=True, size=150, opacity=1).encode(
        y=y,
        x=alt.X("value:Q", title="Contacts per woman in the window"),
        color=alt.Color("period_label:N", scale=alt.Scale(domain=domain, range=list(palette.TWO_SERIES)), title=None),
        shape=alt.Shape("period_label:N", scale=alt.Scale(domain=domain, range=["circle", "square"]), title=None),
    )
    text = alt.Chart(data).mark_text(dy=-13, fontSize=11).encode(y=y, x="value:Q", text="label:N")
    return alt.layer(rule, points, text).properties(title=title, width=460, height=max(120, 50 * len(order)))


def contacts_site_alt_text(released: pd.DataFrame) -> str:
    """Describe contacts per woman before and after birth at each site."""
    data = released.assign(value=pd.to_numeric(released["contacts"], errors="coerce") / pd.to_numeric(released["women"], errors="coerce"))
    labels = read_sites().set_index("code")["label"]
    parts = []
    for site, group in data.groupby("site", sort=False):
        values = group.set_index("period")["value"]
        if pd.notna(values.get("before")) and pd.notna(values.get("after")):
            parts.append(f"{labels.get(site, site)} {values['before']:.1f} before and {values['after']:.1f} after")
    text = (
        "Dot plot of service contacts per woman in the 12 weeks before birth (circles) and the 12 weeks after "
        "birth (squares) at each site."
    )
    if parts:
        text += " " + "; ".join(parts) + "."
    return text
