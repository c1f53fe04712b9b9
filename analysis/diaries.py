"""Women's audio and visual diaries: the register, coded audio diaries, themes over time.

Reading (cleaning stage, through :func:`analysis.study_materials.read_materials`):

- the diary register (``sources.yml`` section ``diaries``): one row per entry with its mode
  (audio, photo, video, written), date (within the study window), duration or item count,
  consent (none / quote / image; blank is an error; ``image`` only for photo or video entries),
  transcript (audio) and the team's coded description. A diary for a woman who is not recruited
  is an error. Visual items themselves are never read: only metadata and coded description.
- the codings of audio diary transcripts (section ``diary_segments``): the interview codings'
  columns and codebook; ``Document`` is the entry id, and each coded text must equal its
  transcript's ``text[start:end]``. With ``qdpx:`` declared and no ``file`` in the section,
  the codings and transcripts come from the REFI-QDA project instead
  (:mod:`analysis.qda.diaries`); every diary source there must name a recruited woman and be
  an audio entry of the register (which holds its consent), and the table is the same.

Analysis (synthesis notebook): :func:`theme_periods` counts, for each theme and period of the
journey, the women who raised it in an interview and in a diary, so themes over time use both
with the source shown (:func:`themes_by_source_chart`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import altair as alt
import pandas as pd

from analysis import palette
from analysis.errors import DataValidationError
from analysis.study_materials import (
    MaterialsContext,
    consent_codes,
    fail,
    map_values,
    parse_date,
    read_declared,
    require_women,
    weeks_in_window,
)

MODES: tuple[str, ...] = ("audio", "photo", "video", "written")
VISUAL_MODES: tuple[str, ...] = ("photo", "video")
PERIODS: tuple[tuple[str, float, float], ...] = (
    ("Pregnancy", -float("inf"), 0.0),
    ("Birth to 6 weeks", 0.0, 6.0),
    ("6 weeks to 6 months", 6.0, 26.0),
    ("6 to 12 months", 26.0, 52.0),
    ("12 to 18 months", 52.0, float("inf")),
)
"""Periods of the journey (weeks relative to birth, from inclusive, to exclusive)."""

SOURCES: tuple[str, ...] = ("Interview", "Diary")


def read_diaries(mc: MaterialsContext) -> dict[str, pd.DataFrame]:
    """Read and validate the diary register and the audio diary codings."""
    spec = mc.section("diaries")
    if spec is None:
        return {}
    frame, columns = read_declared(
        mc, spec, ("study_id", "entry_id", "date", "mode", "consent"),
        screen=("description",))
    require_women(frame, mc, columns, "diary entry")
    frame["mode"] = map_values(frame, "mode", spec.get("modes") or {m: m for m in MODES}, columns,
                               "diary mode")
    frame["consent"] = consent_codes(frame, spec, columns)
    bad = (frame["consent"] == "image") & ~frame["mode"].isin(VISUAL_MODES)
    if bad.any():
        i = int(bad.idxmax())
        raise fail(frame, i, columns["consent"], "image consent only for photo or video",
                   f"entry {frame.at[i, 'entry_id']} is {frame.at[i, 'mode']}: it has no image "
                   "to show; record consent as quote or none")
    duplicated = frame["entry_id"].duplicated()
    if duplicated.any():
        i = int(duplicated.idxmax())
        raise fail(frame, i, columns["entry_id"], "entry id unique",
                   f"entry {frame.at[i, 'entry_id']!r} appears twice")
    formats = (str(spec.get("date_format", "%d/%m/%Y")),)
    frame["entry_date"] = [parse_date(frame, i, v, formats, columns["date"])
                           for i, v in frame["date"].items()]
    frame["week_rel_birth"] = weeks_in_window(frame, frame["entry_date"], mc, columns["date"],
                                              "diary entry")
    for key in ("duration_min", "items"):
        values = frame[key] if key in frame.columns else pd.Series("", index=frame.index)
        numbers = pd.to_numeric(values.replace("", pd.NA), errors="coerce")
        bad = values.ne("") & values.notna() & (numbers.isna() | (numbers < 0))
        if bad.any():
            i = int(bad.idxmax())
            raise fail(frame, i, columns.get(key, key), "a whole number of 0 or more",
                       f"value {values[i]!r} is not a count")
        frame[key] = numbers.astype("Int64")
    for key in ("transcript", "image", "description"):
        if key not in frame.columns:
            frame[key] = ""
    audio = frame["mode"] == "audio"
    no_transcript = audio & (frame["transcript"] == "")
    if no_transcript.any():
        mc.log.append(_log(spec, "audio diary without transcript", int(no_transcript.sum()),
                           "kept; not coded"))
    frame["site"] = frame["study_id"].map(mc.women.set_index("study_id")["site"])
    entries = frame
    segments = _read_diary_segments(mc, entries)
    return {"diary_entries": entries, "diary_segments": segments}


def _log(spec, rule: str, rows: int, action: str, detail: str = ""):
    from analysis.contact_logs import LogEntry

    return LogEntry("clean", str(spec["file"]), rule, rows, action, detail)


DIARY_SEGMENT_COLUMNS: tuple[str, ...] = ("segment_id", "entry_id", "study_id", "site", "week_rel_birth",
                                          "code_id", "theme_id", "text", "start", "end", "coder")


def _read_diary_segments(mc: MaterialsContext, entries: pd.DataFrame) -> pd.DataFrame:
    """The codings of the audio diaries, from their CSV export or from the REFI-QDA project.

    Both forms pass the same rules and give the same table; a broken rule names the CSV file,
    row and column, or the project's ``.qde``, element (``Coding``/``TextSource``) and line.
    """
    from analysis.qda.diaries import project_diary_spec

    if project_diary_spec(mc.sources) is not None:
        frame, columns, texts, where = _diary_segments_from_project(mc, entries)
    else:
        spec = mc.section("diary_segments")
        if spec is None:
            return pd.DataFrame(columns=list(DIARY_SEGMENT_COLUMNS))
        frame, columns = read_declared(mc, spec, ("document", "code", "start", "end", "text"),
                                       screen=("text",))
        texts, where = _transcript_reader(mc, spec, columns["document"]), fail
    return _checked_diary_segments(mc, entries, frame, columns, texts, where)


def _transcript_reader(mc: MaterialsContext, spec: Mapping,
                       column: str) -> Callable[[pd.DataFrame, int, str], str]:
    """Reads (once) and screens the transcript of an entry from the declared folder."""
    from analysis import cleaning

    folder = Path(mc.raw_dir) / str(spec.get("transcripts", "transcripts"))
    texts: dict[str, str] = {}
    seen: dict = {}

    def text_of(frame: pd.DataFrame, i: int, document: str) -> str:
        if document not in texts:
            name = f"{folder.name}/{document}.txt"
            path = folder / f"{document}.txt"
            if not path.is_file():
                raise fail(frame, i, column, "transcript present",
                           f"no transcript {name} for audio diary {document}")
            texts[document] = path.read_text(encoding=str(spec.get("encoding", "utf-8")))
            mc.record_input(name)
            cleaning._screen_transcript(texts[document], name, seen)
        return texts[document]

    return text_of


def _diary_segments_from_project(mc: MaterialsContext, entries: pd.DataFrame):
    """Diary codings from the declared REFI-QDA project, every diary source checked first."""
    from analysis import cleaning
    from analysis.qda.diaries import DEFAULT_DIARY_PATTERN, read_diary_codings
    from analysis.qda.errors import QdaError

    spec = mc.sources["diary_segments"]
    qdpx = mc.sources["qdpx"]
    qdpx = {"file": qdpx} if isinstance(qdpx, str) else dict(qdpx)
    file = str(qdpx["file"])
    map_file = str(spec["map"]) if spec.get("map") else None
    mc.record_input(file)
    if map_file is not None:
        mc.record_input(map_file)
    raw = Path(mc.raw_dir)
    try:
        data = read_diary_codings(
            raw / file, pattern=str(spec.get("document_pattern") or DEFAULT_DIARY_PATTERN),
            diary_map=None if map_file is None else raw / map_file,
            strict=bool(qdpx.get("strict", True)))
    except DataValidationError as error:
        raise cleaning._relative_error(error, raw) from None
    xml_file = data.file.replace(f"{raw}/", "")
    recruited = set(mc.women.loc[mc.women["recruited"].astype(bool), "study_id"])
    register = entries.set_index("entry_id")
    audio = set(register.index[register["mode"] == "audio"])
    for source in data.sources.itertuples(index=False):
        named = source.study_id or (register.at[source.entry_id, "study_id"]
                                    if source.entry_id in register.index else "")
        if named not in recruited:
            raise QdaError(xml_file, "TextSource", source.line, "diary of a recruited woman",
                           f"diary source {source.qda_source!r} (entry {source.entry_id}, "
                           f"{source.matched_by}) names {named or 'no woman'!r}, who is not a "
                           "recruited woman")
        if source.entry_id not in audio:
            raise QdaError(xml_file, "TextSource", source.line,
                           "diary source has an audio entry in the register (with its consent)",
                           f"diary source {source.qda_source!r} is entry {source.entry_id!r}, which "
                           f"is not an audio entry of {mc.sources['diaries']['file']}: no consent "
                           "is recorded for it; add it to the register with its consent")
        if register.at[source.entry_id, "study_id"] != named:
            raise QdaError(xml_file, "TextSource", source.line, "same woman as the diary register",
                           f"diary source {source.qda_source!r} names {named!r} but entry "
                           f"{source.entry_id} is {register.at[source.entry_id, 'study_id']!r}'s")
    segments = data.segments
    cleaning._screen_identifiers(segments.assign(_row=segments["_row"]), xml_file, ["Coded text"])
    seen: dict = {}
    for entry, text in data.transcripts.items():
        cleaning._screen_transcript(text, f"{file} (transcript {entry})", seen)
    columns = {"document": "Document", "code": "Code", "start": "Start", "end": "End",
               "text": "Coded text", "coder": "Coder"}
    frame = pd.DataFrame({key: segments[name] for key, name in columns.items()})
    frame["_row"] = segments["_row"].astype(int)
    frame["_file"] = xml_file

    def text_of(frame: pd.DataFrame, i: int, document: str) -> str:
        return data.transcripts[document]

    def where(frame: pd.DataFrame, i: int, column: str, rule: str, message: str) -> QdaError:
        return QdaError(xml_file, "Coding", int(frame.at[i, "_row"]), rule,
                        f"{message} ({column})")

    return frame, columns, text_of, where


def _checked_diary_segments(mc: MaterialsContext, entries: pd.DataFrame, frame: pd.DataFrame,
                            columns: dict[str, str], text_of, where) -> pd.DataFrame:
    """The rules every diary coding passes, whichever form it was read from; the derived table."""
    known = entries.set_index("entry_id")
    audio = set(known.index[known["mode"] == "audio"])
    bad = ~frame["document"].isin(audio)
    if bad.any():
        i = int(bad.idxmax())
        raise where(frame, i, columns["document"], "document is an audio diary entry",
                    f"document {frame.at[i, 'document']!r} is not an audio entry of the diary "
                    "register")
    code_ids = mc.codebook.set_index("code")["code_id"]
    frame["code_id"] = frame["code"].map(code_ids)
    bad = frame["code_id"].isna()
    if bad.any():
        i = int(bad.idxmax())
        raise where(frame, i, columns["code"], "code in the codebook",
                    f"code {frame.at[i, 'code']!r} is not in the codebook")
    frame["theme_id"] = frame["code_id"].map(mc.codebook.set_index("code_id")["theme_id"])
    for key in ("start", "end"):
        numbers = pd.to_numeric(frame[key], errors="coerce")
        bad = numbers.isna() | (numbers < 0)
        if bad.any():
            i = int(bad.idxmax())
            raise where(frame, i, columns[key], "a whole number of 0 or more",
                        f"value {frame.at[i, key]!r} is not an offset")
        frame[key] = numbers.astype(int)
    for i, document in frame["document"].items():
        text = text_of(frame, i, document)
        start, end = int(frame.at[i, "start"]), int(frame.at[i, "end"])
        if text[start:end] != frame.at[i, "text"]:
            raise where(frame, i, columns["text"], "coded text matches transcript[start:end]",
                        f"coded text differs from {document}.txt at {start}..{end}")
    frame["entry_id"] = frame["document"]
    frame["study_id"] = frame["entry_id"].map(known["study_id"])
    frame["site"] = frame["entry_id"].map(known["site"])
    frame["week_rel_birth"] = frame["entry_id"].map(known["week_rel_birth"])
    frame["coder"] = frame["coder"] if "coder" in frame.columns else ""
    frame = frame.sort_values(["entry_id", "start", "end", "code_id"], kind="mergesort")
    frame["segment_id"] = frame["entry_id"] + "-S" + (
        frame.groupby("entry_id").cumcount() + 1).astype(str).str.zfill(3)
    return frame.reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# Analysis
# ------------------------------------------------------------------------------------------


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
    from analysis.figures import release_counts_by_row

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


# ------------------------------------------------------------------------------------------
# Gallery of visual items (only those with image consent reach it)
# ------------------------------------------------------------------------------------------


def visual_items(entries: pd.DataFrame, drawings: pd.DataFrame) -> pd.DataFrame:
    """Diary photos/videos and drawings that have an image file: item, kind, consent, image, description."""
    diary = entries.loc[entries["image"].fillna("") != "", ["entry_id", "mode", "consent", "image", "description"]]
    diary = diary.rename(columns={"entry_id": "item", "mode": "kind"})
    drawn = drawings.loc[drawings["image"].fillna("") != "", ["drawing_id", "consent", "image", "description"]]
    drawn = drawn.rename(columns={"drawing_id": "item"}).assign(kind="drawing")
    return pd.concat([diary, drawn], ignore_index=True)[["item", "kind", "consent", "image", "description"]]


def gallery_chart(released: pd.DataFrame, raw_dir: Path, *, title: str, per_row: int = 3) -> alt.TopLevelMixin:
    """A grid of the released images, each captioned with its kind and the team's description.

    ``released`` must come from :func:`analysis.outputs.release_items` with ``use="image"``.
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
        from analysis.figures import message_chart

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
