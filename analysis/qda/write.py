"""Writing REFI-QDA files: a codebook (``.qdc``) and a whole project (``.qdpx``).

Both are built from the study's raw frames (CONTRACTS.md "Raw export folder") and validated
against the shipped REFI-QDA schemas before anything is written. Output is reproducible: GUIDs are
uuid5 of names (:func:`analysis.qda.guids.stable_guid`), no timestamps are written into the XML,
zip entries are sorted and carry a fixed date, so the same frames always give the same bytes.
Files are written to a temporary name and renamed, so a failed write leaves nothing behind.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from analysis.qda.errors import DataValidationError, QdaError, QdaWarning
from analysis.qda.guids import stable_guid
from analysis.qda.mapping import document_role
from analysis.qda.model import CODE_PATH_SEPARATOR, CODEBOOK_COLUMNS, SEGMENT_COLUMNS
from analysis.qda.schema import NS_CODEBOOK, NS_PROJECT, load_schema, serialise

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


def _code_elements(
    rows: list[dict[str, Any]], namespace: str, not_codable: set[str]
) -> etree._Element:
    """Build ``<Codes>`` with nested ``<Code>`` elements from checked codebook rows."""
    codes = etree.Element(f"{{{namespace}}}Codes")
    by_path: dict[str, etree._Element] = {}
    for row in rows:
        path = row["path"]
        parent_path, _, name = path.rpartition(CODE_PATH_SEPARATOR)
        parent = by_path[parent_path] if parent_path else codes
        code = etree.SubElement(parent, f"{{{namespace}}}Code", {
            "guid": stable_guid("code", path), "name": name,
            "isCodable": "false" if (not row["codable"] or path in not_codable) else "true",
        })
        if row["colour"]:
            code.set("color", row["colour"])
        if row["description"]:
            etree.SubElement(code, f"{{{namespace}}}Description").text = row["description"]
        by_path[path] = code
    return codes


def _validated(root: etree._Element, kind: str, what: str) -> bytes:
    """Check *root* against the REFI-QDA schema for *kind*, then serialise it."""
    schema = load_schema("project" if kind == "project" else "codebook")
    if not schema.validate(root):
        entry = schema.error_log[0]
        raise QdaError(what, entry.path, None, "written file does not match the schema",
                       entry.message)
    return serialise(root)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def codebook_qdc_bytes(
    codebook: pd.DataFrame, *, origin: str = DEFAULT_ORIGIN, not_codable: Iterable[str] = ()
) -> bytes:
    """Return a REFI-QDA codebook (``.qdc``) for the raw codebook frame, schema-checked.

    Args:
        codebook: ``Code`` (path joined with ``\\``), ``Description``, ``Colour`` (#RRGGBB).
        origin: the ``origin`` attribute.
        not_codable: code paths to mark ``isCodable="false"`` (others are codable).
    """
    root = etree.Element(f"{{{NS_CODEBOOK}}}CodeBook", nsmap={None: NS_CODEBOOK})
    root.set("origin", origin)
    rows = _check_codebook(codebook, "codebook")
    if not rows:
        raise DataValidationError("codebook", None, "Code", "at least one code",
                                  "a .qdc must hold at least one code")
    root.append(_code_elements(rows, NS_CODEBOOK, set(not_codable)))
    return _validated(root, "codebook", "codebook (.qdc)")


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


def _value(parent: etree._Element, variable: str, kind: str, value: str) -> None:
    """Append a ``<VariableValue>`` for *variable* to *parent*."""
    node = etree.SubElement(parent, f"{{{NS_PROJECT}}}VariableValue")
    etree.SubElement(node, f"{{{NS_PROJECT}}}VariableRef", targetGUID=_VARIABLE_GUIDS[variable])
    etree.SubElement(node, f"{{{NS_PROJECT}}}{kind}Value").text = value


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
    p = f"{{{NS_PROJECT}}}"
    root = etree.Element(f"{p}Project", nsmap={None: NS_PROJECT})
    root.set("name", project_name)
    root.set("origin", origin)
    coders = sorted(set(segments["Coder"]) - {""})
    if coders:
        users = etree.SubElement(root, f"{p}Users")
        for coder in coders:
            etree.SubElement(users, f"{p}User", guid=stable_guid("user", coder), name=coder)
    if code_rows:
        etree.SubElement(root, f"{p}CodeBook").append(_code_elements(code_rows, NS_PROJECT, set()))
    documents = sorted(transcripts)
    roles = {document: document_role(document) for document in documents}
    if documents:
        variables = etree.SubElement(root, f"{p}Variables")
        for variable, kind in _VARIABLES:
            etree.SubElement(variables, f"{p}Variable", guid=stable_guid("variable", variable),
                             name=variable, typeOfVariable=kind)
    women: dict[str, list[str]] = {}
    for document in documents:
        if roles[document] is not None and roles[document][0] == "woman":
            women.setdefault(roles[document][1], []).append(document)
    if women:
        cases = etree.SubElement(root, f"{p}Cases")
        for study_id in sorted(women):
            case = etree.SubElement(cases, f"{p}Case", guid=stable_guid("case", study_id),
                                    name=study_id)
            for document in women[study_id]:
                etree.SubElement(case, f"{p}SourceRef", targetGUID=stable_guid("source", document))
    entries: dict[str, bytes] = {}
    ordered = segments.sort_values(["Document", "Start", "End", "Code", "Coder"], kind="stable")
    rows_by_document: dict[str, list[tuple[int, int, str, str]]] = {}
    for document, start, end, code, coder in ordered[
            ["Document", "Start", "End", "Code", "Coder"]].itertuples(index=False, name=None):
        rows_by_document.setdefault(document, []).append((int(start), int(end), code, coder))
    code_guids = {row["path"]: stable_guid("code", row["path"]) for row in code_rows}
    user_guids = {coder: stable_guid("user", coder) for coder in coders}
    if documents:
        sources = etree.SubElement(root, f"{p}Sources")
    for document in documents:
        source_guid = stable_guid("source", document)
        entries[f"sources/{source_guid}.txt"] = transcripts[document].encode("utf-8")
        source = etree.SubElement(sources, f"{p}TextSource", guid=source_guid, name=document,
                                  plainTextPath=f"internal://{source_guid}.txt")
        for (start, end), group in groupby(rows_by_document.get(document, []),
                                           key=lambda row: (row[0], row[1])):
            selection_rows = list(group)
            selection = etree.SubElement(
                source, f"{p}PlainTextSelection",
                guid=stable_guid("selection", document, start, end),
                name=transcripts[document][start:end], startPosition=str(start),
                endPosition=str(end))
            selection_coders = {coder for *_, coder in selection_rows}
            if len(selection_coders) == 1 and "" not in selection_coders:
                selection.set("creatingUser", user_guids[selection_coders.pop()])
            occurrences: dict[tuple[str, str], int] = {}
            for *_, code, coder in selection_rows:
                occurrence = occurrences.get((code, coder), 0)
                occurrences[(code, coder)] = occurrence + 1
                coding = etree.SubElement(selection, f"{p}Coding", guid=stable_guid(
                    "coding", document, start, end, code, coder, occurrence))
                if coder:
                    coding.set("creatingUser", user_guids[coder])
                etree.SubElement(coding, f"{p}CodeRef", targetGUID=code_guids[code])
        role = roles[document]
        if role is not None:
            _value(source, "role", "Text", role[0])
            if role[0] == "woman":
                _value(source, "study_id", "Text", role[1])
                _value(source, "wave", "Integer", str(role[2]))
    if description:
        etree.SubElement(root, f"{p}Description").text = description
    entries["project.qde"] = _validated(root, "project", "project (.qde)")
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
    :func:`analysis.qda.mapping.make_qda_map` makes one); one ``PlainTextSelection`` per
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
