"""Reading REFI-QDA projects (``.qdpx``, bare ``.qde``) and codebooks (``.qdc``).

:func:`read_project` validates the XML against the REFI-QDA schema, tolerates the known
deviations of real exports (with a :class:`~analysis.sources.qda.errors.QdaWarning` each) and returns a
:class:`~analysis.sources.qda.model.QdaProject`: codes with their paths, descriptions and colours; users;
text sources with canonical text; codings (selections and whole-document codings) with canonical
offsets and coder names; cases and variables; memos. :func:`read_coded_data` goes one step
further and returns the study's raw frames (see :mod:`analysis.sources.qda.mapping`).

Bad input raises :class:`~analysis.sources.qda.errors.QdaError` naming file, element and line: a file that
is not a zip, a missing ``.qde``, broken XML, a schema violation, a reference to an unknown code,
source, variable or selection, a selection outside its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from lxml import etree

from analysis.sources.qda.archive import QdpxArchive, open_qdpx
from analysis.sources.qda.errors import DeviationLog, QdaError
from analysis.sources.qda.guids import normalise_guid
from analysis.sources.qda.mapping import to_raw_frames
from analysis.sources.qda.model import (
    CASES_COLUMNS, CASE_SOURCES_COLUMNS, CODES_COLUMNS, CODE_PATH_SEPARATOR, CODINGS_COLUMNS,
    MEMOS_COLUMNS, QdaProject, RawCodedData, SOURCES_COLUMNS, USERS_COLUMNS,
    VARIABLE_VALUES_COLUMNS, codebook_frame,
)
from analysis.sources.qda.positions import PositionMap, STANDARD, SourceText, detect_convention
from analysis.sources.qda.schema import DocumentKind, local_name, parse_xml, qname, validate

_VALUE_ELEMENTS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue",
                   "DateTimeValue")
_NON_TEXT_SOURCES = ("PictureSource", "PDFSource", "AudioSource", "VideoSource")


@dataclass
class _Context:
    """State shared while reading one document."""

    file: str
    kind: DocumentKind
    log: DeviationLog
    archive: QdpxArchive | None = None
    users: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    selections: dict[str, str] = field(default_factory=dict)
    note_refs: list[dict[str, Any]] = field(default_factory=list)

    def q(self, local: str) -> str:
        """Clark name of *local* in this document's namespace."""
        return qname(self.kind, local)

    def error(self, element: etree._Element | None, rule: str, message: str) -> QdaError:
        """Build a :class:`QdaError` for *element* of this document."""
        if element is None:
            return QdaError(self.file, None, None, rule, message)
        return QdaError(self.file, local_name(element), element.sourceline, rule, message)

    def guid(self, element: etree._Element, attribute: str = "guid") -> str | None:
        """Return the normalised GUID in *attribute* of *element* (``None`` if absent)."""
        value = element.get(attribute)
        return normalise_guid(value) if value is not None else None

    def required_guid(self, element: etree._Element) -> str:
        """Return the element's normalised ``guid`` (an error if missing, e.g. in lenient mode)."""
        value = self.guid(element)
        if not value:
            raise self.error(element, "guid required", "the element has no guid attribute")
        return value

    def integer(self, element: etree._Element, attribute: str) -> int:
        """Return an integer attribute (an error if missing or not an integer)."""
        value = element.get(attribute, "")
        try:
            return int(value)
        except ValueError:
            raise self.error(element, f"{attribute} is an integer",
                             f"{attribute}={value!r} is not an integer") from None

    def user_name(self, guid: str | None) -> str:
        """Return the user name for a creatingUser GUID ('' if none; the GUID if unknown)."""
        if guid is None:
            return ""
        if guid not in self.users:
            self.log.note(f"creatingUser {guid!r} is not among <Users>; the GUID is used as coder")
            return guid
        return self.users[guid]

    def text_of(self, element: etree._Element, child: str) -> str | None:
        """Return the text of *element*'s child *child*, or ``None`` when there is no such child."""
        found = element.find(self.q(child))
        return None if found is None else (found.text or "")


def _read_users(root: etree._Element, ctx: _Context) -> pd.DataFrame:
    rows = []
    for user in root.iterfind(f"{ctx.q('Users')}/{ctx.q('User')}"):
        guid = ctx.required_guid(user)
        if guid in ctx.users:
            raise ctx.error(user, "duplicate GUID", f"user GUID {guid} appears twice")
        name = user.get("name") or user.get("id") or guid
        ctx.users[guid] = name
        rows.append({"guid": guid, "name": name})
    return pd.DataFrame(rows, columns=USERS_COLUMNS)


def _read_codes(parent: etree._Element, ctx: _Context) -> pd.DataFrame:
    """Walk the code tree depth-first (parents before children, document order)."""
    rows: list[dict[str, Any]] = []
    paths: dict[str, int] = {}

    def walk(element: etree._Element, parent_guid: str | None, prefix: str, level: int) -> None:
        guid = ctx.required_guid(element)
        if guid in ctx.codes:
            raise ctx.error(element, "duplicate GUID", f"code GUID {guid} appears twice")
        name = element.get("name", "")
        if CODE_PATH_SEPARATOR in name:
            ctx.log.note(
                f"code name {name!r} (line {element.sourceline}) contains the path separator "
                f"{CODE_PATH_SEPARATOR!r}; it is replaced by '/'"
            )
            name = name.replace(CODE_PATH_SEPARATOR, "/")
        path = f"{prefix}{CODE_PATH_SEPARATOR}{name}" if prefix else name
        if path in paths:
            raise ctx.error(
                element, "duplicate code path",
                f"two codes have the path {path!r} (lines {paths[path]} and {element.sourceline})",
            )
        paths[path] = element.sourceline
        ctx.codes[guid] = path
        colour = (element.get("color") or "").strip()
        if len(colour) == 4:  # '#abc' -> '#aabbcc'
            colour = "#" + "".join(ch * 2 for ch in colour[1:])
        rows.append({
            "guid": guid, "code": path, "name": name, "parent_guid": parent_guid, "level": level,
            "is_codable": element.get("isCodable", "true").strip() in ("true", "1"),
            "description": ctx.text_of(element, "Description") or "", "colour": colour,
            "line": element.sourceline,
        })
        for note_ref in element.iterfind(ctx.q("NoteRef")):
            ctx.note_refs.append({"element": note_ref, "target_kind": "code", "target_guid": guid,
                                  "code": path})
        for child in element.iterfind(ctx.q("Code")):
            walk(child, guid, path, level + 1)

    codes = parent.find(ctx.q("Codes")) if parent is not None else None
    if codes is not None:
        for code in codes.iterfind(ctx.q("Code")):
            walk(code, None, "", 1)
    frame = pd.DataFrame(rows, columns=CODES_COLUMNS)
    return frame.astype({"level": "int64", "line": "int64", "is_codable": "bool"})


def _read_variables(root: etree._Element, ctx: _Context) -> None:
    for variable in root.iterfind(f"{ctx.q('Variables')}/{ctx.q('Variable')}"):
        guid = ctx.required_guid(variable)
        ctx.variables[guid] = (variable.get("name", ""), variable.get("typeOfVariable", ""))


def _variable_values(
    owner: etree._Element, owner_guid: str, owner_name: str, ctx: _Context
) -> list[dict[str, Any]]:
    rows = []
    for value in owner.iterfind(ctx.q("VariableValue")):
        ref = value.find(ctx.q("VariableRef"))
        target = ctx.guid(ref, "targetGUID") if ref is not None else None
        if target not in ctx.variables:
            raise ctx.error(ref if ref is not None else value, "unknown variable",
                            f"VariableRef points to {target!r}, which is not among <Variables>")
        name, declared = ctx.variables[target]
        content = next((child for child in value if isinstance(child.tag, str)
                        and local_name(child) in _VALUE_ELEMENTS), None)
        rows.append({
            "owner_guid": owner_guid, "owner_name": owner_name, "variable": name,
            "type": declared, "value": None if content is None else (content.text or ""),
        })
    return rows


def _decode_text(data: bytes, ctx: _Context, element: etree._Element, where: str) -> str:
    """Decode a source file: UTF-8 (BOM kept as a character) or UTF-16 with a BOM."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        ctx.log.note(f"{where} is UTF-16 rather than UTF-8; decoded")
        return "\ufeff" + data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ctx.error(element, "source text not UTF-8",
                        f"{where}: byte {exc.start} is not valid UTF-8") from None


def _stored_text(element: etree._Element, ctx: _Context) -> str | None:
    """Return a TextSource's (or Note's) stored text: inline content or its internal file.

    Inline ``PlainTextContent`` reaches us with ``\r\n`` already turned into ``\n`` by the XML
    parser (as the XML standard requires), so only files can show the ``\r\n`` conventions.
    """
    inline = ctx.text_of(element, "PlainTextContent")
    path = element.get("plainTextPath")
    if inline is not None:
        return inline
    if path is None:
        return None
    if ctx.archive is None:
        raise ctx.error(element, "source text not available",
                        f"plainTextPath {path!r} needs the .qdpx archive; read the .qdpx, not the "
                        "bare .qde")
    data = ctx.archive.read_internal(path, local_name(element), element.sourceline)
    return _decode_text(data, ctx, element, path)


def _read_notes(root: etree._Element, ctx: _Context) -> dict[str, dict[str, Any]]:
    notes: dict[str, dict[str, Any]] = {}
    for note in root.iterfind(f"{ctx.q('Notes')}/{ctx.q('Note')}"):
        guid = ctx.required_guid(note)
        stored = _stored_text(note, ctx)
        notes[guid] = {
            "memo_guid": guid, "memo_name": note.get("name", ""),
            "memo_text": SourceText.from_stored(stored).canonical if stored else "",
            "author": ctx.user_name(ctx.guid(note, "creatingUser")),
        }
    return notes


def _convert_positions(
    source: etree._Element, name: str, text: SourceText, ctx: _Context
) -> tuple[PositionMap, dict[str, Any]]:
    """Detect the position convention of one source and note any correction."""
    labelled = []
    for selection in source.iterfind(ctx.q("PlainTextSelection")):
        label = selection.get("name") or ctx.text_of(selection, "Description") or ""
        labelled.append((ctx.integer(selection, "startPosition"),
                         ctx.integer(selection, "endPosition"), label))
    detection = detect_convention(text, labelled)
    facts = []
    if text.has_bom:
        facts.append("starts with a byte-order mark")
    if len(text.crlf_newlines):
        facts.append("has \\r\\n line ends")
    findings = []
    if detection.convention != STANDARD:
        findings.append(
            f"its positions follow a non-standard convention ({detection.convention.label}; "
            f"{detection.matched} of {detection.checked} selection texts match after "
            "correction); corrected to code points of the text without BOM and with \\n line ends")
    elif text.normalised:
        findings.append("text normalised (no BOM, \\n line ends) and positions converted "
                        "accordingly")
    if detection.checked and detection.matched < detection.checked:
        findings.append(
            f"{detection.checked - detection.matched} of {detection.checked} selection labels "
            "do not match the text at their positions under any known convention; positions "
            f"read as {detection.convention.label}")
    if findings:  # one warning per source
        ctx.log.note(f"source {name!r} (line {source.sourceline})"
                     f"{' ' + ' and '.join(facts) if facts else ''}: {'; '.join(findings)}")
    summary = {"position_convention": detection.convention.label,
               "labels_checked": detection.checked, "labels_matched": detection.matched}
    return PositionMap(text, detection.convention), summary


def _read_text_source(
    source: etree._Element, ctx: _Context, codings: list[dict[str, Any]],
    texts: dict[str, str], variable_rows: list[dict[str, Any]],
) -> dict[str, Any] | None:
    guid = ctx.required_guid(source)
    name = source.get("name") or ""
    stored = _stored_text(source, ctx)
    selections = source.findall(ctx.q("PlainTextSelection"))
    whole = source.findall(ctx.q("Coding"))
    if stored is None:
        if selections or whole:
            raise ctx.error(source, "source text missing",
                            f"source {name!r} has codings but neither PlainTextContent nor "
                            "plainTextPath")
        ctx.log.note(f"source {name!r} (line {source.sourceline}) has no plain text; ignored")
        return None
    text = SourceText.from_stored(stored)
    canonical = text.canonical
    position_map, summary = _convert_positions(source, name, text, ctx)
    texts[guid] = canonical
    source_user = ctx.guid(source, "creatingUser")

    def add_coding(coding: etree._Element, selection_guid: str | None, start: int, end: int,
                   fallback_user: str | None) -> None:
        ref = coding.find(ctx.q("CodeRef"))
        code_guid = ctx.guid(ref, "targetGUID") if ref is not None else None
        if code_guid not in ctx.codes:
            raise ctx.error(ref if ref is not None else coding, "unknown code",
                            f"CodeRef points to {code_guid!r}, which is not in the codebook")
        user = ctx.guid(coding, "creatingUser") or fallback_user or source_user
        codings.append({
            "source_guid": guid, "source_name": name, "selection_guid": selection_guid,
            "start": start, "end": end, "text": canonical[start:end], "code_guid": code_guid,
            "code": ctx.codes[code_guid], "coder": ctx.user_name(user),
            "whole_document": selection_guid is None, "line": coding.sourceline,
        })
        for note_ref in coding.iterfind(ctx.q("NoteRef")):
            ctx.note_refs.append({
                "element": note_ref, "target_kind": "coding", "target_guid": ctx.guid(coding),
                "code": ctx.codes[code_guid], "source_guid": guid, "source_name": name,
                "start": start, "end": end})

    for selection in selections:
        selection_guid = ctx.required_guid(selection)
        raw_start = ctx.integer(selection, "startPosition")
        raw_end = ctx.integer(selection, "endPosition")
        start, end = position_map.to_canonical(raw_start), position_map.to_canonical(raw_end)
        if start is None or end is None or raw_start > raw_end:
            raise ctx.error(
                selection, "selection outside the text",
                f"startPosition={raw_start} endPosition={raw_end}, but source {name!r} has "
                f"{position_map.end} positions ({position_map.convention.label})",
            )
        ctx.selections[selection_guid] = guid
        if start == end:
            ctx.log.note(f"empty selection at line {selection.sourceline} in source {name!r}; "
                         "ignored")
            continue
        for coding in selection.iterfind(ctx.q("Coding")):
            add_coding(coding, selection_guid, start, end, ctx.guid(selection, "creatingUser"))
        for note_ref in selection.iterfind(ctx.q("NoteRef")):
            ctx.note_refs.append({
                "element": note_ref, "target_kind": "selection", "target_guid": selection_guid,
                "source_guid": guid, "source_name": name, "start": start, "end": end})
    for coding in whole:
        add_coding(coding, None, 0, len(canonical), None)
    for note_ref in source.iterfind(ctx.q("NoteRef")):
        ctx.note_refs.append({"element": note_ref, "target_kind": "source", "target_guid": guid,
                              "source_guid": guid, "source_name": name})
    variable_rows.extend(_variable_values(source, guid, name, ctx))
    return {"guid": guid, "name": name, "n_characters": len(canonical), **summary,
            "line": source.sourceline}


def _read_sources(root: etree._Element, ctx: _Context) -> tuple[
        pd.DataFrame, dict[str, str], pd.DataFrame, pd.DataFrame, int]:
    rows: list[dict[str, Any]] = []
    codings: list[dict[str, Any]] = []
    texts: dict[str, str] = {}
    variable_rows: list[dict[str, Any]] = []
    skipped = 0
    container = root.find(ctx.q("Sources"))
    children = [] if container is None else [c for c in container if isinstance(c.tag, str)]
    for source in children:
        guid = ctx.required_guid(source)
        if guid in ctx.sources:
            raise ctx.error(source, "duplicate GUID", f"source GUID {guid} appears twice")
        ctx.sources[guid] = source.get("name") or ""
    for source in children:
        if local_name(source) in _NON_TEXT_SOURCES:
            skipped += 1
            continue
        row = _read_text_source(source, ctx, codings, texts, variable_rows)
        if row is not None:
            rows.append(row)
    if skipped:
        ctx.log.note(f"{skipped} picture/PDF/audio/video source(s) ignored (only text sources "
                     "are read)")
    sources = pd.DataFrame(rows, columns=SOURCES_COLUMNS)
    coding_frame = pd.DataFrame(codings, columns=CODINGS_COLUMNS)
    coding_frame = coding_frame.astype({"start": "int64", "end": "int64",
                                        "whole_document": "bool", "line": "int64"})
    return (sources, texts, coding_frame,
            pd.DataFrame(variable_rows, columns=VARIABLE_VALUES_COLUMNS), skipped)


def _read_cases(root: etree._Element, ctx: _Context) -> tuple[
        pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cases, values, links = [], [], []
    unnamed = []
    for case in root.iterfind(f"{ctx.q('Cases')}/{ctx.q('Case')}"):
        guid = ctx.required_guid(case)
        name = case.get("name")
        if not name:
            unnamed.append(case.sourceline)
            name = ""
        cases.append({"guid": guid, "name": name, "line": case.sourceline})
        for ref in case.iterfind(ctx.q("CodeRef")):
            if ctx.guid(ref, "targetGUID") not in ctx.codes:
                raise ctx.error(ref, "unknown code",
                                f"CodeRef points to {ref.get('targetGUID')!r}, not in the codebook")
        values.extend(_variable_values(case, guid, name, ctx))
        linked: list[str] = []
        for ref in case.iterfind(ctx.q("SourceRef")):
            target = ctx.guid(ref, "targetGUID")
            if target not in ctx.sources:
                raise ctx.error(ref, "unknown source",
                                f"SourceRef points to {target!r}, which is not among <Sources>")
            linked.append(target)
        for ref in case.iterfind(ctx.q("SelectionRef")):
            target = ctx.guid(ref, "targetGUID")
            if target not in ctx.selections:
                raise ctx.error(ref, "unknown selection",
                                f"SelectionRef points to {target!r}, not a text selection")
            linked.append(ctx.selections[target])
        for source_guid in dict.fromkeys(linked):
            links.append({"case_guid": guid, "case_name": name, "source_guid": source_guid,
                          "source_name": ctx.sources[source_guid]})
    if unnamed:
        ctx.log.note(f"{len(unnamed)} case(s) without a name (line(s) "
                     f"{', '.join(map(str, unnamed[:10]))}); kept with an empty name")
    return (pd.DataFrame(cases, columns=CASES_COLUMNS),
            pd.DataFrame(values, columns=VARIABLE_VALUES_COLUMNS),
            pd.DataFrame(links, columns=CASE_SOURCES_COLUMNS))


def _check_sets(root: etree._Element, ctx: _Context) -> None:
    for set_element in root.iterfind(f"{ctx.q('Sets')}/{ctx.q('Set')}"):
        for member in set_element.iterfind(ctx.q("MemberCode")):
            if ctx.guid(member, "targetGUID" if ctx.kind == "project" else "guid") not in ctx.codes:
                raise ctx.error(member, "unknown code", "set member is not in the codebook")
        for member in set_element.iterfind(ctx.q("MemberSource")):
            if ctx.guid(member, "targetGUID") not in ctx.sources:
                raise ctx.error(member, "unknown source", "set member is not among <Sources>")


def _memo_frame(notes: dict[str, dict[str, Any]], ctx: _Context) -> pd.DataFrame:
    rows = []
    referenced = set()
    for ref in ctx.note_refs:
        element = ref["element"]
        target = ctx.guid(element, "targetGUID")
        if target not in notes:
            ctx.log.note(f"NoteRef at line {element.sourceline} points to an unknown note "
                         f"{target!r}; ignored")
            continue
        referenced.add(target)
        rows.append({**notes[target], **{k: v for k, v in ref.items() if k != "element"}})
    for guid, note in notes.items():
        if guid not in referenced:
            rows.append({**note, "target_kind": "none"})
    frame = pd.DataFrame(rows, columns=MEMOS_COLUMNS)
    text_columns = [c for c in MEMOS_COLUMNS if c not in ("start", "end")]
    frame[text_columns] = frame[text_columns].astype(object).where(
        frame[text_columns].notna(), "")
    return frame.astype({"start": "Int64", "end": "Int64"})


def _read_root(root: etree._Element, ctx: _Context, *, strict: bool) -> QdaProject:
    validate(root, ctx.kind, ctx.file, ctx.log, strict=strict)
    if ctx.kind == "codebook":
        codes = _read_codes(root, ctx)
        _check_sets(root, ctx)
        return QdaProject(ctx.file, "codebook", "", root.get("origin") or "", codes,
                          deviations=ctx.log.messages)
    users = _read_users(root, ctx)
    codes = _read_codes(root.find(ctx.q("CodeBook")), ctx)
    _read_variables(root, ctx)
    notes = _read_notes(root, ctx)
    sources, texts, codings, source_variables, skipped = _read_sources(root, ctx)
    cases, case_variables, case_sources = _read_cases(root, ctx)
    _check_sets(root, ctx)
    for note_ref in root.iterfind(ctx.q("NoteRef")):
        ctx.note_refs.append({"element": note_ref, "target_kind": "project", "target_guid": None})
    return QdaProject(
        file=ctx.file, kind="project", name=root.get("name") or "",
        origin=root.get("origin") or "", codes=codes, users=users, sources=sources, texts=texts,
        codings=codings, cases=cases, case_variables=case_variables,
        source_variables=source_variables, case_sources=case_sources,
        memos=_memo_frame(notes, ctx), non_text_sources=skipped, deviations=ctx.log.messages,
    )


def read_project(path: str | Path, *, strict: bool = True) -> QdaProject:
    """Read and validate a REFI-QDA ``.qdpx`` project, bare ``.qde`` project or ``.qdc`` codebook.

    Args:
        path: the file; its kind is told by the suffix (``.qdpx``, ``.qde``, ``.qdc``).
        strict: when False, schema violations other than the known deviations are warnings.

    Returns:
        The project; tolerated deviations are in ``deviations`` and were issued as
        :class:`~analysis.sources.qda.errors.QdaWarning`.

    Raises:
        QdaError: for anything that cannot be read (see the module docstring).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    log = DeviationLog(str(path))
    if suffix == ".qdpx":
        with open_qdpx(path, log) as archive:
            file = f"{path}!{archive.qde_name}"
            log.file = str(path)
            root = parse_xml(archive.read_qde(), file)
            return _read_root(root, _Context(file, "project", log, archive), strict=strict)
    if suffix in (".qde", ".qdc"):
        if not path.is_file():
            raise QdaError(str(path), None, None, "file not found", "no such file")
        kind: DocumentKind = "codebook" if suffix == ".qdc" else "project"
        root = parse_xml(path.read_bytes(), str(path))
        return _read_root(root, _Context(str(path), kind, log), strict=strict)
    raise QdaError(str(path), None, None, "unknown file type",
                   f"expected a .qdpx, .qde or .qdc file, not {suffix or 'no suffix'!r}")


def read_codebook(path: str | Path, *, strict: bool = True) -> pd.DataFrame:
    """Read the codebook of a ``.qdc``/``.qdpx``/``.qde`` file as the raw codebook frame."""
    return codebook_frame(read_project(path, strict=strict))


def read_coded_data(
    path: str | Path,
    qda_map: str | Path | pd.DataFrame | None = None,
    *,
    strict: bool = True,
) -> RawCodedData:
    """Read a ``.qdpx`` into the study's raw frames, exactly as the CSV export gives them.

    Args:
        path: the ``.qdpx`` project.
        qda_map: the mapping from QDA source/case names to study documents (a ``qda_map.csv``
            path or a frame, see :mod:`analysis.sources.qda.mapping`). ``None``: use ``qda_map.csv`` next
            to *path* if there is one, else rely on source names that already follow the study's
            document naming.
        strict: see :func:`read_project`.

    Returns:
        Codebook, women's and professionals' segments (``Document, Code, Start, End, Coded
        text, Coder``, sorted by Document, Start, End, Code), transcripts by document, the
        source mapping used, memos and tolerated deviations.

    Raises:
        QdaError: for an unreadable project; ``DataValidationError`` for a bad mapping file.
    """
    path = Path(path)
    if qda_map is None and (path.parent / "qda_map.csv").is_file():
        qda_map = path.parent / "qda_map.csv"
    project = read_project(path, strict=strict)
    return to_raw_frames(project, qda_map)
