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


def with_consent(life_events: pd.DataFrame, drawings: pd.DataFrame) -> pd.DataFrame:
    """The drawn events with their drawing's ``consent`` (for :func:`analysis.protect.person_level.release_items`).

    Her own labels are her words: a journey map shows them only when the drawing's consent
    permits quoting (``use="quote"``), so the maps take the events released that way.
    """
    consent = drawings.drop_duplicates("drawing_id").set_index("drawing_id")["consent"]
    return life_events.assign(consent=life_events["drawing_id"].map(consent))


NO_OWN_EVENTS = "no drawn events to show"
"""Text of the journey browser's own-timeline strip for a woman with no (consented) dated events."""


def browser_own_timelines(life_events: pd.DataFrame, lanes: pd.DataFrame) -> pd.DataFrame:
    """Every journey-browser woman's own timeline, as :func:`own_timeline` gives each map's.

    ``lanes`` is the browser's ``lanes`` table (each woman's window ``start``/``end``). Returns
    study_id, week, valence, text, row: her dated events inside her window, or one row with
    :data:`NO_OWN_EVENTS` at the window's start (``valence`` empty: no symbol) when she has none.
    """
    windows = lanes.drop_duplicates("study_id")[["study_id", "start", "end"]]
    parts = []
    for study_id, start, end in windows.itertuples(index=False, name=None):
        own = own_timeline(life_events, study_id, pd.DataFrame({"start": [start], "end": [end]}))
        if own.empty:
            own = pd.DataFrame({"week": [float(start)], "valence": [""], "text": [NO_OWN_EVENTS], "row": [1]})
        parts.append(own.assign(study_id=study_id))
    columns = ["study_id", "week", "valence", "text", "row"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def with_browser_own_timeline(browser: alt.VConcatChart, own: pd.DataFrame, *,
                              width: int = 640) -> alt.VConcatChart:
    """The journey browser with the chosen woman's own timeline in a strip beneath it.

    ``own`` is :func:`browser_own_timelines` (every woman's events, stored once in the spec);
    the strip shows the rows of the woman picked in the browser's list
    (:data:`analysis.analyse.journeys.BROWSER_PARAM`), drawn as on her individual map: a symbol per
    valence (legend "As she described it") and her own label with the valence in words.
    """
    from analysis.analyse.journeys import BROWSER_PARAM

    chosen = f"datum.study_id == {BROWSER_PARAM}"
    x = alt.X("week:Q", scale=alt.Scale(nice=False, zero=False), title="Weeks relative to birth (0 = birth)")
    y = alt.Y("row:O", axis=None, scale=alt.Scale(domain=[0, 1, 2]))
    base = alt.Chart(own).transform_filter(chosen)
    marks = base.transform_filter("datum.valence != ''").mark_point(
        filled=True, size=90, color=palette.TURQUOISE, stroke=palette.TEXT, strokeWidth=0.5).encode(
        x=x, y=y, shape=alt.Shape("valence:N", scale=alt.Scale(domain=list(VALENCE_SHAPES),
                                                               range=list(VALENCE_SHAPES.values())),
                                  legend=alt.Legend(title="As she described it", orient="bottom")))
    labels = base.mark_text(align="left", dx=7, fontSize=11, color=palette.TEXT).encode(x=x, y=y, text="text:N")
    strip = alt.layer(marks, labels).properties(width=width, height=54, title=alt.TitleParams(
        OWN_LANE, anchor="start", fontSize=12))
    chart = browser.copy()
    chart.vconcat = [*browser.vconcat, strip]
    return chart


def browser_own_timeline_alt(own: pd.DataFrame) -> str:
    """Sentence for the journey browser's alt text about the own-timeline strip."""
    drew = own.loc[own["valence"] != "", "study_id"].nunique()
    return (f" Beneath the map, her own timeline: the dated events she drew in her drawing of significant "
            f"life events, with her own label and whether she described each as good, bad or mixed "
            f"(also shown by the symbol); {drew} of the {own['study_id'].nunique()} women have drawn "
            "events that their consent permits showing.")


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
    """Heatmap: kinds of life event (rows) by when they happened (columns); cells labelled.

    Suppressed cells are drawn in the grey every other heatmap uses for them
    (``palette.SUPPRESSED_GREY``) and read "supp.", and the subtitle says so, so a reader does
    not need colour to tell a withheld count from a small one.
    """
    data = released.copy()
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["suppressed"] = data["suppressed"].astype(bool)
    data["text"] = [SUPPRESSED_LABEL if s else ("" if pd.isna(v) else str(int(v))) for v, s in
                    zip(data["women"], data["suppressed"])]
    data["shade"] = data["women"].astype("float")
    bands = [BEFORE_PREGNANCY, *[b[0] for b in WHEN_BANDS]]
    x = alt.X("when_band:N", sort=bands, title="When the event happened", axis=alt.Axis(labelAngle=-25))
    y = alt.Y("kind:N", title="Kind of event drawn")
    shown = data.loc[~data["suppressed"]]
    hidden = data.loc[data["suppressed"]]
    layers: list[alt.Chart] = []
    if not shown.empty:
        layers.append(alt.Chart(shown).mark_rect(stroke="#FFFFFF").encode(
            x=x, y=y, color=alt.Color("shade:Q", scale=alt.Scale(scheme="purples"), title="Women")))
    if not hidden.empty:
        layers.append(alt.Chart(hidden).mark_rect(color=palette.SUPPRESSED_GREY, stroke="#FFFFFF").encode(x=x, y=y))
    layers.append(alt.Chart(data).mark_text(fontSize=11).encode(
        x=x, y=y, text="text:N",
        color=alt.condition("datum.shade > 6", alt.value("#FFFFFF"), alt.value(palette.TEXT))))
    heading: dict[str, object] = {"text": title}
    if not hidden.empty:
        heading["subtitle"] = SUPPRESSED_NOTE
    return alt.layer(*layers).properties(width=420, title=heading)


SUPPRESSED_LABEL: str = "supp."
"""Text written in a suppressed cell of the life-events heatmap (as in the theme heatmaps)."""

SUPPRESSED_NOTE: str = f"Grey cells marked {SUPPRESSED_LABEL}: number of women not shown (disclosure control)."
"""Subtitle of the life-events heatmap when any cell is suppressed: the key to the grey cells."""


def kinds_alt(released: pd.DataFrame, n_drawings: int) -> str:
    """Alt text for the cross-site figure."""
    shown = released.loc[~released["suppressed"] & (released["women"].fillna(0) > 0)]
    top = shown.sort_values("women", ascending=False).head(4)
    parts = "; ".join(f"{r.kind.lower()} {r.when_band.lower()} ({int(r.women)} women)" for r in top.itertuples())
    return (f"Heatmap of the kinds of significant life events women drew (rows) by when they happened "
            f"(columns, from before the pregnancy to after 6 months), over {n_drawings} drawings at all sites; "
            f"each cell gives the number of women (cells whose number is withheld are grey and read supp.). Largest: {parts or 'none large enough to show'}.")
