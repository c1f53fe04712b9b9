"""Coded segments -> the ``segments`` and ``professional_segments`` derived tables (CONTRACTS.md).

Owns numbering each document's segments (``<document>-S001``) and naming the speaker of each
professional segment (the document's only professional, or the one whose ID opens the
transcript line, for focus groups).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from analysis.sources.contact_logs import LogEntry
from analysis.sources.context import ReadContext

def number_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Sort each document's segments by position and number them ``<document>-S001``, ..."""
    segments = segments.sort_values(["document", "start", "end", "code_id", "_row"],
                                    kind="mergesort").reset_index(drop=True)
    number = segments.groupby("document").cumcount() + 1
    segments["segment_id"] = segments["document"] + "-S" + number.astype(str).str.zfill(3)
    return segments


def attribute_speakers(ctx: ReadContext, segments: pd.DataFrame, professionals: pd.DataFrame,
                       texts: Mapping[str, str]) -> pd.DataFrame:
    """Name each professional segment's speaker: the document's only professional, or the
    professional whose ID opens the transcript line holding the segment (focus groups)."""
    members = professionals.groupby("document")["prof_id"].apply(list).to_dict()
    site_of = professionals.drop_duplicates("document").set_index("document")["site"]
    pattern = (ctx.sources.get("transcripts") or {}).get("speaker_pattern")
    speakers = []
    unattributed = 0
    for document, start in zip(segments["document"], segments["start"]):
        people = members.get(document, [])
        speaker = people[0] if len(people) == 1 else None
        text = texts.get(document)
        if speaker is None and text is not None and pattern:
            line_start = text.rfind("\n", 0, int(start)) + 1
            match = re.match(pattern, text[line_start:])
            if match and match.group("speaker") in people:
                speaker = match.group("speaker")
        unattributed += speaker is None
        speakers.append(speaker)
    segments = segments.copy()
    segments["prof_id"] = speakers
    segments["site"] = segments["document"].map(site_of)
    if unattributed:
        ctx.log.append(LogEntry("derive", str(segments["_file"].iloc[0]),
                                "segment speaker not identifiable", unattributed,
                                "prof_id left blank"))
    return segments
