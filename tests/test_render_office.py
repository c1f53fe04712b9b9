"""Office outputs: PPTX text sized to fit slides; the Word title page says when data are synthetic."""

from __future__ import annotations

from pptx import Presentation
from pptx.util import Inches, Pt

from analysis.publish.render.outputs import PPTX_CAPTION_POINTS, PPTX_TABLE_POINTS, fit_pptx_text


def _sizes(shape) -> set:
    frames = [c.text_frame for r in shape.table.rows for c in r.cells] if shape.has_table else [shape.text_frame]
    return {run.font.size for f in frames for p in f.paragraphs for run in p.runs}


def test_tables_captions_and_long_text_get_smaller_type_short_text_is_left_alone() -> None:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Four sites, four models of care"
    table = slide.shapes.add_table(2, 2, Inches(0.5), Inches(1.5), Inches(8), Inches(2)).table
    for row in table.rows:
        for cell in row.cells:
            cell.text = "Integrated hub"
    caption = slide.shapes.add_textbox(Inches(0.5), Inches(4), Inches(8), Inches(1))
    caption.text_frame.text = "Table\u00a01: Models of care at the four sites"
    long_text = slide.shapes.add_textbox(Inches(0.5), Inches(5), Inches(8), Inches(1))
    long_text.text_frame.text = "reference " * 80
    short = slide.shapes.add_textbox(Inches(0.5), Inches(6), Inches(8), Inches(1))
    short.text_frame.text = "Thank you"
    fit_pptx_text(slide)
    shapes = list(slide.shapes)
    assert _sizes(shapes[1]) == {Pt(PPTX_TABLE_POINTS)}
    assert _sizes(caption) == {Pt(PPTX_CAPTION_POINTS)}
    assert _sizes(long_text) == {Pt(12)}
    assert _sizes(short) == {None}
    assert _sizes(slide.shapes.title) == {None}


def test_word_title_page_gets_the_synthetic_notice_after_the_title_block() -> None:
    from docx import Document

    from analysis.publish.render.outputs import add_title_notice

    document = Document()
    document.add_paragraph("A report", style="Title")
    document.add_paragraph("For the funder", style="Subtitle")
    document.add_paragraph("Abstract text")
    assert add_title_notice(document, "SYNTHETIC DATA - not study findings")
    texts = [p.text for p in document.paragraphs]
    assert texts == ["A report", "For the funder", "SYNTHETIC DATA - not study findings", "Abstract text"]
    assert not add_title_notice(Document(), "x")
