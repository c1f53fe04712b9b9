"""Templates the offline renderer uses, and the reproducible build of ``reference.docx``.

``reports/_templates/reference.docx`` is made from pandoc's own default reference document
(``pandoc --print-default-data-file reference.docx``) with python-docx: a readable sans-serif
font, headings in the report colour, plain captions, bordered tables, callout paragraph styles
and a page-number footer. Rebuild it with ``python -m analysis.publish.render reference-docx``; the same
pandoc version always gives the same bytes (fixed dates and zip timestamps).
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zipfile
from pathlib import Path

import pypandoc
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph

from analysis.core.paths import PROJECT_ROOT

TEMPLATES_DIR: Path = PROJECT_ROOT / "reports" / "_templates"
"""Folder of every template, filter and style the renderer uses."""

LUA_FILTER: Path = TEMPLATES_DIR / "filters" / "quarto_subset.lua"
OFFICE_METADATA_FILTER: Path = TEMPLATES_DIR / "filters" / "office_metadata.lua"
"""Last filter for DOCX and PPTX: drops build-time paths from the document properties."""
HTML_TEMPLATE: Path = TEMPLATES_DIR / "html" / "template.html"
HTML_CSS: Path = TEMPLATES_DIR / "html" / "report.css"
REVEALJS_CSS: Path = TEMPLATES_DIR / "revealjs" / "slides.css"
TYPST_TEMPLATE: Path = TEMPLATES_DIR / "typst" / "template.typ"
REFERENCE_DOCX: Path = TEMPLATES_DIR / "reference.docx"
REVEALJS_DIR: Path = PROJECT_ROOT / "node_modules" / "reveal.js"
"""reveal.js assets, installed at setup with ``npm install --no-save reveal.js@5``."""

FIXED_TIMESTAMP = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
"""Date written into generated files so that rebuilding gives identical bytes."""

BODY_FONT = "Arial"
TEXT_COLOUR = RGBColor(0x1F, 0x1F, 0x1F)
ACCENT_COLOUR = RGBColor(0x12, 0x43, 0x6D)
RULE_COLOUR_HEX = "B1B4B6"


def pandoc_path() -> str:
    """The pandoc binary shipped with pypandoc-binary."""
    return pypandoc.get_pandoc_path()


def normalise_zip(path: Path) -> None:
    """Rewrite a zip-based file (docx, pptx) with fixed timestamps and stable entry order."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    first = [entry for entry in entries if entry[0] == "[Content_Types].xml"]
    rest = sorted(entry for entry in entries if entry[0] != "[Content_Types].xml")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in first + rest:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def _set_font(style: object, size: float | None = None, bold: bool | None = None,
              italic: bool | None = None, colour: RGBColor | None = None) -> None:
    """Set a style's font, including the East Asian and complex-script slots Word also reads."""
    font = style.font  # type: ignore[attr-defined]
    font.name = BODY_FONT
    r_pr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), BODY_FONT)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        if fonts.get(qn(attribute)) is not None:
            del fonts.attrib[qn(attribute)]
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    if colour is not None:
        font.color.rgb = colour


def _border(tag: str, size: int, colour: str) -> OxmlElement:
    element = OxmlElement(tag)
    element.set(qn("w:val"), "single")
    element.set(qn("w:sz"), str(size))
    element.set(qn("w:space"), "0")
    element.set(qn("w:color"), colour)
    return element


def _table_borders(document: Document) -> None:
    """Give pandoc's "Table" style thin grey borders on every cell and a bold header row."""
    style = document.styles["Table"]
    tbl_pr = style.element.find(qn("w:tblPr"))
    if tbl_pr is None:
        tbl_pr = OxmlElement("w:tblPr")
        style.element.append(tbl_pr)
    old = tbl_pr.find(qn("w:tblBorders"))
    if old is not None:
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(_border(f"w:{edge}", 4, RULE_COLOUR_HEX))
    tbl_pr.append(borders)
    margins = tbl_pr.find(qn("w:tblCellMar"))
    if margins is None:
        margins = OxmlElement("w:tblCellMar")
        for edge in ("left", "right"):
            margin = OxmlElement(f"w:{edge}")
            margin.set(qn("w:w"), "100")
            margin.set(qn("w:type"), "dxa")
            margins.append(margin)
        tbl_pr.append(margins)
    for conditional in style.element.findall(qn("w:tblStylePr")):
        if conditional.get(qn("w:type")) == "firstRow":
            style.element.remove(conditional)
    first_row = OxmlElement("w:tblStylePr")
    first_row.set(qn("w:type"), "firstRow")
    r_pr = OxmlElement("w:rPr")
    r_pr.append(OxmlElement("w:b"))
    first_row.append(r_pr)
    tc_pr = OxmlElement("w:tcPr")
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), "E8EDF2")
    tc_pr.append(shading)
    first_row.append(tc_pr)
    style.element.append(first_row)


def _callout_styles(document: Document) -> None:
    """Paragraph styles the Lua filter gives callout boxes in DOCX."""
    for name, bold in (("Callout Title", True), ("Callout", False)):
        if name in [style.name for style in document.styles]:
            continue
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Normal"]
        _set_font(style, size=11, bold=bold, colour=TEXT_COLOUR)
        p_pr = style.element.get_or_add_pPr()
        borders = OxmlElement("w:pBdr")
        borders.append(_border("w:left", 24, "12436D"))
        p_pr.append(borders)
        shading = OxmlElement("w:shd")
        shading.set(qn("w:val"), "clear")
        shading.set(qn("w:color"), "auto")
        shading.set(qn("w:fill"), "EEF3F8" if bold else "F7F9FB")
        p_pr.append(shading)
        indent = OxmlElement("w:ind")
        indent.set(qn("w:left"), "170")
        indent.set(qn("w:right"), "170")
        p_pr.append(indent)
        style.paragraph_format.space_after = Pt(0 if bold else 4)
        style.paragraph_format.space_before = Pt(8 if bold else 0)


def add_field(paragraph: Paragraph, instruction: str) -> None:
    """Append a Word field (e.g. ``PAGE``) to a paragraph, showing ``1`` until Word updates it."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)  # noqa: SLF001 - python-docx has no public field API


def build_reference_docx(target: Path = REFERENCE_DOCX) -> Path:
    """Build the reference document pandoc takes DOCX styles from, and return its path."""
    default = subprocess.run(
        [pandoc_path(), "--print-default-data-file", "reference.docx"],
        check=True, capture_output=True,
    ).stdout
    document = Document(io.BytesIO(default))
    styles = document.styles
    for name in ("Normal", "Body Text", "First Paragraph", "Compact", "Block Text"):
        if name in [style.name for style in styles]:
            _set_font(styles[name], size=11, colour=TEXT_COLOUR)
    styles["Normal"].paragraph_format.line_spacing = 1.15
    for name in ("Body Text", "First Paragraph"):
        styles[name].paragraph_format.space_after = Pt(8)
        styles[name].paragraph_format.space_before = Pt(0)
    for level, size in ((1, 16), (2, 14), (3, 12), (4, 11)):
        _set_font(styles[f"Heading {level}"], size=size, bold=True, italic=False,
                  colour=ACCENT_COLOUR)
    _set_font(styles["Title"], size=24, bold=True, colour=ACCENT_COLOUR)
    for name in ("Subtitle", "Author", "Date", "Abstract"):
        if name in [style.name for style in styles]:
            _set_font(styles[name], size=12, italic=False, colour=TEXT_COLOUR)
    for name in ("Image Caption", "Table Caption"):
        if name in [style.name for style in styles]:
            _set_font(styles[name], size=10, italic=False, colour=TEXT_COLOUR)
            styles[name].paragraph_format.space_after = Pt(10)
    styles["Table Caption"].font.bold = True
    for name in ("Hyperlink",):
        if name in [style.name for style in styles]:
            styles[name].font.color.rgb = RGBColor(0x1D, 0x5A, 0x91)
    _table_borders(document)
    _callout_styles(document)
    footer = document.sections[0].footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    paragraph.text = ""
    paragraph.style = styles["Footer"] if "Footer" in [s.name for s in styles] else None
    paragraph.add_run("Page ")
    add_field(paragraph, "PAGE")
    core = document.core_properties
    core.created = FIXED_TIMESTAMP.replace(tzinfo=None)
    core.modified = FIXED_TIMESTAMP.replace(tzinfo=None)
    core.last_printed = FIXED_TIMESTAMP.replace(tzinfo=None)
    core.title = "Reference document for analysis.render"
    core.author = "analysis.render"
    core.last_modified_by = "analysis.render"
    core.revision = 1
    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(target))
    normalise_zip(target)
    return target
