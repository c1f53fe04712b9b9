"""Offline scanning for direct identifiers in text, tables and rendered outputs.

Pattern rules (no network, no models) find NHS numbers (modulus 11), Scottish CHI numbers
(DDMMYY date + modulus 11 check digit), UK postcodes, dates of birth (a date near "DOB",
"date of birth", "born"), UK phone numbers, email addresses and street addresses (house number
+ street word). Name lists supplied by the team (participants, family, staff, local places and
services) find names: the shipped ``analysis/config/name_list_synthetic.csv`` is an invented
example; ``$NAME_LISTS`` points at the team's own lists kept outside git.

A :class:`Hit` carries the file, where the identifier is (line/column, table row/column, page,
slide or cell) and its kind, and only a *masked* form of the identifier: the value itself is
never stored, printed or returned. A short hash lets repeated hits of one value be grouped.

Model-based detection (presidio / spaCy) is optional: :func:`model_detection_status` says
whether it is available; it is not required and is skipped with a note when not installed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.core import paths

NAME_LISTS_ENV: str = "NAME_LISTS"
"""Environment variable: the team's name-list files (``os.pathsep``-separated)."""

SYNTHETIC_NAME_LIST: Path = paths.CONFIG_DIR / "name_list_synthetic.csv"
"""The invented example name list shipped with the code."""

TEXT_SUFFIXES: frozenset[str] = frozenset(
    {".md", ".qmd", ".txt", ".csv", ".tsv", ".json", ".yml", ".yaml", ".py", ".tex", ".typ",
     ".bib", ".xml", ".svg", ".r", ".rmd", ".log", ".cfg", ".toml", ".ini"}
)
"""Suffixes scanned as plain text (line and column reported)."""

SCANNABLE_SUFFIXES: frozenset[str] = TEXT_SUFFIXES | {".html", ".htm", ".docx", ".pdf", ".pptx",
                                                      ".xlsx", ".ipynb"}
"""Every suffix :func:`scan_file` can read."""

KINDS: tuple[str, ...] = ("nhs_number", "chi_number", "postcode", "date_of_birth", "phone",
                          "email", "street_address", "name")
"""Kinds of identifier reported."""


class IdentifierScanError(ValueError):
    """A file could not be scanned (names the file and the reason)."""


@dataclass(frozen=True)
class Hit:
    """One identifier found: where, what kind, and a masked form (never the value itself)."""

    file: str
    location: str
    kind: str
    masked: str
    digest: str
    line: int | None = None
    column: int | None = None
    detail: str = ""

    def describe(self) -> str:
        """One readable line: ``file: location: kind masked``."""
        extra = f" ({self.detail})" if self.detail else ""
        return f"{self.file}: {self.location}: {self.kind} {self.masked}{extra}"

    def as_dict(self) -> dict[str, object]:
        """The hit as a plain dict (safe to log: holds no identifier)."""
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Masking and check digits
# --------------------------------------------------------------------------------------------


def mask(value: str, kind: str) -> str:
    """Masked form of an identifier: names show the first letter (``S***``), everything else
    only its last two characters (``***19``). Short values are fully masked."""
    text = value.strip()
    if kind == "name":
        return (text[0] + "***") if len(text) > 2 else "***"
    tail = re.sub(r"\s", "", text)[-2:]
    return ("***" + tail) if len(text) > 4 else "***"


def _digest(value: str) -> str:
    normal = re.sub(r"[\s\-]", "", value).lower()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:10]


def mod11_valid(digits: str) -> bool:
    """NHS/CHI modulus 11 check: weights 10..2 on the first nine digits; check digit is
    ``11 - (sum mod 11)``, 11 -> 0, 10 -> invalid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def chi_date_valid(digits: str) -> bool:
    """Whether the first six digits are a real DDMMYY date (any century)."""
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    for century in (1900, 2000):
        try:
            dt.date(century + year, month, day)
            return True
        except ValueError:
            continue
    return False


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_TEN_DIGITS = re.compile(r"(?<![\w.+/-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w/]|[.,]\d)")
_SIX_FOUR = re.compile(r"(?<![\w.+/-])(\d{6})[ -](\d{4})(?![\w/]|[.,]\d)")
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(GIR ?0AA|[A-PR-UWYZ](?:[A-HK-Y]?\d[A-Z\d]?|\d[A-HJKPSTUW]) ?\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])"
)
_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DATE = (rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
         rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{2,4}}|"
         rf"{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}})")
_DOB = re.compile(
    rf"\b(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born(?:\s+on)?|birth\s?date|birthday)\b"
    rf"[\s:=\-,]*(?:was\s+|is\s+|on\s+)?(?P<date>{_DATE})",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w+])(?P<number>(?:\+44\s?\(?0?\)?\s?|0044\s?|\(?0)\d(?:[\s\-)]?\d){8,9})(?![\w])"
)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?![\w])")
_STREET_WORDS = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Court|Ct|Crescent|"
                 r"Cres|Place|Pl|Terrace|Gardens|Gdns|Way|Grove|Hill|Park|Square|Sq|Walk|Mews|Row|"
                 r"Parade|Wynd|Brae|Vennel|Loan|Gate|View|Rise|Green)")
_STREET = re.compile(
    rf"(?<![\w/.-])(?:(?:Flat|Apartment|Unit)\s+\d+[A-Za-z]?,?\s+)?\d{{1,4}}[A-Za-z]?,?\s+"
    rf"(?:[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?\s+){{1,3}}{_STREET_WORDS}\b\.?"
)


def _phone_ok(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("44"):
        digits = "0" + digits[2:].lstrip("0") if not digits[2:].startswith("0") else digits[2:]
    return len(digits) in (10, 11) and digits.startswith("0") and digits[1] in "123578"


@dataclass(frozen=True)
class NameTerm:
    """One entry of a name list."""

    term: str
    kind: str
    source: str


def _read_name_file(path: Path) -> list[NameTerm]:
    if not path.exists():
        raise IdentifierScanError(f"{path}: name list not found (from {NAME_LISTS_ENV} or config)")
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    terms: list[NameTerm] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        if not reader.fieldnames or "term" not in reader.fieldnames:
            raise IdentifierScanError(f"{path}: row 1: a CSV name list needs a 'term' column")
        for number, row in enumerate(reader, start=2):
            term = (row.get("term") or "").strip()
            if len(term) < 3:
                raise IdentifierScanError(f"{path}: row {number}, column 'term': names need at "
                                          "least 3 characters (rule: avoid matching everywhere)")
            terms.append(NameTerm(term, (row.get("kind") or "name").strip() or "name", str(path)))
    else:
        terms = [NameTerm(ln.strip(), "name", str(path)) for ln in lines if len(ln.strip()) >= 3]
    return terms


def name_list_paths() -> list[Path]:
    """The name lists in use: ``$NAME_LISTS`` if set, else the synthetic example list."""
    value = os.environ.get(NAME_LISTS_ENV, "").strip()
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
    return [SYNTHETIC_NAME_LIST]


@lru_cache(maxsize=8)
def _compiled_names(sources: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    terms: list[NameTerm] = []
    for source in sources:
        terms.extend(_read_name_file(Path(source)))
    if not terms:
        return None, {}
    kinds = {t.term.lower(): t.kind for t in terms}
    ordered = sorted({t.term for t in terms}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w])(?:" + "|".join(re.escape(t) for t in ordered) + r")(?![\w])",
                         re.IGNORECASE)
    return pattern, kinds


@lru_cache(maxsize=8)
def _compiled_names_for(setting: str | None) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """The compiled name lists for one value of ``$NAME_LISTS`` (``None``: unset)."""
    return _compiled_names(tuple(str(p) for p in name_list_paths()))


def load_name_lists(sources: Sequence[Path | str] | None = None) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """Compile the name lists into one case-insensitive whole-word pattern (cached; without
    ``sources``, per value of ``$NAME_LISTS``, so a scan of many short texts reads it cheaply)."""
    if sources is None:
        return _compiled_names_for(os.environ.get(NAME_LISTS_ENV))
    return _compiled_names(tuple(str(p) for p in sources))


# --------------------------------------------------------------------------------------------
# Scanning text
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str
    value: str
    detail: str = ""


_ANY_DIGIT = re.compile(r"\d")
"""A digit as the patterns read it (any Unicode decimal digit)."""

_FEWEST_DIGITS = {"nhs_or_chi": 10, "phone": 9, "date_of_birth": 3, "street_or_postcode": 1}
"""The fewest digits a match of each pattern holds (an NHS or CHI number: ten; a UK phone number:
nine after its prefix; a date: three, as in "1 May 90"; a house number or a postcode: one).
Text with fewer cannot match, so that pattern is not run: most lines of a transcript hold no
digit, and are scanned for names (and e-mail addresses, if they hold an ``@``) only."""


def find_identifiers(text: str, *, name_lists: Sequence[Path | str] | None = None) -> list[_Span]:
    """All identifier spans in ``text`` (internal: spans hold the raw value; use the scan_*
    functions, which mask it)."""
    digit_count = len(_ANY_DIGIT.findall(text))
    spans: list[_Span] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    def add(start: int, end: int, kind: str, value: str, detail: str = "") -> None:
        spans.append(_Span(start, end, kind, value, detail))
        taken.append((start, end))

    for pattern in (_TEN_DIGITS, _SIX_FOUR) if digit_count >= _FEWEST_DIGITS["nhs_or_chi"] else ():
        for match in pattern.finditer(text):
            digits = "".join(match.groups())
            if not free(match.start(), match.end()) or not mod11_valid(digits):
                continue
            compact = pattern is _SIX_FOUR or re.fullmatch(r"\d{10}", match.group(0)) is not None
            if compact and chi_date_valid(digits):
                add(match.start(), match.end(), "chi_number", match.group(0), "valid date and check digit")
            else:
                add(match.start(), match.end(), "nhs_number", match.group(0), "valid modulus 11")
    for match in _EMAIL.finditer(text) if "@" in text else ():
        if free(match.start(), match.end()):
            add(match.start(), match.end(), "email", match.group(0))
    for match in _DOB.finditer(text) if digit_count >= _FEWEST_DIGITS["date_of_birth"] else ():
        start, end = match.span("date")
        if free(start, end):
            add(start, end, "date_of_birth", match.group("date"), "date next to a birth word")
    for match in _PHONE.finditer(text) if digit_count >= _FEWEST_DIGITS["phone"] else ():
        start, end = match.span("number")
        if free(start, end) and _phone_ok(match.group("number")):
            add(start, end, "phone", match.group("number"))
    street_or_postcode = digit_count >= _FEWEST_DIGITS["street_or_postcode"]
    for match in _STREET.finditer(text) if street_or_postcode else ():
        if free(match.start(), match.end()):
            add(match.start(), match.end(), "street_address", match.group(0))
    for match in _POSTCODE.finditer(text) if street_or_postcode else ():
        # Unspaced all-hex candidates ("F7F9FB") are colours or hashes, not postcodes.
        if " " not in match.group(0) and re.fullmatch(r"[0-9A-F]+", match.group(0)):
            continue
        if free(match.start(), match.end()):
            add(match.start(), match.end(), "postcode", match.group(0))
    pattern, kinds = load_name_lists(name_lists)
    if pattern is not None:
        for match in pattern.finditer(text):
            if free(match.start(), match.end()):
                add(match.start(), match.end(), "name", match.group(0),
                    f"name list: {kinds.get(match.group(0).lower(), 'name')}")
    spans.sort(key=lambda s: s.start)
    return spans


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def scan_text(text: str, *, file: str = "<text>", where: str = "",
              name_lists: Sequence[Path | str] | None = None, line_offset: int = 0) -> list[Hit]:
    """Scan a string; locations are ``[where, ]line L, col C`` (1-based)."""
    hits: list[Hit] = []
    if not text:
        return hits
    for span in find_identifiers(text, name_lists=name_lists):
        line, column = _line_col(text, span.start)
        line += line_offset
        location = f"{where + ', ' if where else ''}line {line}, col {column}"
        hits.append(Hit(file=file, location=location, kind=span.kind, masked=mask(span.value, span.kind),
                        digest=_digest(span.value), line=line, column=column, detail=span.detail))
    return hits


def scan_dataframe(df: pd.DataFrame, file: str, columns: Sequence[str] | None = None, *,
                   name_lists: Sequence[Path | str] | None = None) -> list[Hit]:
    """Scan text columns of a table (quotes, segment text, free-text fields).

    Locations read ``row <index>, column '<name>', char <n>``; ``columns`` defaults to every
    object/string column. Unknown columns raise an error naming the file and column.
    """
    chosen = list(columns) if columns is not None else [
        c for c in df.columns if pd.api.types.is_object_dtype(df[c]) or pd.api.types.is_string_dtype(df[c])]
    missing = [c for c in chosen if c not in df.columns]
    if missing:
        raise IdentifierScanError(f"{file}: column(s) {missing} not in the table")
    hits: list[Hit] = []
    for column in chosen:
        for index, value in df[column].items():
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            text = str(value)
            for span in find_identifiers(text, name_lists=name_lists):
                hits.append(Hit(file=file, location=f"row {index}, column {column!r}, char {span.start + 1}",
                                kind=span.kind, masked=mask(span.value, span.kind),
                                digest=_digest(span.value), line=None, column=span.start + 1,
                                detail=span.detail))
    return hits


# --------------------------------------------------------------------------------------------
# Scanning files
# --------------------------------------------------------------------------------------------


def _html_pieces(path: Path) -> Iterator[tuple[str, str]]:
    import lxml.html

    tree = lxml.html.parse(str(path))
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in ("script", "style"):
            if element.tail and element.tail.strip():
                yield f"line {element.sourceline} (after <{tag}>)", element.tail
            continue
        where = f"line {element.sourceline} <{tag}>"
        if element.text and element.text.strip():
            yield where, element.text
        for attribute in ("alt", "title", "aria-label", "placeholder", "content"):
            value = element.get(attribute)
            if value and value.strip():
                yield f"{where} @{attribute}", value
        if element.tail and element.tail.strip():
            yield f"line {element.sourceline} (after <{tag}>)", element.tail


def _docx_pieces(path: Path) -> Iterator[tuple[str, str]]:
    import docx

    document = docx.Document(str(path))
    for number, paragraph in enumerate(document.paragraphs, start=1):
        yield f"paragraph {number}", paragraph.text
    for t_number, table in enumerate(document.tables, start=1):
        for r_number, row in enumerate(table.rows, start=1):
            for c_number, cell in enumerate(row.cells, start=1):
                yield f"table {t_number}, row {r_number}, cell {c_number}", cell.text
    for s_number, section in enumerate(document.sections, start=1):
        for part_name in ("header", "footer"):
            part = getattr(section, part_name)
            for p_number, paragraph in enumerate(part.paragraphs, start=1):
                yield f"section {s_number} {part_name}, paragraph {p_number}", paragraph.text
    props = document.core_properties
    for attribute in ("author", "last_modified_by", "title", "subject", "comments", "keywords"):
        value = getattr(props, attribute, None)
        if value:
            yield f"document property {attribute}", str(value)


def _pptx_pieces(path: Path) -> Iterator[tuple[str, str]]:
    from pptx import Presentation

    deck = Presentation(str(path))
    for s_number, slide in enumerate(deck.slides, start=1):
        for shape in slide.shapes:
            label = f"slide {s_number}, shape {shape.name!r}"
            if shape.has_text_frame:
                yield label, shape.text_frame.text
            if getattr(shape, "has_table", False) and shape.has_table:
                for r_number, row in enumerate(shape.table.rows, start=1):
                    for c_number, cell in enumerate(row.cells, start=1):
                        yield f"{label}, row {r_number}, cell {c_number}", cell.text
            description = shape._element.xpath(".//p:cNvPr/@descr") if hasattr(shape, "_element") else []
            for text in description:
                yield f"{label} alt text", str(text)
        if slide.has_notes_slide:
            yield f"slide {s_number} notes", slide.notes_slide.notes_text_frame.text
    author = deck.core_properties.author
    if author:
        yield "document property author", author


def _pdf_pieces(path: Path) -> Iterator[tuple[str, str]]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    for number, page in enumerate(reader.pages, start=1):
        yield f"page {number}", page.extract_text() or ""
    meta = reader.metadata or {}
    for key in ("/Author", "/Title", "/Subject"):
        if meta.get(key):
            yield f"document property {key.strip('/').lower()}", str(meta[key])


def _xlsx_pieces(path: Path) -> Iterator[tuple[str, str]]:
    import openpyxl

    book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.value is not None and not isinstance(cell.value, (int, float)) or (
                            isinstance(cell.value, int) and len(str(cell.value)) == 10):
                        yield f"sheet {sheet.title!r}, cell {cell.coordinate}", str(cell.value)
    finally:
        book.close()


def _ipynb_pieces(path: Path) -> Iterator[tuple[str, str]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        source = cell.get("source", "")
        yield f"cell {number} source", "".join(source) if isinstance(source, list) else source
        for o_number, output in enumerate(cell.get("outputs", []) or [], start=1):
            texts: list[str] = []
            if "text" in output:
                texts.append("".join(output["text"]) if isinstance(output["text"], list) else output["text"])
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    texts.append("".join(value) if isinstance(value, list) else json.dumps(value))
            for text in texts:
                yield f"cell {number} output {o_number}", text


_READERS = {".html": _html_pieces, ".htm": _html_pieces, ".docx": _docx_pieces,
            ".pptx": _pptx_pieces, ".pdf": _pdf_pieces, ".xlsx": _xlsx_pieces,
            ".ipynb": _ipynb_pieces}


def iter_text(path: Path | str) -> Iterator[tuple[str, str]]:
    """Yield (location, text) pieces of a file, by type (empty for unsupported/binary files)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in _READERS:
        yield from _READERS[suffix](target)
    elif suffix in TEXT_SUFFIXES or suffix == "":
        raw = target.read_bytes()
        if b"\x00" not in raw[:8192]:
            yield "", raw.decode("utf-8", errors="replace")


def scan_file(path: Path | str, *, name_lists: Sequence[Path | str] | None = None,
              display_name: str | None = None) -> list[Hit]:
    """Scan one file by its type (.html, .docx incl. tables/headers, .pdf, .pptx incl. notes,
    .xlsx, .ipynb, and text files such as .md/.qmd/.csv). Unsupported types return no hits;
    check :data:`SCANNABLE_SUFFIXES` first when that matters. Unreadable files raise
    :class:`IdentifierScanError` naming the file."""
    return read_and_scan(path, name_lists=name_lists, display_name=display_name)[0]


def read_and_scan(path: Path | str, *, name_lists: Sequence[Path | str] | None = None,
                  display_name: str | None = None) -> tuple[list[Hit], list[tuple[str, str]]]:
    """:func:`scan_file`, also returning the (location, text) pieces it read, so a caller that
    checks the text for something else does not read (for a PDF: extract) the file again."""
    target = Path(path)
    name = display_name or str(path)
    suffix = target.suffix.lower()
    hits: list[Hit] = []
    pieces: list[tuple[str, str]] = []
    try:
        for where, text in iter_text(target):
            pieces.append((where, text))
            hits.extend(scan_text(text, file=name, where=where, name_lists=name_lists))
    except IdentifierScanError:
        raise
    except Exception as exc:  # a corrupt or unreadable output is itself a failed check
        raise IdentifierScanError(f"{name}: cannot read as {suffix or 'text'}: {exc}") from exc
    return hits, pieces


def scan_paths(files: Iterable[Path | str], *, name_lists: Sequence[Path | str] | None = None) -> list[Hit]:
    """Scan several files; returns all hits."""
    hits: list[Hit] = []
    for file in files:
        hits.extend(scan_file(file, name_lists=name_lists))
    return hits


def model_detection_status() -> str:
    """Whether optional model-based detection (presidio + a spaCy model) is installed."""
    try:
        import presidio_analyzer  # noqa: F401
    except ImportError:
        return "skipped: presidio/spaCy not installed (pattern rules and name lists only)"
    return "available: presidio installed (not used by default)"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.protect.identifiers FILE...``: print masked hits; exit 1 if any."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    hits = scan_paths(args.files)
    for hit in hits:
        print(hit.describe())
    print(f"{len(hits)} possible identifier(s); {model_detection_status()}")
    return 1 if hits else 0


if __name__ == "__main__":
    raise SystemExit(main())
