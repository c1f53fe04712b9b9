"""End-to-end tests of the offline renderer (analysis.publish.render) on the SYNTHETIC fixture project.

The fixture project (tests/fixtures/render/project) uses every supported feature; its executed
notebook is built here with nbformat (Vega-Lite spec + PNG from vl-convert, markdown table).
Each document is rendered once per test module to all five formats.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import zipfile
from pathlib import Path

import lxml.html
import pytest
from docx import Document
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pypdf import PdfReader

from analysis.publish.render import RenderError, SYNTHETIC_NOTICE, render
from analysis.publish.render.outputs import external_resources, html_visible_text
from analysis.publish.render.templates import REFERENCE_DOCX, REVEALJS_DIR, build_reference_docx

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "render"))
from build_fixture import CELL_ALT, FIGURE_ALT, build_project  # noqa: E402

ALL_FORMATS = ["html", "docx", "pdf", "revealjs", "pptx"]
needs_revealjs = pytest.mark.skipif(
    not (REVEALJS_DIR / "dist" / "reveal.js").is_file(),
    reason="reveal.js not installed (npm install --no-save reveal.js@5)",
)


def normalise(text: str) -> str:
    """Collapse whitespace (including non-breaking spaces) for comparisons."""
    return " ".join(text.replace("\u00a0", " ").split())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("render") / "project")


@pytest.fixture(scope="module")
def report(project: Path) -> dict[str, Path]:
    formats = ALL_FORMATS if (REVEALJS_DIR / "dist" / "reveal.js").is_file() else [
        name for name in ALL_FORMATS if name != "revealjs"]
    results = render(project / "reports" / "report.qmd", formats, project / "out",
                     engine="offline")
    return {item.output: item.path for item in results}


@pytest.fixture(scope="module")
def slides(project: Path) -> dict[str, Path]:
    formats = ["revealjs", "pptx"] if (REVEALJS_DIR / "dist" / "reveal.js").is_file() else [
        "pptx"]
    results = render(project / "reports" / "slides.qmd", formats, project / "out",
                     engine="offline")
    return {item.output: item.path for item in results}


def test_outputs_named_and_no_temporary_files_left(project: Path, report: dict[str, Path],
                                                   slides: dict[str, Path]) -> None:
    names = sorted(path.name for path in (project / "out").iterdir())
    expected = {"html": "report.html", "docx": "report.docx", "pdf": "report.pdf",
                "revealjs": "report-slides.html", "pptx": "report.pptx"}
    assert {report[key].name for key in report} <= set(expected.values())
    assert all(not name.startswith(".render-") for name in names)


def test_html_resolves_shortcodes_captions_and_references(report: dict[str, Path]) -> None:
    text = normalise(html_visible_text(report["html"]))
    assert "Figure 1: Contacts with services by phase (synthetic)" in text
    assert "Table 1: Women recruited by site (synthetic)" in text
    assert "Figure 2: A drawn care pathway" in text
    assert "Table 2: Interviews by wave" in text
    assert "Contacts by phase are in Figure 1 and counts by site in Table 1" in text
    assert "the pathway diagram is Figure 2 and interviews by wave are in Table 2." in text
    assert "recruited 36 women" in text  # var
    assert "identifier is FIXTURE-REPORT-7" in text  # meta
    assert "INCLUDED-MARKER" in text and "called Fixture Study" in text  # include + var
    assert "Fixture report: Fixture Study" in text  # var in title metadata
    assert "SPEAKER-NOTE-MARKER" not in text  # notes only in slides
    assert "HTML-ONLY-MARKER" in text and "EXTRA-MARKER" in text  # conditional content
    assert "(Fixture and Example 2024)" in text  # citeproc citation and bibliography
    assert "A Synthetic Reference for Renderer Tests" in text  # default CSL title case
    assert SYNTHETIC_NOTICE in text
    for leftover in ("{{<", "?@", "@fig-", "@tbl-"):
        assert leftover not in text


def test_html_structure_is_accessible(report: dict[str, Path]) -> None:
    tree = lxml.html.fromstring(report["html"].read_bytes())
    assert tree.get("lang") == "en-GB"
    assert tree.xpath("//nav[@role='doc-toc']//a[@href='#results']")
    assert tree.xpath("//main//h2")
    figure = tree.xpath("//figure[@id='fig-contacts']")[0]
    image = figure.xpath(".//img")[0]
    assert image.get("alt") == FIGURE_ALT  # computed alt preferred over the cell's fig-alt
    assert image.get("alt") != CELL_ALT
    assert figure.xpath(".//div[@class='vega-view' and @role='img']")
    children = [child.tag for child in figure.iter() if child.tag in ("img", "figcaption")]
    assert children.index("img") < children.index("figcaption")  # caption below the figure
    callouts = tree.xpath("//div[contains(@class,'callout-note')]")
    assert callouts and "What the numbers mean" in normalise(callouts[0].text_content())
    warning = tree.xpath("//div[contains(@class,'callout-warning')]//strong")[0]
    assert normalise(warning.text_content()) == "Synthetic data"
    assert len(tree.xpath("//table")) == 2


def test_html_is_self_contained(report: dict[str, Path]) -> None:
    path = report["html"]
    assert external_resources(path) == []
    raw = path.read_text(encoding="utf-8")
    tags = re.findall(r"<(?:script|img|link|iframe|source)\b[^>]*>", raw)
    assert not [tag for tag in tags if re.search(r"(src|href)=\"(https?:)?//", tag)]
    assert raw.count("window.vegaEmbed=") == 1  # the bundle is inlined once
    assert 'src="data:image/png;base64,' in raw


@pytest.mark.skipif(shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists(),
                    reason="no Chromium for a browser check")
def test_html_in_browser_makes_no_requests_and_draws_vega(report: dict[str, Path]) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    from axe_playwright_python.sync_playwright import Axe

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox"])
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report["html"].as_uri())
        page.wait_for_selector(".vega-view[data-rendered='true'] svg", timeout=10000)
        assert page.evaluate("document.querySelector('img.vega-fallback').hidden") is True
        assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
        result = Axe().run(page)
        serious = [violation["id"] for violation in result.response["violations"]
                   if violation["impact"] in ("serious", "critical")]
        browser.close()
    assert serious == []


def test_docx_tables_alt_text_pagebreak_footer(report: dict[str, Path]) -> None:
    document = Document(str(report["docx"]))
    assert len(document.tables) == 2  # real Word tables
    assert document.tables[0].cell(0, 0).text == "Site"
    assert document.tables[0].cell(2, 1).text == "<5"
    xml = document.element.xml
    assert '<w:br w:type="page"/>' in xml
    descriptions = re.findall(r'descr="([^"]*)"', xml)
    assert FIGURE_ALT in descriptions
    assert "Three boxes joined by arrows: midwife, drug service, social care." in descriptions
    assert not [text for text in descriptions if text.endswith(".png")]
    paragraphs = document.paragraphs
    caption_index = next(i for i, p in enumerate(paragraphs)
                         if normalise(p.text).startswith("Figure 1: Contacts"))
    assert paragraphs[caption_index - 1]._p.xpath(".//w:drawing")  # image above its caption
    assert paragraphs[caption_index].style.name == "Image Caption"
    assert any(p.style.name == "Heading 2" and p.text == "Results" for p in paragraphs)
    body = normalise("\n".join(p.text for p in paragraphs))
    assert "Figure 1 and counts by site in Table 1" in body
    assert "SPEAKER-NOTE-MARKER" not in body
    assert "HTML-ONLY-MARKER" not in body and "EXTRA-MARKER" in body
    assert "Fixture and Example 2024" in body
    footer = document.sections[0].footer.paragraphs[0].text
    assert footer == SYNTHETIC_NOTICE
    assert document.styles["Normal"].font.name == "Arial"


def test_pdf_pages_footer_and_pagebreak(report: dict[str, Path]) -> None:
    reader = PdfReader(str(report["pdf"]))
    pages = [normalise(page.extract_text()) for page in reader.pages]
    assert len(pages) >= 4  # title page, contents, body, page after the break
    assert "Fixture report: Fixture Study" in pages[0]
    total = len(pages)
    for number, text in enumerate(pages[1:], start=2):
        assert SYNTHETIC_NOTICE in text
        assert f"Page {number} of {total}" in text
    after = next(i for i, text in enumerate(pages) if "This section starts on a new page" in text)
    before = next(i for i, text in enumerate(pages) if "Nothing in this document is a study" in text)
    assert after > before  # the pagebreak moved the last section to a new page
    body = " ".join(pages)
    assert "Figure 1: Contacts with services by phase (synthetic)" in body
    assert "Table 2: Interviews by wave" in body
    assert "refers back to Figure 1" in body


def test_pptx_notes_footer_and_alt_text(slides: dict[str, Path]) -> None:
    presentation = Presentation(str(slides["pptx"]))
    notes = [slide.notes_slide.notes_text_frame.text for slide in presentation.slides
             if slide.has_notes_slide]
    assert any("SPEAKER-NOTE-MARKER: say that Figure 1 is synthetic." in normalise(n)
               for n in notes)
    for slide in presentation.slides:
        texts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        assert SYNTHETIC_NOTICE in texts
    pictures = [shape for slide in presentation.slides for shape in slide.shapes
                if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert pictures and pictures[0]._element.nvPicPr.cNvPr.get("descr") == FIGURE_ALT


@needs_revealjs
def test_revealjs_single_file_with_notes(slides: dict[str, Path]) -> None:
    path = slides["revealjs"]
    tree = lxml.html.fromstring(path.read_bytes())
    notes = tree.xpath("//aside[contains(@class,'notes')]")
    assert notes and "SPEAKER-NOTE-MARKER" in notes[0].text_content()
    assert "Figure 1" in normalise(notes[0].text_content())
    assert external_resources(path) == []
    raw = path.read_text(encoding="utf-8")
    assert "Reveal.initialize" in raw and "RevealNotes" in raw
    assert SYNTHETIC_NOTICE in normalise(html_visible_text(path))


def test_unresolved_variable_fails_with_file_and_line(project: Path, tmp_path: Path) -> None:
    source = project / "reports" / "broken_var.qmd"
    source.write_text("---\ntitle: Broken\n---\n\nText {{< var study.nope >}}.\n")
    out = tmp_path / "out"
    with pytest.raises(RenderError, match=r"broken_var\.qmd:5: variable 'study\.nope'"):
        render(source, ["html"], out, engine="offline")
    assert list(out.iterdir()) == []  # nothing half-written, no temporary folder left


def test_unresolved_embed_label_fails_with_file_and_line(project: Path, tmp_path: Path) -> None:
    source = project / "reports" / "broken_embed.qmd"
    source.write_text("---\ntitle: Broken\n---\n\n"
                      "{{< embed /data_derived/notebooks/fixture.ipynb#fig-absent >}}\n")
    with pytest.raises(RenderError, match=r"broken_embed\.qmd:5: .*fig-absent"):
        render(source, ["docx"], tmp_path, engine="offline")


def test_source_outside_subset_is_refused_before_rendering(project: Path,
                                                           tmp_path: Path) -> None:
    source = project / "reports" / "broken_xref.qmd"
    source.write_text("---\ntitle: Broken\n---\n\nSee @fig-nowhere.\n")
    with pytest.raises(RenderError, match=r"broken_xref\.qmd:5: \[crossref-unresolved\]"):
        render(source, ["html"], tmp_path, engine="offline")
    assert list(tmp_path.iterdir()) == []


def test_citation_missing_from_bibliography_fails(project: Path, tmp_path: Path) -> None:
    source = project / "reports" / "broken_cite.qmd"
    source.write_text("---\ntitle: Broken\nbibliography: references.bib\n---\n\n"
                      "As shown before [@nobody1999].\n")
    with pytest.raises(RenderError, match=r"broken_cite\.qmd:6: citation\(s\) not in the "
                                          r"bibliography: @nobody1999"):
        render(source, ["html"], tmp_path, engine="offline")


def test_docx_render_is_reproducible(project: Path, report: dict[str, Path],
                                     tmp_path: Path) -> None:
    again = render(project / "reports" / "report.qmd", ["docx"], tmp_path, engine="offline")
    assert again[0].path.read_bytes() == report["docx"].read_bytes()


def test_metadata_override_changes_meta_shortcode(project: Path, tmp_path: Path) -> None:
    result = render(project / "reports" / "report.qmd", ["html"], tmp_path, engine="offline",
                    metadata=["report-id=OVERRIDDEN-9"])
    assert "identifier is OVERRIDDEN-9" in normalise(html_visible_text(result[0].path))


def test_reference_docx_is_rebuilt_identically(tmp_path: Path) -> None:
    built = build_reference_docx(tmp_path / "reference.docx")
    assert hashlib.sha256(built.read_bytes()).hexdigest() == hashlib.sha256(
        REFERENCE_DOCX.read_bytes()).hexdigest()
    with zipfile.ZipFile(built) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.skipif(shutil.which("quarto") is None,
                    reason="Quarto is not installed here; the offline engine is tested instead")
def test_quarto_engine_renders_the_same_source(project: Path, tmp_path: Path) -> None:
    result = render(project / "reports" / "report.qmd", ["html"], tmp_path, engine="quarto")
    text = normalise(html_visible_text(result[0].path))
    assert "recruited 36 women" in text and "Figure 1" in text


def test_office_outputs_hold_no_build_paths_and_html_is_stable(project: Path, tmp_path: Path) -> None:
    """DOCX and PPTX keep no absolute path of the build in their document properties (the
    bibliography, the document's folder), so the same source gives the same bytes wherever the
    project is cloned; a callout's HTML attributes come out in one order on every render."""
    import zipfile

    source = project / "reports" / "stable.qmd"
    source.write_text("---\ntitle: Stable\nbibliography: references.bib\n---\n\n"
                      "::: {.callout-important title=\"Synthetic data\"}\nNot findings.\n:::\n\n"
                      "As shown before [@drugscope2020].\n")
    (project / "reports" / "references.bib").write_text(
        "@misc{drugscope2020,\n  title = {A report},\n  author = {Someone},\n  year = {2020}\n}\n")
    for output in ("docx", "pptx"):
        first, second = tmp_path / f"a-{output}", tmp_path / f"b-{output}"
        for out in (first, second):
            render(source, [output], out, engine="offline")
        with zipfile.ZipFile(first / f"stable.{output}") as package:
            properties = package.read("docProps/custom.xml").decode("utf-8") if "docProps/custom.xml" in package.namelist() else ""
        assert str(project) not in properties and str(tmp_path) not in properties, properties
        assert (first / f"stable.{output}").read_bytes() == (second / f"stable.{output}").read_bytes()
    pages = set()
    for attempt in range(4):
        out = tmp_path / f"html-{attempt}"
        render(source, ["html"], out, engine="offline")
        pages.add((out / "stable.html").read_bytes())
    assert len(pages) == 1
