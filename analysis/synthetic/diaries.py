"""SYNTHETIC diaries and drawings of significant life events, with a few generated images.

Women "will also be invited to record audio and visual diaries and make drawings of significant
life events" (study protocol). This module invents, from its own random stream:

- a diary register (one row per entry: audio, photo, video or written; consent per entry);
- coded transcripts of the audio entries (documents ``<study_id>_D<nn>``, same codebook and
  columns as the interview codings, ``transcript[Start:End] == Coded text``);
- a drawing register (one drawing per woman who made one, consent and the team's coded
  description) and the events she drew (kind, when: a date or an age, valence, her own label);
- a handful of small PNG images, drawn by code and watermarked SYNTHETIC, standing in for
  photographs and drawings (real visual items never enter the repository).

Day numbers are those of the cohort (already shifted), so every date of a woman moves together.
"""

from __future__ import annotations

import io
import zlib
import struct
from dataclasses import dataclass

import numpy as np

from analysis.synthetic.cohort import Woman, date_string
from analysis.synthetic.qualitative import (
    Document, THEMES, _TranscriptBuilder, _conditions, _pick_quote,
)

DIARY_BANNER = "SYNTHETIC AUDIO DIARY TRANSCRIPT - invented for software testing; not a real diary."
MODES = (("audio", 0.4), ("photo", 0.3), ("video", 0.1), ("written", 0.2))
MODE_LABELS = {"audio": "Audio", "photo": "Photo", "video": "Video", "written": "Written"}
CONSENT_LABELS = {"none": "None", "quote": "Quote only", "image": "Image de-identified"}
VISUAL_MODES = ("photo", "video")
MAX_IMAGES = 6
"""How many generated images ship (enough for the gallery code to run)."""

PHOTO_DESCRIPTIONS = (
    "Photo of a cot made up in a tidy bedroom; she says it is ready for the baby.",
    "Photo of a kitchen table with appointment letters spread out.",
    "Photo of a pram by a front door, taken on the first walk out.",
    "Photo of a calendar with clinic days circled.",
    "Photo of a window at night; she describes not sleeping before the conference.",
    "Photo of a baby's hand holding her finger, face not shown.",
)
VIDEO_DESCRIPTIONS = (
    "Short video of a walk to the chemist; she talks about daily pick-up.",
    "Video of a quiet living room; she talks about feeling alone after the birth.",
    "Video of a bus journey to the family centre.",
)
WRITTEN_DESCRIPTIONS = (
    "Two written pages about the weeks before the birth and worry about the assessment.",
    "Written list of services she saw that month, with notes on who helped.",
    "Written entry about starting a new methadone dose and feeling steadier.",
)
DRAWING_DESCRIPTIONS = (
    "Drawn as a winding road with dark and light stretches; the birth drawn as a bridge.",
    "Drawn as a staircase; each step is an event, the steps after the birth go up.",
    "Drawn as a river with rocks; the rocks are meetings and assessments.",
    "Drawn as a row of houses, one for each place she lived.",
)

LIFE_EVENT_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # kind: (label written in the file, her labels, valence weights key)
    "childhood": ("Childhood", ("when I was little", "growing up in care", "school"), "mixed"),
    "loss": ("Loss or bereavement", ("lost my mum", "losing my first one"), "negative"),
    "relationship": ("Relationship", ("met him", "left him", "on my own again"), "mixed"),
    "pregnancy_news": ("Finding out about the pregnancy", ("found out", "the scan"), "mixed"),
    "treatment": ("Starting or changing treatment", ("got on the script", "dose went down"), "positive"),
    "assessment": ("Assessment or conference", ("the big meeting", "the assessment"), "negative"),
    "birth": ("Birth", ("she was born", "he came"), "positive"),
    "baby_home": ("Baby came home", ("bringing her home", "home together"), "positive"),
    "baby_separated": ("Baby separated", ("when they took him", "she went to foster"), "negative"),
    "housing": ("Housing move", ("new flat", "the hostel"), "mixed"),
    "support": ("Support found", ("the group", "my key worker"), "positive"),
}
"""Kinds of life event women drew (code: label, example own labels, usual valence)."""

VALENCE_LABELS = {"positive": "Good", "negative": "Bad", "mixed": "Mixed"}


@dataclass
class DiaryEntry:
    """One diary entry of the register."""

    study_id: str
    entry: str
    day: int
    mode: str
    duration_min: int | None
    items: int | None
    consent: str
    transcript: str
    image: str
    description: str


@dataclass
class Drawing:
    """One drawing of significant life events and the events drawn on it."""

    study_id: str
    drawing: str
    day: int
    consent: str
    image: str
    description: str
    events: list[tuple[int, str, str, str, str]]  # (no, kind label, when, valence label, own label)


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    names = [o[0] for o in options]
    weights = np.array([o[1] for o in options])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def diaries_and_drawings(
    rng: np.random.Generator, women: list[Woman]
) -> tuple[list[DiaryEntry], list[Document], list[Drawing], dict[str, bytes]]:
    """Return (diary entries, audio diary documents, drawings, {image path: PNG bytes})."""
    entries: list[DiaryEntry] = []
    documents: list[Document] = []
    drawings: list[Drawing] = []
    images: dict[str, bytes] = {}
    catalogue = [(theme, sub) for theme in THEMES for sub in theme.subcodes]
    for w in women:
        if not w.consented:
            continue
        end = w.end_day if w.end_day else w.birth_day + 546
        start = max(w.consent_day, w.birth_day - 40 * 7)
        if rng.random() < 0.6 and end - start > 14:
            n = int(rng.integers(1, 5))
            days = sorted(int(d) for d in rng.integers(start, end, size=n))
            for k, day in enumerate(days, start=1):
                mode = _choice(rng, MODES)
                entry = f"{w.study_id}_D{k:02d}"
                consent = _choice(rng, (("none", 0.2), ("quote", 0.45), ("image", 0.35)))
                if mode not in VISUAL_MODES and consent == "image":
                    consent = "quote"
                duration = items = None
                transcript = image = description = ""
                if mode == "audio":
                    duration = int(rng.integers(2, 16))
                    transcript = f"transcripts/{entry}.txt"
                    documents.append(_diary_document(rng, w, entry, day, catalogue))
                    description = "Audio diary; see the coded transcript."
                elif mode == "video":
                    duration = int(rng.integers(1, 6))
                    description = VIDEO_DESCRIPTIONS[int(rng.integers(0, len(VIDEO_DESCRIPTIONS)))]
                elif mode == "photo":
                    items = int(rng.integers(1, 6))
                    description = PHOTO_DESCRIPTIONS[int(rng.integers(0, len(PHOTO_DESCRIPTIONS)))]
                else:
                    items = int(rng.integers(1, 4))
                    description = WRITTEN_DESCRIPTIONS[int(rng.integers(0, len(WRITTEN_DESCRIPTIONS)))]
                if mode in VISUAL_MODES and len(images) < MAX_IMAGES // 2:
                    image = f"visual/SYNTHETIC_{entry}.png"
                    images[image] = synthetic_image(entry, int(rng.integers(0, 1 << 30)))
                entries.append(DiaryEntry(w.study_id, entry, day, mode, duration,
                                          items, consent, transcript, image, description))
        if rng.random() < 0.5:
            drawings.append(_drawing(rng, w, images))
    return entries, documents, drawings, images


def _diary_document(rng: np.random.Generator, w: Woman, entry: str, day: int,
                    catalogue: list) -> Document:
    builder = _TranscriptBuilder([DIARY_BANNER, f"Document: {entry}",
                                  f"Recorded: week {w.week(day):.0f} relative to the birth"])
    holds = _conditions(w)
    picks = rng.choice(len(catalogue), size=int(rng.integers(1, 4)), replace=False)
    for index in sorted(int(i) for i in picks):
        theme, sub = catalogue[index]
        quote = _pick_quote(rng, sub, holds)
        builder.coded_line("", "", quote, "", f"{theme.name}\\{sub.name}")
        builder.line("")
    return Document(name=entry, text=builder.text(), codings=builder.codings, coder="RA")


HOME_PLACEMENTS = ("with_mother", "mother_baby_placement")
"""Placements in which the baby lives with her (a "baby came home" event is one of these starting)."""
APART_PLACEMENTS = ("kinship_care", "foster_care", "adoption")
"""Placements in which the baby lives apart from her (a "baby separated" event starts one)."""


def _drawing(rng: np.random.Generator, w: Woman, images: dict[str, bytes]) -> Drawing:
    """One drawing, its events consistent with her key events and the baby's placements.

    A woman draws only what had happened by the day she drew: nothing dated after it; the baby
    "came home" only on a day a placement with her began (discharge home or to a mother-and-baby
    placement, or a return), "separated" only on a day a placement apart from her began. A drawn
    kind that did not happen to her becomes its counterpart if that did (and she has not drawn
    it already), else it is left out. The random draws are those of every drawing (whatever
    kinds are kept), so the rest of the synthetic study does not move when a drawing changes.
    """
    name = f"{w.study_id}_DR1"
    drawn_day = w.wave_day.get(2) or w.wave_day.get(1) or w.consent_day
    kinds = list(LIFE_EVENT_KINDS)
    picks = sorted(int(i) for i in rng.choice(len(kinds), size=int(rng.integers(3, 7)), replace=False))
    picked = {kinds[i] for i in picks}
    starts = {"baby_home": _first_start(w, HOME_PLACEMENTS, drawn_day),
              "baby_separated": _first_start(w, APART_PLACEMENTS, drawn_day)}
    counterpart = {"baby_home": "baby_separated", "baby_separated": "baby_home"}
    events: list[tuple[int, str, str, str, str]] = []
    for index in picks:
        kind = kinds[index]
        day, age, monthly = _when(rng, w, kind, drawn_day)
        drew_valence = rng.random()
        drew_label = int(rng.integers(0, len(LIFE_EVENT_KINDS[kind][1])))
        if kind in starts:
            if starts[kind] is None:
                other = counterpart[kind]
                if starts[other] is None or other in picked:
                    continue
                kind = other
                picked.add(kind)
            day, monthly = starts[kind], False  # her baby's move is remembered to the day
        elif day is not None and day > drawn_day:
            continue  # not yet happened when she drew
        label, own, usual = LIFE_EVENT_KINDS[kind]
        valence = usual if drew_valence < 0.75 else ("mixed" if usual != "mixed" else "positive")
        if kind == "baby_separated":
            own = own if w.placement_on(day) == "foster_care" else own[:1]
        when = f"age {age}" if day is None else date_string(day, "%m/%Y" if monthly else "%d/%m/%Y")
        events.append((len(events) + 1, label, when, VALENCE_LABELS[valence], own[drew_label % len(own)]))
    consent = _choice(rng, (("none", 0.15), ("quote", 0.45), ("image", 0.4)))
    image = ""
    if consent == "image" and len(images) < MAX_IMAGES:
        image = f"visual/SYNTHETIC_{name}.png"
        images[image] = synthetic_image(name, int(rng.integers(0, 1 << 30)))
    description = DRAWING_DESCRIPTIONS[int(rng.integers(0, len(DRAWING_DESCRIPTIONS)))]
    return Drawing(w.study_id, name, drawn_day, consent, image, description, events)


def _first_start(w: Woman, placements: tuple[str, ...], by_day: int) -> int | None:
    """The first day, up to *by_day*, on which one of *placements* began (None if none did)."""
    days = [start for start, placement in w.placements if placement in placements and start <= by_day]
    return min(days) if days else None


def _when(rng: np.random.Generator, w: Woman, kind: str, drawn_day: int) -> tuple[int | None, int | None, bool]:
    """(day, age, month only): an age for events before the pregnancy, else a (shifted) day."""
    if kind in ("childhood", "loss", "relationship"):
        return None, int(rng.integers(6, 19)) if kind == "childhood" else int(rng.integers(16, 30)), False
    low = w.birth_day - 36 * 7
    if kind in ("birth", "baby_home", "baby_separated", "support"):
        low = w.birth_day
    high = max(low + 1, min(drawn_day, w.birth_day + 70 * 7))
    if kind == "birth":
        day = w.birth_day
    elif kind == "pregnancy_news":
        day = w.birth_day - int(rng.integers(28, 34)) * 7
    else:
        day = int(rng.integers(low, high + 1))
    return day, None, rng.random() < 0.4


def diary_register_rows(entries: list[DiaryEntry]) -> list[list[object]]:
    """Rows of the diary register CSV (see :data:`DIARY_HEADER`)."""
    return [[e.study_id, e.entry, date_string(e.day, "%d/%m/%Y"), MODE_LABELS[e.mode],
             "" if e.duration_min is None else e.duration_min, "" if e.items is None else e.items,
             CONSENT_LABELS[e.consent], e.transcript, e.image, e.description] for e in entries]


DIARY_HEADER = ["Study ID", "Entry", "Date", "Mode", "Duration (min)", "Items", "Consent",
                "Transcript", "Image", "Coded description"]
DRAWING_HEADER = ["Study ID", "Drawing", "Date drawn", "Consent", "Image", "Coded description"]
DRAWING_EVENT_HEADER = ["Drawing", "Event", "Kind", "When", "Valence", "Her label"]


def drawing_rows(drawings: list[Drawing]) -> list[list[object]]:
    """Rows of the drawing register CSV."""
    return [[d.study_id, d.drawing, date_string(d.day, "%d/%m/%Y"), CONSENT_LABELS[d.consent],
             d.image, d.description] for d in drawings]


def drawing_event_rows(drawings: list[Drawing]) -> list[list[object]]:
    """Rows of the drawn life events CSV."""
    return [[d.drawing, number, kind, when, valence, own]
            for d in drawings for number, kind, when, valence, own in d.events]


# ------------------------------------------------------------------------------------------
# Small deterministic PNG images (no imaging library needed: zlib + struct)
# ------------------------------------------------------------------------------------------

_GLYPHS = {  # 5x7 bitmap font for the watermark
    "S": ("01111", "10000", "10000", "01110", "00001", "00001", "11110"),
    "Y": ("10001", "10001", "01010", "00100", "00100", "00100", "00100"),
    "N": ("10001", "11001", "10101", "10011", "10001", "10001", "10001"),
    "T": ("11111", "00100", "00100", "00100", "00100", "00100", "00100"),
    "H": ("10001", "10001", "10001", "11111", "10001", "10001", "10001"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "I": ("11111", "00100", "00100", "00100", "00100", "00100", "11111"),
    "C": ("01111", "10000", "10000", "10000", "10000", "10000", "01111"),
}
WATERMARK = "SYNTHETIC"


def synthetic_image(name: str, seed: int, width: int = 160, height: int = 120) -> bytes:
    """A small abstract PNG (soft shapes in the project's palette) watermarked SYNTHETIC."""
    rng = np.random.Generator(np.random.PCG64(seed))
    colours = np.array([(18, 67, 109), (40, 161, 151), (244, 115, 33), (128, 22, 80),
                        (238, 238, 238)], dtype=np.uint8)
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = colours[4]
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(4):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        r = rng.integers(15, 45)
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[mask] = colours[int(rng.integers(0, 4))]
    # White band with the watermark, scaled x2, across the middle.
    band_top = height // 2 - 10
    img[band_top:band_top + 20, :] = 255
    scale, x0 = 2, (width - len(WATERMARK) * 6 * 2) // 2
    for i, letter in enumerate(WATERMARK):
        for row, bits in enumerate(_GLYPHS[letter]):
            for col, bit in enumerate(bits):
                if bit == "1":
                    y, x = band_top + 3 + row * scale, x0 + (i * 6 + col) * scale
                    img[y:y + scale, x:x + scale] = (0, 0, 0)
    return _png(img)


def _png(img: np.ndarray) -> bytes:
    height, width, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
    out.write(chunk(b"tEXt", b"Comment\x00SYNTHETIC image - not a real participant's item"))
    out.write(chunk(b"IDAT", zlib.compress(raw, 9)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()
