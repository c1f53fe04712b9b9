"""Care pathway maps: which service a woman saw next (directly-follows transitions).

For each woman, contacts are put in time order (week relative to birth, then contact date,
then contact id, so ties are broken reproducibly); each consecutive pair of contacts is a
transition ``from_service -> to_service``. By default consecutive contacts with the same service
are first collapsed into one visit episode, so the map shows hand-offs between services rather
than repeat appointments. This is the directly-follows relation of process mining computed with
pandas (no process-mining dependency).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from analysis.analyse.site_profile import (
    for_site, ordered_services, require_columns, service_labels,
)
from analysis.core import palette

START: str = "(start)"
"""Pseudo-service before a woman's first contact (with ``include_ends=True``)."""

END: str = "(end)"
"""Pseudo-service after a woman's last contact (with ``include_ends=True``)."""


def service_sequences(contacts: pd.DataFrame, site: str | None = None, *, collapse_repeats: bool = True) -> pd.DataFrame:
    """Return study_id, site, step, service: each woman's services in time order.

    With ``collapse_repeats`` consecutive contacts with the same service become one step.
    """
    require_columns(contacts, ["contact_id", "study_id", "site", "service", "week_rel_birth"], table_name="contacts")
    rows = for_site(contacts, site, table_name="contacts").dropna(subset=["service"])
    keys = ["study_id", "week_rel_birth"]
    if "contact_date" in rows.columns:
        keys.append("contact_date")
    keys.append("contact_id")
    rows = rows.sort_values(keys, kind="mergesort", na_position="last")
    if collapse_repeats:
        previous = rows.groupby("study_id")["service"].shift()
        same = (rows["service"].astype(object) == previous.astype(object)).fillna(False).astype(bool)
        rows = rows.loc[~same.to_numpy()]
    out = rows[["study_id", "site", "service"]].copy()
    out.insert(2, "step", out.groupby("study_id").cumcount() + 1)
    return out.reset_index(drop=True)


def directly_follows(
    contacts: pd.DataFrame,
    site: str | None = None,
    *,
    collapse_repeats: bool = True,
    include_ends: bool = False,
) -> pd.DataFrame:
    """Return site, from_service, to_service, transitions, women for every observed transition.

    ``transitions`` counts hand-offs; ``women`` counts distinct women making that hand-off.
    With ``include_ends`` each woman's pathway also starts at ``START`` and ends at ``END``.
    Rows are sorted by site, then the configured service order of from and to.
    """
    seq = service_sequences(contacts, site, collapse_repeats=collapse_repeats)
    if include_ends and not seq.empty:
        firsts = seq.groupby("study_id").head(1).assign(service=START, step=0)
        lasts = seq.groupby("study_id").tail(1)
        lasts = lasts.assign(service=END, step=lasts["step"] + 1)
        seq = pd.concat([seq, firsts, lasts]).sort_values(["study_id", "step"], kind="mergesort")
    seq = seq.assign(to_service=seq.groupby("study_id")["service"].shift(-1)).dropna(subset=["to_service"])
    seq = seq.rename(columns={"service": "from_service"})
    columns = ["site", "from_service", "to_service", "transitions", "women"]
    if seq.empty:
        return pd.DataFrame(columns=columns)
    out = (
        seq.groupby(["site", "from_service", "to_service"])
        .agg(transitions=("study_id", "size"), women=("study_id", "nunique"))
        .reset_index()
    )
    order = {code: i for i, code in enumerate([START, *ordered_services(pd.concat([out["from_service"], out["to_service"]])), END])}
    out = out.assign(
        _f=out["from_service"].map(order), _t=out["to_service"].map(order)
    ).sort_values(["site", "_f", "_t"], kind="mergesort")
    return out[columns].reset_index(drop=True)


def transition_grid(transitions: pd.DataFrame, *, count: str = "transitions") -> pd.DataFrame:
    """Return a complete from x to grid (zero-filled) of ``count`` with service labels, for a figure.

    Columns: from_service, from_label, to_service, to_label, ``count``. One site at a time.
    """
    if transitions["site"].nunique() > 1:
        raise ValueError("pathways.transition_grid: pass one site's transitions at a time")
    services = ordered_services(pd.concat([transitions["from_service"], transitions["to_service"]]))
    services = [s for s in [START, *services, END] if s in set(transitions["from_service"]) | set(transitions["to_service"])]
    grid = pd.MultiIndex.from_product([services, services], names=["from_service", "to_service"])
    out = transitions.set_index(["from_service", "to_service"])[count].reindex(grid, fill_value=0).reset_index()
    labels = service_labels()
    out.insert(1, "from_label", out["from_service"].map(lambda s: labels.get(s, s)))
    out.insert(3, "to_label", out["to_service"].map(lambda s: labels.get(s, s)))
    return out


def pathway_chart(released_grid: pd.DataFrame, *, title: str, count: str = "transitions") -> alt.LayerChart:
    """Transition matrix: rows = from service, columns = to service, count written in each cell.

    Zero cells are left blank so the pathways stand out; suppressed cells are grey ("supp.").
    """
    data = released_grid.copy()
    data["value"] = pd.to_numeric(data[count], errors="coerce").astype(float)
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["suppressed"] = data["suppressed"].astype(bool)
    top = float(data["value"].max()) if data["value"].notna().any() else 1.0
    data["label"] = [
        "supp." if sup else ("" if (pd.isna(v) or v == 0) else f"{int(v)}") for v, sup in zip(data["value"], data["suppressed"])
    ]
    data["text_colour"] = ["#FFFFFF" if (not pd.isna(v) and top > 0 and v / top >= 0.6) else "#000000" for v in data["value"]]
    order = data.drop_duplicates("from_label")["from_label"].tolist()
    x = alt.X("to_label:N", sort=order, title="Next service", axis=alt.Axis(labelAngle=-40, labelLimit=200, orient="top"))
    y = alt.Y("from_label:N", sort=order, title="Service")
    nonzero = data.loc[~data["suppressed"] & (data["value"] > 0)]
    background = alt.Chart(data).mark_rect(color="#F5F5F5", stroke="#FFFFFF").encode(x=x, y=y)
    cells = alt.Chart(nonzero).mark_rect(stroke="#FFFFFF").encode(
        x=x,
        y=y,
        color=alt.Color("value:Q", scale=alt.Scale(domainMin=0, range=list(palette.SEQUENTIAL[1:])), title="Transitions"),
        tooltip=["from_label:N", "to_label:N", alt.Tooltip("value:Q", format="d")],
    )
    hidden = alt.Chart(data.loc[data["suppressed"]]).mark_rect(color=palette.SUPPRESSED_GREY, stroke="#FFFFFF").encode(x=x, y=y)
    text = alt.Chart(data).mark_text(fontSize=11).encode(
        x=x, y=y, text="label:N", color=alt.condition("datum.text_colour == '#FFFFFF'", alt.value("#FFFFFF"), alt.value("#000000"))
    )
    size = max(160, 30 * len(order))
    layers = [background] + [layer for layer, rows in ((cells, nonzero), (hidden, data.loc[data["suppressed"]])) if not rows.empty] + [text]
    return alt.layer(*layers).properties(title=title, width=size, height=size)


def pathway_alt_text(released_grid: pd.DataFrame, site_name: str, *, count: str = "transitions") -> str:
    """Describe a pathway matrix: number of services and the most frequent hand-offs."""
    data = released_grid.assign(value=pd.to_numeric(released_grid[count], errors="coerce"))
    data = data.loc[data["value"] > 0].sort_values(["value", "from_label", "to_label"], ascending=[False, True, True])
    text = (
        f"Matrix of hand-offs between services at {site_name}: each row is a service, each column the next "
        f"service a woman saw, with the number of transitions written in the cell."
    )
    if not data.empty:
        top = data.head(3)
        text += " Most frequent: " + "; ".join(
            f"{r.from_label} to {r.to_label} ({int(r.value)})" for r in top.itertuples()
        ) + "."
    if "suppressed" in released_grid.columns and bool(released_grid["suppressed"].astype(bool).any()):
        text += " Small counts are suppressed (grey cells)."
    return text
