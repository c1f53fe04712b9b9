"""Themes across women, waves and sites: prevalence, trajectories, code co-occurrence.

A theme is a level-1 code of the codebook; a segment belongs to the theme of its code. A woman
"has" a theme at a wave when at least one segment of her interview at that wave carries it.

- Prevalence by wave (recurrent cross-sectional view): of the women interviewed at a wave, how
  many raised the theme.
- Trajectories (Grossoehme and Lipstein 2016, trajectory analysis): for each woman and theme,
  the presence pattern over her completed interviews, classified by ``classify_trajectory``.
- Co-occurrence: pairs of codes applied to overlapping spans of the same document, and pairs
  of codes applied anywhere in the same document (interview).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Final

import altair as alt
import pandas as pd

from analysis.analyse import charts
from analysis.analyse.site_profile import ProfileInputError, for_site, require_columns
from analysis.core import palette

TRAJECTORIES: Final[tuple[str, ...]] = ("persists", "emerges", "fades", "appears", "intermittent")
"""Trajectory classes, in display order (see ``classify_trajectory``)."""

TRAJECTORY_DEFINITIONS: Final[dict[str, str]] = {
    "persists": "raised at every one of two or more completed interviews",
    "emerges": "absent at first, then raised at every later interview up to the last",
    "fades": "raised at first, then absent at every later interview up to the last",
    "appears": "raised at exactly one interview, neither pattern above (or the only interview)",
    "intermittent": "raised, dropped and raised again (two or more separate runs)",
}
"""Plain-language definitions, for captions and the methods section."""

EXCERPT_CHARS: Final[int] = 120
"""Longest excerpt quoted in a table cell."""


def themes_of(codebook: pd.DataFrame) -> pd.DataFrame:
    """Return theme_id, theme for the level-1 codes, in code-id order."""
    require_columns(codebook, ["code_id", "theme_id", "theme", "level"], table_name="codebook")
    level = pd.to_numeric(codebook["level"], errors="coerce")
    themes = codebook.loc[level == 1, ["theme_id", "theme"]].drop_duplicates("theme_id")
    if themes.empty:
        themes = codebook[["theme_id", "theme"]].drop_duplicates("theme_id")
    return themes.sort_values("theme_id").reset_index(drop=True)


def theme_presence(segments: pd.DataFrame, interviews: pd.DataFrame, site: str | None = None) -> pd.DataFrame:
    """Return study_id, site, wave, theme_id, present for every interview and theme.

    Interviews are the completed ones of ``interviews`` plus any (woman, wave) that has coded
    segments (so a segment is never lost because an interview's status is out of date).
    Themes are those found in the segments.
    """
    require_columns(segments, ["study_id", "site", "wave", "theme_id"], table_name="segments")
    require_columns(interviews, ["study_id", "site", "wave", "status"], table_name="interviews")
    segs = for_site(segments, site, table_name="segments")
    done = for_site(interviews, site, table_name="interviews")
    done = done.loc[(done["status"] == "completed").fillna(False), ["study_id", "site", "wave"]]
    coded = segs[["study_id", "site", "wave"]]
    held = pd.concat([done, coded]).astype({"wave": int}).drop_duplicates().sort_values(["study_id", "wave"])
    theme_ids = sorted(segs["theme_id"].dropna().unique())
    grid = held.merge(pd.DataFrame({"theme_id": theme_ids}), how="cross")
    hits = segs.astype({"wave": int}).groupby(["study_id", "wave", "theme_id"]).size().rename("segments").reset_index()
    out = grid.merge(hits, on=["study_id", "wave", "theme_id"], how="left")
    out["present"] = out["segments"].fillna(0).astype(int) > 0
    return out.drop(columns="segments").sort_values(["study_id", "wave", "theme_id"]).reset_index(drop=True)


def prevalence_by_wave(presence: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Return theme_id, theme, wave, women, interviewed: women raising each theme at each wave."""
    interviewed = presence.groupby("wave")["study_id"].nunique().rename("interviewed")
    counts = (
        presence.loc[presence["present"]].groupby(["theme_id", "wave"])["study_id"].nunique().rename("women")
    )
    grid = pd.MultiIndex.from_product(
        [sorted(presence["theme_id"].unique()), sorted(presence["wave"].unique())], names=["theme_id", "wave"]
    )
    out = counts.reindex(grid, fill_value=0).reset_index()
    out["interviewed"] = out["wave"].map(interviewed).astype(int)
    return _with_theme(out, codebook)[["theme_id", "theme", "wave", "women", "interviewed"]]


def prevalence_by_site(presence: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Return theme_id, theme, site, women, interviewed: women raising each theme at any wave."""
    interviewed = presence.groupby("site")["study_id"].nunique().rename("interviewed")
    counts = presence.loc[presence["present"]].groupby(["theme_id", "site"])["study_id"].nunique().rename("women")
    grid = pd.MultiIndex.from_product(
        [sorted(presence["theme_id"].unique()), sorted(presence["site"].unique())], names=["theme_id", "site"]
    )
    out = counts.reindex(grid, fill_value=0).reset_index()
    out["interviewed"] = out["site"].map(interviewed).astype(int)
    return _with_theme(out, codebook)[["theme_id", "theme", "site", "women", "interviewed"]]


def classify_trajectory(pattern: Sequence[bool]) -> str | None:
    """Classify one woman-theme presence pattern (ordered by wave) into a trajectory class.

    Rules, first match wins (``None`` when the theme is never raised):

    - ``persists``: present at every interview, with at least two interviews;
    - ``emerges``: absent at the first interview, present at the last, one switch (0..0 1..1);
    - ``fades``: present at the first interview, absent at the last, one switch (1..1 0..0);
    - ``appears``: present at exactly one interview otherwise (e.g. 0 1 0, or a single interview);
    - ``intermittent``: anything else (two or more separate runs of presence, e.g. 1 0 1).
    """
    flags = [bool(v) for v in pattern]
    if not any(flags):
        return None
    switches = sum(1 for a, b in itertools.pairwise(flags) if a != b)
    if all(flags) and len(flags) >= 2:
        return "persists"
    if not flags[0] and flags[-1] and switches == 1:
        return "emerges"
    if flags[0] and not flags[-1] and switches == 1:
        return "fades"
    if sum(flags) == 1:
        return "appears"
    return "intermittent"


def trajectories(presence: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Return study_id, site, theme_id, theme, waves, pattern, trajectory (participant level).

    ``pattern`` is the presence over the woman's interviews as text (e.g. ``1 0 1``) and
    ``waves`` the waves it refers to (e.g. ``1 2 3``). Woman-themes never raised are left out.
    """
    rows = []
    ordered = presence.sort_values(["study_id", "theme_id", "wave"])
    for (study_id, site, theme_id), group in ordered.groupby(["study_id", "site", "theme_id"], sort=True):
        flags = group["present"].tolist()
        kind = classify_trajectory(flags)
        if kind is None:
            continue
        rows.append(
            {
                "study_id": study_id,
                "site": site,
                "theme_id": theme_id,
                "waves": " ".join(str(int(w)) for w in group["wave"]),
                "pattern": " ".join("1" if f else "0" for f in flags),
                "trajectory": kind,
            }
        )
    out = pd.DataFrame(rows, columns=["study_id", "site", "theme_id", "waves", "pattern", "trajectory"])
    out = _with_theme(out, codebook)
    return out[["study_id", "site", "theme_id", "theme", "waves", "pattern", "trajectory"]]


def trajectory_summary(traj: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Return theme_id, theme, trajectory, women: how many women follow each trajectory per theme."""
    theme_ids = themes_of(codebook)["theme_id"].tolist()
    present = [t for t in theme_ids if t in set(traj["theme_id"])] or sorted(traj["theme_id"].unique())
    grid = pd.MultiIndex.from_product([present, list(TRAJECTORIES)], names=["theme_id", "trajectory"])
    counts = traj.groupby(["theme_id", "trajectory"])["study_id"].nunique().reindex(grid, fill_value=0)
    out = _with_theme(counts.rename("women").reset_index(), codebook)
    return out[["theme_id", "theme", "trajectory", "women"]]


def segment_cooccurrence(segments: pd.DataFrame, codebook: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return code_a, code_b, segments: pairs of different codes on overlapping spans of one document.

    Spans are end-exclusive code-point offsets; two spans overlap when
    ``start_a < end_b and start_b < end_a``. Each overlapping pair of coded segments counts once.
    Pairs are ordered (``code_a < code_b``) and sorted.
    """
    require_columns(segments, ["document", "code_id", "start", "end"], table_name="segments")
    segs = segments[["document", "code_id", "start", "end"]].dropna().copy()
    segs["start"] = segs["start"].astype(int)
    segs["end"] = segs["end"].astype(int)
    bad = segs.loc[segs["end"] < segs["start"]]
    if not bad.empty:
        row = bad.index[0]
        raise ProfileInputError(
            f"table 'segments', row {row}, column 'end': end {bad.loc[row, 'end']} is before start {bad.loc[row, 'start']}"
        )
    pairs = segs.merge(segs, on="document", suffixes=("_a", "_b"))
    pairs = pairs.loc[
        (pairs["code_id_a"] < pairs["code_id_b"])
        & (pairs["start_a"] < pairs["end_b"])
        & (pairs["start_b"] < pairs["end_a"])
    ]
    out = pairs.groupby(["code_id_a", "code_id_b"]).size().rename("segments").reset_index()
    out = out.rename(columns={"code_id_a": "code_a", "code_id_b": "code_b"})
    return _with_code_labels(out, codebook, "segments")


def document_cooccurrence(
    segments: pd.DataFrame, codebook: pd.DataFrame | None = None, *, level: str = "code"
) -> pd.DataFrame:
    """Return code_a, code_b, documents: pairs of different codes applied in the same document.

    With ``level="theme"`` the pairs are of themes (a segment counts for its code's theme), and
    the labels are theme names.
    """
    key = {"code": "code_id", "theme": "theme_id"}.get(level)
    if key is None:
        raise ValueError(f"themes.document_cooccurrence: level must be 'code' or 'theme', got {level!r}")
    require_columns(segments, ["document", key], table_name="segments")
    codes = segments[["document", key]].dropna().drop_duplicates().rename(columns={key: "code_id"})
    pairs = codes.merge(codes, on="document", suffixes=("_a", "_b"))
    pairs = pairs.loc[pairs["code_id_a"] < pairs["code_id_b"]]
    out = pairs.groupby(["code_id_a", "code_id_b"])["document"].nunique().rename("documents").reset_index()
    out = out.rename(columns={"code_id_a": "code_a", "code_id_b": "code_b"})
    if level == "theme" and codebook is not None:
        names = themes_of(codebook).set_index("theme_id")["theme"]
        out["code_a_label"] = out["code_a"].map(names)
        out["code_b_label"] = out["code_b"].map(names)
        return out[["code_a", "code_a_label", "code_b", "code_b_label", "documents"]]
    return _with_code_labels(out, codebook, "documents")


def accounts_side_by_side(
    segments: pd.DataFrame,
    professional_segments: pd.DataFrame,
    codebook: pd.DataFrame,
    site: str | None = None,
) -> pd.DataFrame:
    """Women's and professionals' accounts theme by theme.

    Returns theme, women, women_segments, professionals, professional_segments, women_example,
    professional_example. Counts are distinct women / distinct professional documents (a focus
    group counts once) raising the theme; examples are the first segment by id, shortened to
    ``EXCERPT_CHARS`` and followed by its segment id in brackets.
    """
    require_columns(professional_segments, ["segment_id", "document", "theme_id", "text"], table_name="professional_segments")
    require_columns(segments, ["segment_id", "study_id", "theme_id", "text"], table_name="segments")
    women = for_site(segments, site, table_name="segments")
    profs = for_site(professional_segments, site, table_name="professional_segments")
    rows = []
    for theme_id, theme in themes_of(codebook).itertuples(index=False):
        w = women.loc[women["theme_id"] == theme_id].sort_values("segment_id")
        p = profs.loc[profs["theme_id"] == theme_id].sort_values("segment_id")
        if w.empty and p.empty:
            continue
        rows.append(
            {
                "theme": theme,
                "women": int(w["study_id"].nunique()),
                "women_segments": int(len(w)),
                "professionals": int(p["document"].nunique()),
                "professional_segments": int(len(p)),
                "women_example": _excerpt(w),
                "professional_example": _excerpt(p),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "theme",
            "women",
            "women_segments",
            "professionals",
            "professional_segments",
            "women_example",
            "professional_example",
        ],
    )


def share_heatmap(
    released: pd.DataFrame,
    *,
    row: str,
    column: str,
    count: str,
    denominator: str,
    title: str,
    row_title: str | None = None,
    column_title: str | None = None,
    column_sort: list[str] | None = None,
) -> alt.LayerChart:
    """Heatmap of ``count / denominator`` with the percentage written in every cell.

    ``released`` comes from ``release_counts`` (suppressed counts missing, ``suppressed`` flag);
    suppressed cells are grey and read "supp.". Colour is the sequential palette; the number in
    the cell carries the value, so colour is never the only cue.
    """
    data = released.copy()
    value = pd.to_numeric(data[count], errors="coerce")
    denom = pd.to_numeric(data[denominator], errors="coerce")
    data["share"] = (value / denom.where(denom > 0)).astype(float)
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["suppressed"] = data["suppressed"].astype(bool)
    data["label"] = [
        "supp." if sup else ("" if pd.isna(s) else f"{s:.0%}") for s, sup in zip(data["share"], data["suppressed"])
    ]
    data["text_colour"] = ["#FFFFFF" if (not pd.isna(s) and s >= 0.6) else "#000000" for s in data["share"]]
    rows = data.drop_duplicates(row)[row].tolist()
    columns = column_sort or data.drop_duplicates(column)[column].tolist()
    angle = -25 if max((len(str(c)) for c in columns), default=0) > 12 else 0
    x = alt.X(f"{column}:N", sort=columns, title=column_title, axis=alt.Axis(labelAngle=angle, labelLimit=220))
    y = alt.Y(f"{row}:N", sort=rows, title=row_title, axis=alt.Axis(labelLimit=360))
    colour = alt.Color(
        "share:Q",
        scale=alt.Scale(domain=[0, 1], range=list(palette.SEQUENTIAL)),
        title="Share of women",
        legend=alt.Legend(format="%", gradientLength=200),
    )
    return _labelled_heatmap(data, x=x, y=y, colour=colour, title=title,
                             width=max(240, 110 * len(columns)), height=max(120, 30 * len(rows)))


def _labelled_heatmap(data: pd.DataFrame, *, x: alt.X, y: alt.Y, colour: alt.Color, title: str,
                      width: int, height: int) -> alt.LayerChart:
    """Shown cells coloured by ``colour``, suppressed cells grey, every cell's ``label`` written in it."""
    shown = alt.Chart(data.loc[~data["suppressed"]]).mark_rect(stroke="#FFFFFF").encode(x=x, y=y, color=colour)
    hidden = alt.Chart(data.loc[data["suppressed"]]).mark_rect(color=palette.SUPPRESSED_GREY, stroke="#FFFFFF").encode(
        x=x, y=y
    )
    text = alt.Chart(data).mark_text().encode(x=x, y=y, text="label:N", color=_TEXT_COLOUR)
    return alt.layer(*_present(data, shown, hidden), text).properties(title=title, width=width, height=height)


def count_heatmap(
    released: pd.DataFrame,
    *,
    row: str,
    column: str,
    count: str,
    title: str,
    row_title: str | None = None,
    column_title: str | None = None,
    column_sort: list[str] | None = None,
    row_sort: list[str] | None = None,
) -> alt.LayerChart:
    """Heatmap of counts with each count written in its cell (suppressed cells grey, "supp.")."""
    data = released.copy()
    data["value"] = pd.to_numeric(data[count], errors="coerce").astype(float)
    if "suppressed" not in data.columns:
        data["suppressed"] = False
    data["suppressed"] = data["suppressed"].astype(bool)
    top = float(data["value"].max()) if data["value"].notna().any() else 1.0
    data["label"] = ["supp." if sup else ("" if pd.isna(v) else f"{int(v)}") for v, sup in zip(data["value"], data["suppressed"])]
    data["text_colour"] = ["#FFFFFF" if (not pd.isna(v) and top > 0 and v / top >= 0.6) else "#000000" for v in data["value"]]
    rows = row_sort or data.drop_duplicates(row)[row].tolist()
    columns = column_sort or data.drop_duplicates(column)[column].tolist()
    x = alt.X(f"{column}:N", sort=columns, title=column_title, axis=alt.Axis(labelAngle=-30, labelLimit=320))
    y = alt.Y(f"{row}:N", sort=rows, title=row_title, axis=alt.Axis(labelLimit=360))
    colour = alt.Color("value:Q", scale=alt.Scale(domainMin=0, range=list(palette.SEQUENTIAL)), title="Count")
    return _labelled_heatmap(data, x=x, y=y, colour=colour, title=title,
                             width=max(240, 90 * len(columns)), height=max(120, 30 * len(rows)))


def heatmap_alt_text(
    released: pd.DataFrame,
    *,
    row: str,
    column: str,
    count: str,
    denominator: str | None,
    what: str,
) -> str:
    """Describe a heatmap from its released data: the highest cell and how many are suppressed."""
    data = released.copy()
    data["value"] = pd.to_numeric(data[count], errors="coerce")
    if denominator is not None:
        data["value"] = data["value"] / pd.to_numeric(data[denominator], errors="coerce").where(lambda d: d > 0)
    n_rows, n_cols = data[row].nunique(), data[column].nunique()
    text = f"Heatmap of {what}: {n_rows} rows by {n_cols} columns, each cell labelled with its value."
    shown = data.dropna(subset=["value"])
    if not shown.empty:
        top = shown.sort_values(["value", row, column], ascending=[False, True, True]).iloc[0]
        value = f"{top['value']:.0%}" if denominator is not None else f"{int(top['value'])}"
        text += f" The highest is {top[row]} by {top[column]} ({value})."
    if "suppressed" in data.columns and bool(data["suppressed"].astype(bool).any()):
        text += f" {int(data['suppressed'].astype(bool).sum())} cells are suppressed (grey) to protect small counts."
    return text


_TEXT_COLOUR = alt.condition("datum.text_colour == '#FFFFFF'", alt.value("#FFFFFF"), alt.value("#000000"))
"""White text on dark cells, black elsewhere (a value condition: no colour scale is created)."""


def _present(data: pd.DataFrame, shown: alt.Chart, hidden: alt.Chart) -> list[alt.Chart]:
    """The shown/suppressed cell layers that have rows (empty layers break Vega-Lite's scale merge)."""
    layers = []
    if not data.loc[~data["suppressed"]].empty:
        layers.append(shown)
    if not data.loc[data["suppressed"]].empty:
        layers.append(hidden)
    return layers


def _with_theme(frame: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Add the theme name to a frame keyed by theme_id."""
    names = themes_of(codebook).set_index("theme_id")["theme"]
    out = frame.copy()
    out["theme"] = out["theme_id"].map(names)
    return out


def _with_code_labels(frame: pd.DataFrame, codebook: pd.DataFrame | None, count: str) -> pd.DataFrame:
    """Add code_a_label / code_b_label (last part of the code path) when a codebook is given."""
    if codebook is None:
        return frame[["code_a", "code_b", count]]
    names = codebook.set_index("code_id")["code"].astype(str).map(lambda c: c.split("\\")[-1])
    out = frame.copy()
    out["code_a_label"] = out["code_a"].map(names)
    out["code_b_label"] = out["code_b"].map(names)
    return out[["code_a", "code_a_label", "code_b", "code_b_label", count]]


def _excerpt(segs: pd.DataFrame) -> str:
    """First segment's text, shortened, with its segment id (empty when there is none)."""
    if segs.empty:
        return ""
    first = segs.iloc[0]
    text = " ".join(str(first["text"]).split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "\u2026"
    return f"\u201c{text}\u201d [{first['segment_id']}]"


def release_prevalence(
    prevalence: pd.DataFrame, *, by: str, name: str, profile: str | None = None
) -> pd.DataFrame:
    """Release a prevalence table (``prevalence_by_wave`` / ``_by_site``) for a heatmap.

    Numerators (``women``) go through ``release_counts`` with rows = themes and columns =
    ``by``; denominators (``interviewed``, one per ``by`` value) are released separately, so a
    share is shown only when both are safe. Returns theme, ``by``, women, interviewed,
    suppressed (True when either was suppressed).
    """
    from analysis.protect import outputs

    numerators = outputs.release_counts(
        prevalence[["theme", by, "women"]].reset_index(drop=True), name=name, count_column="women", profile=profile
    )
    denominators = prevalence[[by, "interviewed"]].drop_duplicates(by).reset_index(drop=True)
    released_denominators = outputs.release_counts(
        denominators, name=f"{name}-denominators", count_column="interviewed", profile=profile
    )
    out = numerators.merge(
        released_denominators.rename(columns={"suppressed": "denominator_suppressed"}), on=by, how="left"
    )
    out["suppressed"] = out["suppressed"].astype(bool) | out["denominator_suppressed"].astype(bool)
    return out.drop(columns="denominator_suppressed")[["theme", by, "women", "interviewed", "suppressed"]]


def cooccurrence_figure(
    pairs: pd.DataFrame,
    *,
    name: str,
    title: str,
    count: str = "segments",
    row_title: str = "Code",
    column_title: str = "Co-occurring code",
    profile: str | None = None,
) -> tuple[alt.Chart | alt.LayerChart, str]:
    """Release code-pair counts and return ``(chart, alt_text)`` for the co-occurrence heatmap.

    ``pairs`` is ``segment_cooccurrence`` or ``document_cooccurrence`` output with code labels.
    When there are no pairs the chart says so in words (nothing to release).
    """
    from analysis.protect import outputs

    if pairs.empty:
        message = "No two different codes were applied to overlapping text." if count == "segments" else "No code pairs."
        return charts.message_chart(message, title=title), f"{title}: {message}"
    released = outputs.release_counts(
        pairs[["code_a_label", "code_b_label", count]].reset_index(drop=True), name=name, count_column=count, profile=profile
    )
    order = list(dict.fromkeys([*pairs["code_a_label"], *pairs["code_b_label"]]))
    chart = count_heatmap(
        released, row="code_a_label", column="code_b_label", count=count, title=title,
        row_title=None, column_title=column_title,
        row_sort=[c for c in order if c in set(pairs["code_a_label"])],
        column_sort=[c for c in order if c in set(pairs["code_b_label"])],
    )
    alt_text = heatmap_alt_text(
        released, row="code_a_label", column="code_b_label", count=count, denominator=None,
        what="how often pairs of codes were applied to overlapping text" if count == "segments"
        else f"how many interviews had both {row_title.lower()}s of a pair",
    )
    return chart, alt_text
