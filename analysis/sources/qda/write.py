"""Writing REFI-QDA files: a codebook (``.qdc``) and a whole project (``.qdpx``).

Both are built from the study's raw frames (CONTRACTS.md "Raw export folder") and validated
against the shipped REFI-QDA schemas before anything is written. Output is reproducible: GUIDs are
uuid5 of names (:func:`analysis.sources.qda.guids.stable_guid`), no timestamps are written into the XML,
zip entries are sorted and carry a fixed date, so the same frames always give the same bytes.
Files are written to a temporary name and renamed, so a failed write leaves nothing behind.
"""

from __future__ import annotations

import math
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from analysis.core import atomic
from analysis.sources.qda.errors import DataValidationError, QdaError, QdaWarning
from analysis.sources.qda.guids import stable_guid
from analysis.sources.qda.mapping import document_role
from analysis.sources.qda.model import CODEBOOK_COLUMNS, CODE_PATH_SEPARATOR, SEGMENT_COLUMNS
from analysis.sources.qda.schema import (
    DocumentKind, NS_CODEBOOK, NS_PROJECT, load_schema, parse_xml,
)


DEFAULT_ORIGIN = "Stepping Stones synthetic generator"
"""``origin`` attribute written by default (the exporting tool, as REFI-QDA asks)."""

DEFAULT_PROJECT_NAME = "Stepping Stones (SYNTHETIC)"
DEFAULT_DESCRIPTION = (
    "SYNTHETIC data: invented transcripts and codings made by the Stepping Stones synthetic "
    "generator to test the analysis pipeline. Not real participants."
)

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
"""Fixed modification time of every zip entry (the earliest a zip can hold)."""

_COLOUR = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")


def _blank(value: Any) -> bool:
    """Whether a cell is missing or an empty string."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == "" \
        or value is pd.NA


def _check_codebook(codebook: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    """Check the raw codebook frame and return its rows, adding any missing parent codes."""
    missing = [c for c in CODEBOOK_COLUMNS if c not in codebook.columns]
    if missing:
        raise DataValidationError(name, None, missing[0], "required column",
                                  f"the codebook needs columns {CODEBOOK_COLUMNS}")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, record in enumerate(codebook[CODEBOOK_COLUMNS].to_dict("records")):
        index = position + 2  # row as in the CSV form (header is row 1)
        path = record["Code"]
        if not isinstance(path, str) or not path or any(
                not part for part in path.split(CODE_PATH_SEPARATOR)):
            raise DataValidationError(name, index, "Code", "code path",
                                      f"{path!r} is not a non-empty path joined with '\\'")
        if path in seen:
            raise DataValidationError(name, index, "Code", "unique", f"{path!r} appears twice")
        colour = None if _blank(record["Colour"]) else str(record["Colour"]).strip()
        if colour is not None and not _COLOUR.match(colour):
            raise DataValidationError(name, index, "Colour", "#RRGGBB",
                                      f"{colour!r} is not a colour like #12436D")
        description = None if _blank(record["Description"]) else str(record["Description"])
        parts = path.split(CODE_PATH_SEPARATOR)
        for depth in range(1, len(parts)):
            parent = CODE_PATH_SEPARATOR.join(parts[:depth])
            if parent not in seen:
                warnings.warn(f"{name}: parent code {parent!r} of {path!r} is not listed; "
                              "written as a non-codable code", QdaWarning, stacklevel=3)
                seen.add(parent)
                rows.append({"path": parent, "description": None, "colour": None,
                             "codable": False})
        seen.add(path)
        rows.append({"path": path, "description": description, "colour": colour,
                     "codable": True})
    return rows


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters other than tab and line ends)."""
    return _NOT_XML.sub("", text)


def _attributes(**attributes: str | None) -> str:
    """Render attributes in the given order (``None`` left out), quoted and escaped."""
    return "".join(f" {key}={quoteattr(_xml_safe(value))}"
                   for key, value in attributes.items() if value is not None)


def _text(text: str) -> str:
    """Escape element text (``\r`` kept as a character reference so parsers keep it)."""
    return escape(_xml_safe(text), {"\r": "&#13;"})


def _code_lines(rows: list[dict[str, Any]], not_codable: set[str], depth: int) -> list[str]:
    """Render checked codebook rows as nested ``<Code>`` lines (children under their parent)."""
    children: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["path"].rpartition(CODE_PATH_SEPARATOR)[0], []).append(row)
    lines: list[str] = []

    def emit(row: dict[str, Any], level: int) -> None:
        path = row["path"]
        pad = "  " * level
        attributes = _attributes(
            guid=stable_guid("code", path), name=path.rpartition(CODE_PATH_SEPARATOR)[2],
            isCodable="false" if (not row["codable"] or path in not_codable) else "true",
            color=row["colour"] or None)
        kids = children.get(path, [])
        if not kids and not row["description"]:
            lines.append(f"{pad}<Code{attributes}/>")
            return
        lines.append(f"{pad}<Code{attributes}>")
        if row["description"]:
            lines.append(f"{pad}  <Description>{_text(row['description'])}</Description>")
        for kid in kids:
            emit(kid, level + 1)
        lines.append(f"{pad}</Code>")

    for row in children.get("", []):
        emit(row, depth)
    return lines


def _validated(lines: list[str], kind: DocumentKind, what: str) -> bytes:
    """Join XML *lines*, parse them and check them against the REFI-QDA schema for *kind*."""
    data = "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', *lines, ""]).encode("utf-8")
    root = parse_xml(data, what)
    schema = load_schema(kind)
    if not schema.validate(root):
        entry = schema.error_log[0]
        raise QdaError(what, None, entry.line, "written file does not match the schema",
                       entry.message)
    return data


def _atomic_write(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a temporary file in the same folder."""
    atomic.write_bytes(path, data)


def codebook_qdc_bytes(
    codebook: pd.DataFrame, *, origin: str = DEFAULT_ORIGIN, not_codable: Iterable[str] = ()
) -> bytes:
    """Return a REFI-QDA codebook (``.qdc``) for the raw codebook frame, schema-checked.

    Args:
        codebook: ``Code`` (path joined with ``\\``), ``Description``, ``Colour`` (#RRGGBB).
        origin: the ``origin`` attribute.
        not_codable: code paths to mark ``isCodable="false"`` (others are codable).
    """
    rows = _check_codebook(codebook, "codebook")
    if not rows:
        raise DataValidationError("codebook", None, "Code", "at least one code",
                                  "a .qdc must hold at least one code")
    lines = [f"<CodeBook{_attributes(xmlns=NS_CODEBOOK, origin=origin)}>", "  <Codes>",
             *_code_lines(rows, set(not_codable), 2), "  </Codes>", "</CodeBook>"]
    return _validated(lines, "codebook", "codebook (.qdc)")


def write_qdc(
    codebook: pd.DataFrame, path: str | Path, *, origin: str = DEFAULT_ORIGIN,
    not_codable: Iterable[str] = (),
) -> None:
    """Write the raw codebook frame as a REFI-QDA ``.qdc`` that validates against Codebook.xsd.

    See :func:`codebook_qdc_bytes` for the arguments.
    """
    _atomic_write(Path(path), codebook_qdc_bytes(codebook, origin=origin,
                                                 not_codable=not_codable))


def _check_segments(
    frames: Sequence[pd.DataFrame], transcripts: Mapping[str, str], codes: set[str]
) -> pd.DataFrame:
    """Concatenate and check segment frames against the transcripts and the codebook."""
    checked = []
    for number, frame in enumerate(frames):
        name = f"segments frame {number} (rows counted as in its CSV form)"
        missing = [c for c in SEGMENT_COLUMNS if c not in frame.columns]
        if missing:
            raise DataValidationError(name, None, missing[0], "required column",
                                      f"segment frames need columns {SEGMENT_COLUMNS}")
        for position, row in enumerate(frame[SEGMENT_COLUMNS].itertuples(index=False, name=None)):
            index = position + 2  # row as in the CSV form (header is row 1)
            document, code, start, end, text, _ = row
            if document not in transcripts:
                raise DataValidationError(name, index, "Document", "document has a transcript",
                                          f"no transcript for {document!r}")
            if code not in codes:
                raise DataValidationError(name, index, "Code", "code in codebook",
                                          f"{code!r} is not in the codebook")
            if not 0 <= int(start) < int(end) <= len(transcripts[document]):
                raise DataValidationError(name, index, "Start", "offsets inside the text",
                                          f"{start}..{end} outside {document!r}")
            if transcripts[document][int(start):int(end)] != text:
                raise DataValidationError(name, index, "Coded text", "text[Start:End]",
                                          f"coded text differs from {document!r}[{start}:{end}]")
        checked.append(frame[SEGMENT_COLUMNS])
    if not checked:
        return pd.DataFrame(columns=SEGMENT_COLUMNS)
    segments = pd.concat(checked, ignore_index=True)
    segments["Coder"] = segments["Coder"].map(lambda v: "" if _blank(v) else str(v))
    segments["Start"] = segments["Start"].astype("int64")
    segments["End"] = segments["End"].astype("int64")
    return segments


_VARIABLES = (("role", "Text"), ("study_id", "Text"), ("wave", "Integer"))


_VARIABLE_GUIDS = {variable: stable_guid("variable", variable) for variable, _ in _VARIABLES}


def _value_lines(variable: str, kind: str, value: str, pad: str) -> list[str]:
    """Render a ``<VariableValue>`` of *variable*."""
    return [f"{pad}<VariableValue>",
            f'{pad}  <VariableRef targetGUID="{_VARIABLE_GUIDS[variable]}"/>',
            f"{pad}  <{kind}Value>{_text(value)}</{kind}Value>",
            f"{pad}</VariableValue>"]


def _selection_lines(
    document: str, text: str, rows: list[tuple[int, int, str, str]],
    code_guids: Mapping[str, str], user_guids: Mapping[str, str],
) -> list[str]:
    """Render one source's selections: one per (Start, End), a Coding per segment row."""
    lines: list[str] = []
    for (start, end), group in groupby(rows, key=lambda row: (row[0], row[1])):
        selection_rows = list(group)
        coders = {coder for *_, coder in selection_rows}
        shared = user_guids[next(iter(coders))] if len(coders) == 1 and "" not in coders \
            else None
        lines.append("      <PlainTextSelection" + _attributes(
            guid=stable_guid("selection", document, start, end), name=text[start:end],
            startPosition=str(start), endPosition=str(end), creatingUser=shared) + ">")
        occurrences: dict[tuple[str, str], int] = {}
        for *_, code, coder in selection_rows:
            occurrence = occurrences.get((code, coder), 0)
            occurrences[(code, coder)] = occurrence + 1
            coding = _attributes(
                guid=stable_guid("coding", document, start, end, code, coder, occurrence),
                creatingUser=user_guids[coder] if coder else None)
            lines += [f"        <Coding{coding}>",
                      f'          <CodeRef targetGUID="{code_guids[code]}"/>',
                      "        </Coding>"]
        lines.append("      </PlainTextSelection>")
    return lines


def project_qdpx_entries(
    codebook: pd.DataFrame,
    segments_frames: pd.DataFrame | Sequence[pd.DataFrame],
    transcripts: Mapping[str, str],
    *,
    project_name: str = DEFAULT_PROJECT_NAME,
    origin: str = DEFAULT_ORIGIN,
    description: str | None = DEFAULT_DESCRIPTION,
) -> dict[str, bytes]:
    """Return the entries of a ``.qdpx`` (``project.qde`` and ``sources/*.txt``) as bytes.

    See :func:`write_qdpx` for the arguments; the ``.qde`` is validated against Project.xsd.
    """
    frames = [segments_frames] if isinstance(segments_frames, pd.DataFrame) else \
        list(segments_frames)
    code_rows = _check_codebook(codebook, "codebook")
    segments = _check_segments(frames, transcripts, {row["path"] for row in code_rows})
    lines = [f"<Project{_attributes(xmlns=NS_PROJECT, name=project_name, origin=origin)}>"]
    coders = sorted(set(segments["Coder"]) - {""})
    user_guids = {coder: stable_guid("user", coder) for coder in coders}
    if coders:
        lines += ["  <Users>",
                  *(f"    <User{_attributes(guid=user_guids[c], name=c)}/>" for c in coders),
                  "  </Users>"]
    if code_rows:
        lines += ["  <CodeBook>", "    <Codes>", *_code_lines(code_rows, set(), 3),
                  "    </Codes>", "  </CodeBook>"]
    documents = sorted(transcripts)
    roles = {document: document_role(document) for document in documents}
    if documents:
        lines += ["  <Variables>", *(
            f"    <Variable{_attributes(guid=_VARIABLE_GUIDS[v], name=v, typeOfVariable=k)}/>"
            for v, k in _VARIABLES), "  </Variables>"]
    women: dict[str, list[str]] = {}
    for document in documents:
        role = roles[document]
        if role is not None and role[0] == "woman":
            women.setdefault(role[1], []).append(document)
    if women:
        lines.append("  <Cases>")
        for study_id in sorted(women):
            case = _attributes(guid=stable_guid("case", study_id), name=study_id)
            lines.append(f"    <Case{case}>")
            lines += [f'      <SourceRef targetGUID="{stable_guid("source", document)}"/>'
                      for document in women[study_id]]
            lines.append("    </Case>")
        lines.append("  </Cases>")
    ordered = segments.sort_values(["Document", "Start", "End", "Code", "Coder"], kind="stable")
    rows_by_document: dict[str, list[tuple[int, int, str, str]]] = {}
    for document, start, end, code, coder in ordered[
            ["Document", "Start", "End", "Code", "Coder"]].itertuples(index=False, name=None):
        rows_by_document.setdefault(document, []).append((int(start), int(end), code, coder))
    code_guids = {row["path"]: stable_guid("code", row["path"]) for row in code_rows}
    entries: dict[str, bytes] = {}
    if documents:
        lines.append("  <Sources>")
    for document in documents:
        source_guid = stable_guid("source", document)
        entries[f"sources/{source_guid}.txt"] = transcripts[document].encode("utf-8")
        lines.append("    <TextSource" + _attributes(
            guid=source_guid, name=document, plainTextPath=f"internal://{source_guid}.txt") + ">")
        lines += _selection_lines(document, transcripts[document],
                                  rows_by_document.get(document, []), code_guids, user_guids)
        role = roles[document]
        if role is not None:
            lines += _value_lines("role", "Text", role[0], "      ")
            if role[0] == "woman":
                lines += _value_lines("study_id", "Text", role[1], "      ")
                lines += _value_lines("wave", "Integer", str(role[2]), "      ")
        lines.append("    </TextSource>")
    if documents:
        lines.append("  </Sources>")
    if description:
        lines.append(f"  <Description>{_text(description)}</Description>")
    lines.append("</Project>")
    entries["project.qde"] = _validated(lines, "project", "project (.qde)")
    return entries


def qdpx_bytes(entries: Mapping[str, bytes]) -> bytes:
    """Zip *entries* reproducibly: sorted names, fixed dates and permissions, deflate level 6."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name], compresslevel=6)
    return buffer.getvalue()


def write_qdpx(
    codebook_df: pd.DataFrame,
    segments_frames: pd.DataFrame | Sequence[pd.DataFrame],
    transcripts: Mapping[str, str],
    path: str | Path,
    *,
    project_name: str = DEFAULT_PROJECT_NAME,
    origin: str = DEFAULT_ORIGIN,
    description: str | None = DEFAULT_DESCRIPTION,
) -> None:
    """Write the study's coded data as a REFI-QDA project (``.qdpx``), byte-for-byte reproducible.

    The project holds: the codebook (nested codes, descriptions, colours); one user per coder;
    one text source per transcript, stored as ``sources/<guid>.txt`` (UTF-8) and named by its
    document (so no ``qda_map.csv`` is needed to read it back, though
    :func:`analysis.sources.qda.mapping.make_qda_map` makes one); one ``PlainTextSelection`` per
    (document, Start, End) with a ``Coding`` per segment row, the selected text as the selection's
    ``name``; the variables ``role``, ``study_id``, ``wave`` on each source and a case per woman.
    ``read_coded_data(path)`` gives back the same frames.

    Args:
        codebook_df: raw codebook frame: ``Code`` (path joined with ``\\``), ``Description``,
            ``Colour`` (#RRGGBB). Missing parent codes are added (with a warning).
        segments_frames: one frame or several (e.g. women's and professionals'), each with
            ``Document, Code, Start, End, Coded text, Coder`` (code-point offsets, end-exclusive;
            ``transcripts[Document][Start:End] == Coded text`` must hold).
        transcripts: full text of every document, by document name (all become sources, coded
            or not).
        path: the ``.qdpx`` to write (parent folders are created; written atomically).
        project_name: the project's ``name``.
        origin: the project's ``origin`` (the exporting tool).
        description: the project's ``Description`` (by default says the data are SYNTHETIC);
            ``None`` to leave it out.

    Raises:
        DataValidationError: for a bad frame (missing column, unknown code or document, offsets
            outside the text, coded text not matching the transcript).
    """
    entries = project_qdpx_entries(codebook_df, segments_frames, transcripts,
                                   project_name=project_name, origin=origin,
                                   description=description)
    _atomic_write(Path(path), qdpx_bytes(entries))
