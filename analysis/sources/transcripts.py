"""Interview transcripts: read, screened for identifiers, checked against the coded text.

Owns the ``transcripts/`` folder of the raw export (or the project's transcripts when coded data
come from a REFI-QDA project): each transcript a coded document names is read in the declared
encoding, screened for identifiers, and every segment's text must be the transcript's text at
its ``start``..``end``. Reads CONTRACTS.md "Raw export folder"; writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.protect import identifiers
from analysis.protect.screening import screen_transcript
from analysis.sources.context import ReadContext
from analysis.sources.declared import decode_bytes

def check_transcripts(ctx: ReadContext, segments: pd.DataFrame, column_names: Mapping) -> dict:
    """Check ``text == transcript[start:end]``; return {document: transcript text}.

    The transcripts are the files of the ``transcripts`` folder, or those held in the REFI-QDA
    project when the coded data come from one.
    """
    if ctx.qdpx is not None:
        texts = {document: ctx.qdpx.transcripts[document]
                 for document in sorted(segments["document"].unique())}
        seen: dict[tuple[str, bool], identifiers.Hit | None] = {}
        for document, text in texts.items():
            screen_transcript(text, f"{ctx.qdpx.file} (transcript {document})", seen)
        check_coded_text(segments, texts, column_names)
        return texts
    spec = ctx.sources.get("transcripts")
    if not spec:
        return {}
    folder = ctx.raw_dir / spec.get("folder", "transcripts")
    encoding = spec.get("encoding", "utf-8")
    texts: dict[str, str] = {}
    seen: dict[tuple[str, bool], identifiers.Hit | None] = {}
    digest = hashlib.sha256()
    for document in sorted(segments["document"].unique()):
        path = folder / f"{document}.txt"
        if not path.is_file():
            first = segments.loc[segments["document"] == document].iloc[0]
            raise DataValidationError(str(first["_file"]), int(first["_row"]),
                                      column_names["document"], "transcript exists",
                                      f"no transcript {path.relative_to(ctx.raw_dir)}")
        data = path.read_bytes()
        digest.update(document.encode() + b"\0" + hashlib.sha256(data).digest())
        shown = str(path.relative_to(ctx.raw_dir))
        texts[document] = decode_bytes(data, encoding, shown, "\t")
        screen_transcript(texts[document], shown, seen)
    check_coded_text(segments, texts, column_names)
    coded_file = str(segments["_file"].iloc[0]) if len(segments) else "segments"
    ctx.inputs[f"{spec.get('folder', 'transcripts')}/ (documents of {coded_file})"] = (
        digest.hexdigest())
    return texts


def check_coded_text(segments: pd.DataFrame, texts: Mapping[str, str],
                     column_names: Mapping) -> None:
    """Raise at the first segment whose text is not ``transcript[start:end]``."""
    for document, start, end, coded, file, row in zip(
            segments["document"], segments["start"], segments["end"], segments["text"],
            segments["_file"], segments["_row"]):
        found = texts[document][int(start):int(end)]
        if found != coded:
            # Free text is not quoted in an error (it may hold what the screening looks for):
            # say where the two texts part, and their lengths.
            coded = str(coded)
            at = next((i for i, (a, b) in enumerate(zip(found, coded)) if a != b),
                      min(len(found), len(coded)))
            raise DataValidationError(
                str(file), int(row), column_names["text"],
                "coded text equals transcript[Start:End]",
                f"{document}[{start}:{end}] ({len(found)} characters) and the coded text "
                f"({len(coded)} characters) differ from character {at} on (text not shown)")
