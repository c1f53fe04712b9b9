"""Women's diaries in the synthesis: themes over time by source, quotes, the gallery, key numbers.

:func:`theme_periods` counts, for each theme and period of the journey, the women who raised it
in an interview and in a diary, so themes over time use both with the source shown
(:func:`themes_by_source_chart`); :func:`quotes` and :func:`visual_items` give the consented
quotes and images (released through :mod:`analysis.protect.person_level`). Reads the
``diary_entries``, ``diary_segments``, ``drawings``, ``segments``, ``interviews`` and
``codebook`` derived tables (CONTRACTS.md); reading the diaries is
:mod:`analysis.clean.diaries`.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from analysis.clean.diaries import MODES
from analysis.core import palette

PERIODS: tuple[tuple[str, float, float], ...] = (
    ("Pregnancy", -float("inf"), 0.0),
    ("Birth to 6 weeks", 0.0, 6.0),
    ("6 weeks to 6 months", 6.0, 26.0),
    ("6 to 12 months", 26.0, 52.0),
    ("12 to 18 months", 52.0, float("inf")),
)
"""Periods of the journey (weeks relative to birth, from inclusive, to exclusive)."""


SOURCES: tuple[str, ...] = ("Interview", "Diary")


def period_of(weeks: pd.Series) -> pd.Series:
    """The journey period label of each week relative to birth."""
    out = pd.Series(pd.NA, index=weeks.index, dtype="object")
    for label, low, high in PERIODS:
        out[(weeks >= low) & (weeks < high)] = label
    return out


def theme_periods(segments: pd.DataFrame, interviews: pd.DataFrame, diary_segments: pd.DataFrame,
                  codebook: pd.DataFrame) -> pd.DataFrame:
    """Women raising each theme in each period, by source (interview or diary).

    Returns columns theme, period, source, women (0 where none), one row for every theme,
    period and source, in codebook, period and source order.
    """
    when = interviews.loc[interviews["status"] == "completed", ["study_id", "wave", "week_rel_birth"]]
    women_segments = segments[["study_id", "wave", "theme_id"]].merge(when, on=["study_id", "wave"], how="left")
    parts = [
        women_segments.assign(source="Interview")[["study_id", "theme_id", "week_rel_birth", "source"]],
        diary_segments.assign(source="Diary")[["study_id", "theme_id", "week_rel_birth", "source"]],
    ]
    raised = pd.concat(parts, ignore_index=True)
    raised["period"] = period_of(pd.to_numeric(raised["week_rel_birth"], errors="coerce"))
    counts = (raised.dropna(subset=["period"]).drop_duplicates(["study_id", "theme_id", "period", "source"])
              .groupby(["theme_id", "period", "source"]).size().rename("women").reset_index())
    themes = codebook.loc[codebook["level"] == 1, ["theme_id", "theme"]].sort_values("theme_id")
    grid = pd.MultiIndex.from_product(
        [themes["theme_id"], [p[0] for p in PERIODS], list(SOURCES)], names=["theme_id", "period", "source"]
    ).to_frame(index=False)
    out = grid.merge(counts, on=["theme_id", "period", "source"], how="left")
    out["women"] = out["women"].fillna(0).astype(int)
    out = out.merge(themes, on="theme_id")
    return out[["theme", "period", "source", "women"]]


def release_by_source(by_source: pd.DataFrame, *, name: str) -> pd.DataFrame:
    """Disclosure control row by row: each source's theme is its own distribution over periods
    (the figure publishes no totals), which keeps the exact secondary-suppression audit cheap."""
    from analysis.protect.outputs import release_counts_by_row

    released = release_counts_by_row(by_source, name=name, count_column="women", row_columns=["source", "theme"])
    return released[["theme", "period", "source", "women", "suppressed"]]


def themes_by_source_chart(released: pd.DataFrame, *, title: str) -> alt.FacetChart:
    """Two heatmaps side by side (interviews, diaries): themes by period, each cell labelled."""
    data = released.copy()
    data["text"] = data["women"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    data.loc[data["suppressed"], "text"] = "<5"
    data["shade"] = data["women"].astype("float")
    base = alt.Chart(data).encode(
        x=alt.X("period:N", sort=[p[0] for p in PERIODS], title="Period (weeks relative to birth)",
                axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("theme:N", sort=list(dict.fromkeys(data["theme"])), title=None),
    )
    cells = base.mark_rect(stroke="#FFFFFF").encode(
        color=alt.Color("shade:Q", scale=alt.Scale(scheme="blues"), title="Women"))
    labels = base.mark_text(fontSize=10).encode(
        text="text:N",
        color=alt.condition("datum.shade > 6", alt.value("#FFFFFF"), alt.value(palette.TEXT)))
    return alt.layer(cells, labels, data=data).properties(width=220).facet(
        column=alt.Column("source:N", sort=list(SOURCES), title="Source")).properties(title=title)


def themes_by_source_alt(released: pd.DataFrame) -> str:
    """Alt text: the largest counts in each source."""
    parts = []
    for source in SOURCES:
        rows = released.loc[(released["source"] == source) & ~released["suppressed"]]
        rows = rows.sort_values("women", ascending=False).head(3)
        top = "; ".join(f"{r.theme} in {r.period.lower()} ({int(r.women)} women)" for r in rows.itertuples()
                        if pd.notna(r.women) and r.women > 0)
        parts.append(f"from {source.lower()} data: {top or 'no counts large enough to show'}")
    return ("Two heatmaps, interviews and diaries, with one row per theme and one column per period "
            "from pregnancy to 18 months; each cell gives the number of women who raised the theme "
            "then (fewer than 5 shown as <5). Most often: " + ". ".join(parts) + ".")


def diary_summary(entries: pd.DataFrame) -> pd.DataFrame:
    """Diary entries by mode and site: entries and women (counts, for release_table)."""
    rows = []
    for mode in MODES:
        own = entries.loc[entries["mode"] == mode]
        rows.append({"Mode": mode.capitalize(), "Entries": len(own), "Women": own["study_id"].nunique()})
    return pd.DataFrame(rows)


def quotes(entries: pd.DataFrame, diary_segments: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """One example quote per theme from the audio diaries, with the entry and its consent."""
    data = diary_segments.merge(entries[["entry_id", "consent"]], on="entry_id", how="left")
    data = data.merge(codebook.loc[codebook["level"] == 1, ["theme_id", "theme"]], on="theme_id")
    data = data.sort_values(["theme_id", "entry_id", "start"], kind="mergesort")
    data["period"] = period_of(pd.to_numeric(data["week_rel_birth"], errors="coerce"))
    return data[["entry_id", "consent", "theme", "period", "text"]].reset_index(drop=True)


def visual_items(entries: pd.DataFrame, drawings: pd.DataFrame) -> pd.DataFrame:
    """Diary photos/videos and drawings that have an image file: item, kind, consent, image, description."""
    diary = entries.loc[entries["image"].fillna("") != "", ["entry_id", "mode", "consent", "image", "description"]]
    diary = diary.rename(columns={"entry_id": "item", "mode": "kind"})
    drawn = drawings.loc[drawings["image"].fillna("") != "", ["drawing_id", "consent", "image", "description"]]
    drawn = drawn.rename(columns={"drawing_id": "item"}).assign(kind="drawing")
    return pd.concat([diary, drawn], ignore_index=True)[["item", "kind", "consent", "image", "description"]]


def gallery_chart(released: pd.DataFrame, raw_dir: Path, *, title: str, per_row: int = 3) -> alt.TopLevelMixin:
    """A grid of the released images, each captioned with its kind and the team's description.

    ``released`` must come from :func:`analysis.protect.person_level.release_items` with ``use="image"``.
    The images are read from the raw export folder and embedded as data URLs.
    """
    import base64
    import textwrap

    panels = []
    for n, row in enumerate(released.itertuples(), start=1):
        data = (Path(raw_dir) / row.image).read_bytes()
        url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        caption = textwrap.wrap(f"{n}. {row.kind.capitalize()}: {row.description}", 34)[:4]
        frame = pd.DataFrame({"x": [0.5], "y": [0.5], "url": [url]})
        panels.append(
            alt.Chart(frame).mark_image(width=160, height=120).encode(
                x=alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, 1])),
                y=alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0, 1])), url="url:N")
            .properties(width=180, height=130, title=alt.TitleParams(caption, fontSize=11, anchor="start",
                                                                     orient="bottom", fontWeight="normal"))
        )
    if not panels:
        from analysis.analyse.charts import message_chart

        return message_chart("No visual item has consent for its image to be shown.", title=title)
    return alt.concat(*panels, columns=per_row).properties(title=title).configure_view(stroke=None)


def gallery_alt(released: pd.DataFrame) -> str:
    """Alt text: each image's kind and the team's coded description."""
    parts = [f"{n}. {r.kind}: {r.description}" for n, r in enumerate(released.itertuples(), start=1)]
    return (f"Gallery of {len(released)} de-identified visual items that women consented to show "
            f"(generated stand-in images in the synthetic study): " + " ".join(parts))


def key_numbers(entries: pd.DataFrame, drawings: pd.DataFrame) -> dict[str, str]:
    """Numbers the report's prose quotes; counts under 5 are written as "fewer than 5"."""

    def safe(n: int) -> str:
        return str(n) if n == 0 or n >= 5 else "fewer than 5"

    return {"entries": safe(len(entries)), "women": safe(int(entries["study_id"].nunique())),
            "drawings": safe(int(drawings["study_id"].nunique()))}
