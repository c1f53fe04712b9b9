"""Table header cells wrap between words, never inside one, in PDF, DOCX and HTML (issue 11).

A narrow table (many columns whose headers are short phrases of long words) is rendered by the
offline renderer; the PDF's text must hold every header word whole (no "Meet-" + "ing"), the
DOCX must not turn on automatic hyphenation, and the HTML's header cells must not hyphenate or
break inside a word."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import lxml.html
import pytest
from pypdf import PdfReader

from analysis.publish.figures import _markdown_table
from analysis.publish.render import render

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "render"))
from build_fixture import build_project  # noqa: E402

HEADERS = ["Theme", "Meeting needs", "Response time", "Supports given", "Women", "Professional segments", "Example"]
WORDS = sorted({word for header in HEADERS for word in header.split()}, key=len, reverse=True)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    project = build_project(tmp_path_factory.mktemp("headers") / "project")
    quote = "A long example quotation from a professional focus group about the support offered. "
    rows = [[f"Theme {i}", *[str(i * j) for j in range(1, len(HEADERS) - 1)], quote * i] for i in range(1, 4)]
    source = project / "reports" / "headers.qmd"
    source.write_text("---\ntitle: Header wrapping (synthetic)\n---\n\n## Narrow table\n\n"
                      + _markdown_table(HEADERS, rows) + "\n: Narrow headers {#tbl-narrow}\n", encoding="utf-8")
    results = render(source, ["pdf", "docx", "html"], project / "out", engine="offline")
    return {item.output: item.path for item in results}


def test_pdf_headers_wrap_at_word_boundaries(rendered: dict[str, Path]) -> None:
    text = "\n".join(page.extract_text() for page in PdfReader(str(rendered["pdf"])).pages)
    broken = re.findall(r"[A-Za-z]+-\s*\n\s*[a-z]+", text)
    assert not broken, f"header words hyphenated in the PDF: {broken}"
    flat = " ".join(text.split())
    for word in WORDS:
        assert word in flat, f"{word!r} not found whole in the PDF text"


def test_docx_does_not_hyphenate(rendered: dict[str, Path]) -> None:
    with zipfile.ZipFile(rendered["docx"]) as archive:
        settings = archive.read("word/settings.xml").decode("utf-8")
        document = archive.read("word/document.xml").decode("utf-8")
    assert "autoHyphenation" not in settings or 'autoHyphenation w:val="false"' in settings
    for word in WORDS:
        assert word in document


def test_html_header_cells_do_not_hyphenate_or_break_words(rendered: dict[str, Path]) -> None:
    page = rendered["html"].read_text(encoding="utf-8")
    rules = re.findall(r"(?<![\w-])th\s*\{([^}]*)\}", page)
    assert rules, "no th rule in the HTML's style sheet"
    for rule in rules:
        assert "hyphens: auto" not in rule and "break-word" not in rule and "break-all" not in rule
    assert any("hyphens: manual" in rule for rule in rules)
    headers = [" ".join(th.text_content().split()) for th in lxml.html.fromstring(page).iter("th")]
    assert set(HEADERS) <= set(headers)
