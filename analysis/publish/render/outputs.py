"""After rendering: stamp the footer notice into Office files and verify every output.

Both engines' outputs pass through here, so the synthetic-data notice and the checks for
unresolved shortcodes and cross-references do not depend on which engine ran.
"""

from __future__ import annotations

from typing import Any

import re
from pathlib import Path

import lxml.html
from docx import Document
from docx.shared import Pt, RGBColor
from pptx import Presentation
from pptx.dml.color import RGBColor as PptxRGBColor
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.enum.text import PP_ALIGN
from pptx.util import Emu
from pptx.util import Pt as PptxPt
from pypdf import PdfReader

from analysis.publish.render.errors import RenderError
from analysis.publish.render.templates import normalise_zip

LEFTOVER_MARKERS: tuple[str, ...] = ("{{<", "?@", "??", "@fig-", "@tbl-")
"""Text that means a shortcode or cross-reference was left unresolved."""

EXTERNAL_URL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
RESOURCE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("script", "src"), ("img", "src"), ("link", "href"), ("iframe", "src"),
    ("source", "src"), ("video", "src"), ("audio", "src"), ("embed", "src"),
    ("object", "data"), ("track", "src"), ("image", "href"), ("use", "href"),
)
"""Tag and attribute pairs a browser fetches while showing a page."""


def _copy_alt_text_to_pictures(document: Document) -> None:
    """Pandoc writes the image file path into each picture's own description; give it the alt
    text of the drawing instead (screen readers may read either, and paths are not stable)."""
    for inline in document.element.body.iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}inline",
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}anchor",
    ):
        doc_pr = inline.find(
            "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr")
        if doc_pr is None:
            continue
        alt = doc_pr.get("descr", "")
        for picture in inline.iter(
            "{http://schemas.openxmlformats.org/drawingml/2006/picture}cNvPr"
        ):
            picture.set("descr", alt)


TITLE_BLOCK_STYLES = ("Title", "Subtitle", "Author", "Date")
"""Paragraph styles pandoc gives the title block of a Word document."""


def add_title_notice(document: Any, notice: str) -> bool:
    """Put ``notice`` as a bold paragraph straight after the title block (title, subtitle,
    authors, date), so a Word title page says what the footer says. Returns False when the
    document has no title."""
    paragraphs = document.paragraphs
    start = next((i for i, p in enumerate(paragraphs) if p.style is not None and p.style.name == "Title"), None)
    if start is None:
        return False
    last = start
    while last + 1 < len(paragraphs) and paragraphs[last + 1].style is not None \
            and paragraphs[last + 1].style.name in TITLE_BLOCK_STYLES:
        last += 1
    paragraph = document.add_paragraph()
    paragraphs[last]._p.addnext(paragraph._p)  # noqa: SLF001 - straight after the block, before a table of contents
    run = paragraph.add_run(notice)
    run.bold = True
    run.font.size = Pt(14)
    run.font.color.rgb = RGBColor(0x80, 0x16, 0x50)
    return True


def finalise_docx(path: Path, footer_text: str | None, *, title_notice: str | None = None) -> None:
    """Fix picture descriptions, put ``footer_text`` (if any) as the first line of every
    section's footer, ``title_notice`` (if any) under the title, and store the file with fixed
    zip timestamps."""
    document = Document(str(path))
    _copy_alt_text_to_pictures(document)
    if title_notice:
        add_title_notice(document, title_notice)
    for section in document.sections if footer_text else []:
        footer = section.footer
        footer.is_linked_to_previous = False
        paragraphs = footer.paragraphs
        if paragraphs and not paragraphs[0].text.strip() and not paragraphs[0]._p.xpath(
            ".//w:fldSimple|.//w:fldChar"
        ):
            target = paragraphs[0]
        elif paragraphs:
            target = paragraphs[0].insert_paragraph_before()
        else:
            target = footer.add_paragraph()
        run = target.add_run(footer_text)
        run.bold = True
        run.font.size = Pt(9)
        run.font.color.rgb = RGBColor(0x80, 0x16, 0x50)
    document.save(str(path))
    normalise_zip(path)


IMAGE_WITH_ATTRIBUTES = re.compile(
    r"!\[[^\]]*\]\(<?(?P<src>[^)>\s]+)>?\)\{(?P<attrs>[^}]*)\}")
FIG_ALT = re.compile(r'fig-alt="(?P<alt>(?:[^"\\]|\\.)*)"')


def alt_text_by_image(markdown: str) -> dict[str, str]:
    """Map each image path in pandoc markdown to its ``fig-alt`` text."""
    result: dict[str, str] = {}
    for match in IMAGE_WITH_ATTRIBUTES.finditer(markdown):
        alt = FIG_ALT.search(match.group("attrs"))
        if alt:
            result[match.group("src")] = re.sub(r"\\(.)", r"\1", alt.group("alt"))
    return result


def finalise_pptx(path: Path, footer_text: str | None,
                  alt_texts: dict[str, str] | None = None) -> None:
    """Give pictures their alt text (pandoc writes the file path), add ``footer_text`` (if any)
    along the bottom of every slide, and store the file with fixed zip timestamps."""
    presentation = Presentation(str(path))
    for slide in presentation.slides:
        for shape in slide.shapes:
            if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
                properties = shape._element.nvPicPr.cNvPr  # noqa: SLF001 - no public API
                described = properties.get("descr", "")
                properties.set("descr", (alt_texts or {}).get(described, described))
    for slide in presentation.slides:
        fit_pptx_text(slide)
    width = presentation.slide_width or Emu(9144000)
    height = presentation.slide_height or Emu(6858000)
    box_height = Emu(int(height * 0.06))
    for slide in presentation.slides if footer_text else []:
        box = slide.shapes.add_textbox(Emu(0), Emu(height - box_height), width, box_height)
        box.name = "Footer notice"
        frame = box.text_frame
        frame.text = footer_text
        paragraph = frame.paragraphs[0]
        paragraph.alignment = PP_ALIGN.CENTER
        for run in paragraph.runs:
            run.font.size = PptxPt(12)
            run.font.bold = True
            run.font.color.rgb = PptxRGBColor(0x80, 0x16, 0x50)
    presentation.save(str(path))
    normalise_zip(path)


PPTX_TABLE_POINTS = 11
"""Table text size on slides: pandoc leaves PowerPoint's 18 pt default, which overflows."""

PPTX_CAPTION_POINTS = 12
"""Figure and table captions on slides."""

PPTX_BODY_POINTS: tuple[tuple[int, int], ...] = ((700, 12), (450, 16), (300, 20))
"""(characters in a text frame, point size): long slide text gets smaller type, so it fits."""


def fit_pptx_text(slide: Any) -> None:
    """Size a slide's text so it fits: tables and captions small, long bullet lists smaller.

    pandoc's PPTX writer sets no sizes, and PowerPoint's defaults (18 pt tables, 28 pt bodies)
    overflow a slide holding a five-column table or a numbered reference list.
    """
    for shape in slide.shapes:
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    for paragraph in cell.text_frame.paragraphs:
                        for run in paragraph.runs:
                            run.font.size = PptxPt(PPTX_TABLE_POINTS)
            continue
        if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
            continue
        if shape.is_placeholder and shape.placeholder_format.type is not None and \
                "TITLE" in str(shape.placeholder_format.type):
            continue
        text = shape.text_frame.text.strip()
        if re.match(r"^(Figure|Table)\s*\d+", text):
            points = PPTX_CAPTION_POINTS
        else:
            points = next((size for limit, size in PPTX_BODY_POINTS if len(text) > limit), None)
        if points is None:
            continue
        for paragraph in shape.text_frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = PptxPt(points)


def html_visible_text(path: Path) -> str:
    """The text a reader sees in an HTML file (scripts and styles removed)."""
    tree = lxml.html.fromstring(path.read_bytes())
    for element in tree.xpath("//script|//style|//noscript"):
        element.drop_tree()
    return tree.text_content()


def external_resources(path: Path) -> list[str]:
    """Resource references in an HTML file that would be fetched from the network."""
    tree = lxml.html.fromstring(path.read_bytes())
    found: list[str] = []
    for tag, attribute in RESOURCE_ATTRIBUTES:
        for element in tree.iter(tag):
            value = element.get(attribute) or element.get("{http://www.w3.org/1999/xlink}href")
            if value and EXTERNAL_URL.match(value):
                if tag == "link" and (element.get("rel") or "").lower() not in (
                    "stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch",
                ):
                    continue
                found.append(f"<{tag} {attribute}={value!r}>")
    for style in tree.iter("style"):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", style.text or ""):
            found.append(f"css url({url})")
        for url in re.findall(r"@import\s+['\"]((?:https?:)?//[^'\"]+)", style.text or ""):
            found.append(f"css @import {url}")
    return found


def docx_text(path: Path) -> str:
    """All text of a DOCX: body paragraphs, tables, headers and footers."""
    document = Document(str(path))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(paragraph.text for paragraph in section.footer.paragraphs)
        parts.extend(paragraph.text for paragraph in section.header.paragraphs)
    return "\n".join(parts)


def pdf_text(path: Path) -> str:
    """Extracted text of every page of a PDF."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)


def pptx_text(path: Path) -> str:
    """All text of a PPTX, speaker notes included."""
    presentation = Presentation(str(path))
    parts: list[str] = []
    for slide in presentation.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                for row in shape.table.rows:
                    parts.extend(cell.text for cell in row.cells)
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def output_text(path: Path, output: str) -> str:
    """Reader-visible text of a rendered file."""
    if output in ("html", "revealjs"):
        return html_visible_text(path)
    if output == "docx":
        return docx_text(path)
    if output == "pdf":
        return pdf_text(path)
    if output == "pptx":
        return pptx_text(path)
    raise RenderError(f"unknown output format {output!r}")


def verify_output(path: Path, output: str, source: Path, required_text: str | None) -> None:
    """Fail if an output still holds unresolved markers, lacks the notice, or (HTML) would
    fetch anything from the network."""
    text = output_text(path, output)
    for marker in LEFTOVER_MARKERS:
        index = text.find(marker)
        if index >= 0:
            context = " ".join(text[max(0, index - 40): index + 40].split())
            raise RenderError(f"{source}: {output} output still contains {marker!r} "
                              f"(unresolved shortcode or cross-reference) near: {context!r}")
    if required_text and " ".join(required_text.split()) not in " ".join(text.split()):
        raise RenderError(f"{source}: {output} output lacks the notice {required_text!r}")
    if output in ("html", "revealjs"):
        external = external_resources(path)
        if external:
            raise RenderError(f"{source}: {output} output would fetch from the network: "
                              + ", ".join(external[:5]))
