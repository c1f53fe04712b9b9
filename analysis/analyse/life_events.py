"""Drawings of significant life events in the analyses: a woman's own timeline, the cross-site figure.

On a journey map the dated events are her own timeline, drawn in a strip under the service
lanes (:func:`with_own_timeline`); :func:`kinds_by_period` and :func:`kinds_chart` give the
cross-site figure of which kinds of events women chose to draw and when. Reads the
``life_events`` and ``drawings`` derived tables (CONTRACTS.md); reading the drawings is
:mod:`analysis.clean.life_events`.
"""

from __future__ import annotations


import altair as alt
import pandas as pd

from analysis.core import palette

VALENCE_LABELS: dict[str, str] = {"positive": "good", "negative": "bad", "mixed": "mixed"}
VALENCE_SHAPES: dict[str, str] = {"positive": "triangle-up", "negative": "triangle-down", "mixed": "diamond"}
BEFORE_PREGNANCY = "Before the pregnancy (age)"
WHEN_BANDS: tuple[tuple[str, float, float], ...] = (
    ("Pregnancy", -float("inf"), 0.0),
    ("Birth to 6 weeks", 0.0, 6.0),
    ("6 weeks to 6 months", 6.0, 26.0),
    ("After 6 months", 26.0, float("inf")),
)
OWN_LANE = "Her own timeline (drawing)"


# ------------------------------------------------------------------------------------------
# A woman's own timeline on her journey map
# ------------------------------------------------------------------------------------------


def own_timeline(life_events: pd.DataFrame, study_id: str, window: pd.DataFrame) -> pd.DataFrame:
    """The dated events one woman drew, inside the journey map's window, with display text."""
    start, end = float(window["start"].iloc[0]), float(window["end"].iloc[0])
    own = life_events.loc[(life_events["study_id"] == study_id) & life_events["week_rel_birth"].notna()]
    own = own.loc[(own["week_rel_birth"] >= start) & (own["week_rel_birth"] <= end)]
    own = own.sort_values(["week_rel_birth", "event_no"]).reset_index(drop=True)
    out = pd.DataFrame({
        "week": own["week_rel_birth"].astype(float),
        "valence": own["valence"].astype(str),
        "text": [f"\u201c{label}\u201d ({VALENCE_LABELS.get(v, v)})" if label else f"{kind} ({VALENCE_LABELS.get(v, v)})"
                 for label, kind, v in zip(own["label"], own["kind_label"], own["valence"])],
    })
    out["row"] = [i % 3 for i in range(len(out))]
    return out


def with_own_timeline(journey: alt.TopLevelMixin, life_events: pd.DataFrame, study_id: str,
                      window: pd.DataFrame, *, width: int = 640) -> alt.TopLevelMixin:
    """The journey map with her own timeline (the events she drew) in a strip beneath it."""
    own = own_timeline(life_events, study_id, window)
    if own.empty:
        return journey
    start, end = float(window["start"].iloc[0]), float(window["end"].iloc[0])
    x = alt.X("week:Q", scale=alt.Scale(domain=[start, end], nice=False),
              title="Weeks relative to birth (0 = birth)")
    y = alt.Y("row:O", axis=None, scale=alt.Scale(domain=[0, 1, 2]))
    marks = alt.Chart(own).mark_point(filled=True, size=90, color=palette.TURQUOISE, stroke=palette.TEXT,
                                      strokeWidth=0.5).encode(
        x=x, y=y, shape=alt.Shape("valence:N", scale=alt.Scale(domain=list(VALENCE_SHAPES),
                                                               range=list(VALENCE_SHAPES.values())),
                                  legend=alt.Legend(title="As she described it", orient="bottom")))
    labels = alt.Chart(own).mark_text(align="left", dx=7, fontSize=11, color=palette.TEXT).encode(
        x=x, y=y, text="text:N")
    strip = alt.layer(marks, labels).properties(width=width, height=54, title=alt.TitleParams(
        OWN_LANE, anchor="start", fontSize=12))
    return alt.vconcat(journey, strip, spacing=6)


def own_timeline_alt(life_events: pd.DataFrame, study_id: str, window: pd.DataFrame) -> str:
    """Sentence for the journey map's alt text about the events she drew."""
    own = own_timeline(life_events, study_id, window)
    earlier = life_events.loc[(life_events["study_id"] == study_id) & life_events["week_rel_birth"].isna()]
    if own.empty and earlier.empty:
        return ""
    parts = [f"{t} at week {w:.0f}" for t, w in zip(own["text"], own["week"])]
    text = " Her own timeline from her drawing: " + ("; ".join(parts) if parts else "no dated events") + "."
    if not earlier.empty:
        text += f" She also drew {len(earlier)} event(s) from before the pregnancy, by age."
    return text


# ------------------------------------------------------------------------------------------
# Cross-site: which kinds of events women drew, and when
# ------------------------------------------------------------------------------------------


def when_band(life_events: pd.DataFrame) -> pd.Series:
    """When each event happened: before the pregnancy (given as an age) or a journey band."""
    weeks = pd.to_numeric(life_events["week_rel_birth"], errors="coerce")
    out = pd.Series(BEFORE_PREGNANCY, index=life_events.index, dtype="object")
    for label, low, high in WHEN_BANDS:
        out[(weeks >= low) & (weeks < high)] = label
    return out


def kinds_by_period(life_events: pd.DataFrame) -> pd.DataFrame:
    """Women who drew each kind of event, by when it happened (every kind x band, 0 if none)."""
    data = life_events.assign(when_band=when_band(life_events))
    counts = (data.drop_duplicates(["study_id", "kind", "when_band"])
              .groupby(["kind_label", "when_band"]).size().rename("women").reset_index())
    kinds = sorted(data["kind_label"].dropna().unique())
    bands = [BEFORE_PREGNANCY, *[b[0] for b in WHEN_BANDS]]
    grid = pd.MultiIndex.from_product([kinds, bands], names=["kind_label", "when_band"]).to_frame(index=False)
    out = grid.merge(counts, on=["kind_label", "when_band"], how="left")
    out["women"] = out["women"].fillna(0).astype(int)
    return out.rename(columns={"kind_label": "kind"})


def kinds_chart(released: pd.DataFrame, *, title: str) -> alt.LayerChart:
    """Heatmap: kinds of life event (rows) by when they happened (columns); cells labelled."""
    data = released.copy()
    data["text"] = [("<5" if s else str(int(v))) if pd.notna(v) or s else "" for v, s in
                    zip(data["women"], data["suppressed"])]
    data["shade"] = data["women"].astype("float")
    bands = [BEFORE_PREGNANCY, *[b[0] for b in WHEN_BANDS]]
    base = alt.Chart(data).encode(
        x=alt.X("when_band:N", sort=bands, title="When the event happened", axis=alt.Axis(labelAngle=-25)),
        y=alt.Y("kind:N", title="Kind of event drawn"),
    )
    cells = base.mark_rect(stroke="#FFFFFF").encode(
        color=alt.Color("shade:Q", scale=alt.Scale(scheme="purples"), title="Women"))
    labels = base.mark_text(fontSize=11).encode(
        text="text:N", color=alt.condition("datum.shade > 6", alt.value("#FFFFFF"), alt.value(palette.TEXT)))
    return alt.layer(cells, labels).properties(width=420, title=title)


def kinds_alt(released: pd.DataFrame, n_drawings: int) -> str:
    """Alt text for the cross-site figure."""
    shown = released.loc[~released["suppressed"] & (released["women"].fillna(0) > 0)]
    top = shown.sort_values("women", ascending=False).head(4)
    parts = "; ".join(f"{r.kind.lower()} {r.when_band.lower()} ({int(r.women)} women)" for r in top.itertuples())
    return (f"Heatmap of the kinds of significant life events women drew (rows) by when they happened "
            f"(columns, from before the pregnancy to after 6 months), over {n_drawings} drawings at all sites; "
            f"each cell gives the number of women (fewer than 5 shown as <5). Largest: {parts or 'none large enough to show'}.")
