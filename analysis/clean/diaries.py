"""Women's audio and visual diaries, read in the cleaning stage.

Owns the ``diaries`` and ``diary_segments`` sections of ``sources.yml`` (read through
:func:`analysis.clean.materials.read_materials`):

- the diary register: one row per entry with its mode (audio, photo, video, written), date
  (within the study window), duration or item count, consent (none / quote / image; blank is an
  error; ``image`` only for photo or video entries), transcript (audio) and the team's coded
  description. A diary for a woman who is not recruited is an error. Visual items themselves are
  never read: only metadata and coded description.
- the codings of audio diary transcripts: the interview codings' columns and codebook;
  ``Document`` is the entry id, and each coded text must equal its transcript's
  ``text[start:end]``. With ``qdpx:`` declared and no ``file`` in the section, the codings and
  transcripts come from the REFI-QDA project instead (:mod:`analysis.sources.qda.diaries`);
  every diary source there must name a recruited woman and be an audio entry of the register
  (which holds its consent), and the table is the same.

Writes the ``diary_entries`` and ``diary_segments`` derived tables (CONTRACTS.md); the
analyses of diaries are in :mod:`analysis.analyse.diaries`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from analysis.clean.materials import (
    MaterialsContext, consent_codes, fail, map_values, parse_date, raise_at_first, read_declared,
    require_women, weeks_in_window,
)
from analysis.core.errors import DataValidationError
from analysis.protect.screening import screen_identifiers, screen_transcript
from analysis.sources.contact_logs import LogEntry
from analysis.sources.qda.diaries import (
    DEFAULT_DIARY_PATTERN, project_diary_spec, read_diary_codings,
)
from analysis.sources.qda.errors import QdaError
from analysis.sources.refi_qda import relative_error

MODES: tuple[str, ...] = ("audio", "photo", "video", "written")


VISUAL_MODES: tuple[str, ...] = ("photo", "video")


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
    raise_at_first(frame, bad, columns["consent"], "image consent only for photo or video",
                   lambda i: f"entry {frame.at[i, 'entry_id']} is {frame.at[i, 'mode']}: it has no image "
                             "to show; record consent as quote or none")
    duplicated = frame["entry_id"].duplicated()
    raise_at_first(frame, duplicated, columns["entry_id"], "entry id unique",
                   lambda i: f"entry {frame.at[i, 'entry_id']!r} appears twice")
    formats = (str(spec.get("date_format", "%d/%m/%Y")),)
    frame["entry_date"] = [parse_date(frame, i, v, formats, columns["date"])
                           for i, v in frame["date"].items()]
    frame["week_rel_birth"] = weeks_in_window(frame, frame["entry_date"], mc, columns["date"],
                                              "diary entry")
    for key in ("duration_min", "items"):
        values = frame[key] if key in frame.columns else pd.Series("", index=frame.index)
        numbers = pd.to_numeric(values.replace("", pd.NA), errors="coerce")
        bad = values.ne("") & values.notna() & (numbers.isna() | (numbers < 0))
        raise_at_first(frame, bad, columns.get(key, key), "a whole number of 0 or more",
                       lambda i: f"value {values[i]!r} is not a count")
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

    return LogEntry("clean", str(spec["file"]), rule, rows, action, detail)


DIARY_SEGMENT_COLUMNS: tuple[str, ...] = ("segment_id", "entry_id", "study_id", "site", "week_rel_birth",
                                          "code_id", "theme_id", "text", "start", "end", "coder")


def _read_diary_segments(mc: MaterialsContext, entries: pd.DataFrame) -> pd.DataFrame:
    """The codings of the audio diaries, from their CSV export or from the REFI-QDA project.

    Both forms pass the same rules and give the same table; a broken rule names the CSV file,
    row and column, or the project's ``.qde``, element (``Coding``/``TextSource``) and line.
    """

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
            screen_transcript(texts[document], name, seen)
        return texts[document]

    return text_of


def _diary_segments_from_project(mc: MaterialsContext, entries: pd.DataFrame):
    """Diary codings from the declared REFI-QDA project, every diary source checked first."""

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
        raise relative_error(error, raw) from None
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
    screen_identifiers(segments.assign(_row=segments["_row"]), xml_file, ["Coded text"])
    seen: dict = {}
    for entry, text in data.transcripts.items():
        screen_transcript(text, f"{file} (transcript {entry})", seen)
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
    raise_at_first(frame, ~frame["document"].isin(audio), columns["document"],
                   "document is an audio diary entry",
                   lambda i: f"document {frame.at[i, 'document']!r} is not an audio entry of the "
                             "diary register", where)
    code_ids = mc.codebook.set_index("code")["code_id"]
    frame["code_id"] = frame["code"].map(code_ids)
    raise_at_first(frame, frame["code_id"].isna(), columns["code"], "code in the codebook",
                   lambda i: f"code {frame.at[i, 'code']!r} is not in the codebook", where)
    frame["theme_id"] = frame["code_id"].map(mc.codebook.set_index("code_id")["theme_id"])
    for key in ("start", "end"):
        numbers = pd.to_numeric(frame[key], errors="coerce")
        bad = numbers.isna() | (numbers < 0)
        raise_at_first(frame, bad, columns[key], "a whole number of 0 or more",
                       lambda i: f"value {frame.at[i, key]!r} is not an offset", where)
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
