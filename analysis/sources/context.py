"""What every reader of a raw export folder shares: the folder, its ``sources.yml``, the log.

Owns :class:`ReadContext` (raw folder, declared sources, study-ID pattern, the site and service
lists of ``analysis/config``, the cleaning log being written and the fingerprint of each input
read) and :func:`declared_section`. Reads CONTRACTS.md "Raw export folder" (``sources.yml``);
the log entries become the ``cleaning_log`` derived table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.core.errors import DataValidationError
from analysis.sources.contact_logs import LogEntry

SOURCES_FILE = "sources.yml"


@dataclass
class ProjectData:
    """The codebook, coded segments and transcripts of a raw folder, read from a ``.qdpx``.

    Attributes:
        file: the ``.qdpx`` as declared in ``sources.yml`` (relative to the raw folder); used
            in ``_file`` of its rows and in the cleaning log.
        xml_file: ``file!<entry>.qde``, the XML file that the lines below count in.
        frames: ``codebook``, ``segments`` (women) and ``professional_segments``: the frames
            of the CSV export (strings, plus ``_row``), with ``_row`` the XML line of each
            row's ``<Code>`` or ``<Coding>`` element.
        transcripts: canonical text of each mapped document, by document name.
        source_line_of_coding: XML line of a ``<Coding>`` -> line of its ``<TextSource>``.
    """

    file: str
    xml_file: str
    frames: dict[str, pd.DataFrame]
    transcripts: dict[str, str]
    source_line_of_coding: dict[int, int]


@dataclass
class ReadContext:
    """What the readers of one raw export folder share while the cleaning stage runs."""

    raw_dir: Path
    sources: dict
    id_pattern: str
    sites: pd.DataFrame
    services: pd.DataFrame
    log: list[LogEntry] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    qdpx: ProjectData | None = None

    def record_input(self, file: str) -> None:
        """Remember the sha256 of ``file`` (relative to the raw folder) for the manifest."""
        path = self.raw_dir / file
        if path.is_file():
            self.inputs[file] = hashlib.sha256(path.read_bytes()).hexdigest()


def declared_section(ctx: ReadContext, name: str) -> dict:
    """The section ``name`` of ``sources.yml``; a missing section is a data error."""
    section = ctx.sources.get(name)
    if not isinstance(section, dict):
        raise DataValidationError(SOURCES_FILE, None, name, "section present",
                                  f"sources.yml has no {name!r} section")
    return section
