"""End-to-end tests of the final report, the slides and the briefings.

One build, shared by this module, tests/test_browser.py and tests/test_briefings.py: the
``report_outputs`` fixture runs ``make -s report slides briefings`` (a no-op when everything is
up to date) and returns the output folder. All these tests share the xdist group ``reports`` so
that they run in one worker, one after the other, against the same files.

Checked here: the DOCX is a real Word document (NIHR headings in order, Word tables, alt text on
every figure, footer notice) that LibreOffice converts cleanly; the PDF has every section; no output
holds an unresolved shortcode or cross-reference; the plain language summary has at most 300
words and no abbreviations; the numbers quoted by the prose equal what the derived data give.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from analysis.core.paths import PROJECT_ROOT
from analysis.publish.render.outputs import pdf_text, pptx_text

OUTPUT_DIR = PROJECT_ROOT / "reports" / "_output"
VARIABLES = PROJECT_ROOT / "_variables.yml"
DERIVED = Path(os.environ.get("DATA_DERIVED", PROJECT_ROOT / "data_derived"))
SETUP_STAMP = PROJECT_ROOT / ".venv" / ".setup-complete"

REPORT_FILES = ("report.docx", "report.html", "report.pdf")
SLIDE_FILES = ("slides.html", "slides.pptx")
BRIEFING_TARGETS = ("east_london", "huddersfield", "glasgow", "ayrshire", "overall")

CHAPTERS = [
    "Abstract", "Plain language summary", "Scientific summary", "Introduction", "Methods",
    "Results", "Discussion", "Conclusions", "Additional information", "References",
    "Appendix 1: COREQ checklist", "Appendix 2: Assumptions and caveats",
]
"""Top-level headings of the report, in the order the NIHR Journals Library asks for."""

ABSTRACT_HEADINGS = [
    "Background", "Objectives", "Design", "Setting", "Participants", "Interventions",
    "Main outcome measures", "Results", "Limitations", "Conclusions", "Future work",
    "Study registration", "Funding",
]
"""The NIHR structured-abstract headings, in order."""

REQUIRED_SECTIONS = [
    "Equality, diversity and inclusion", "Patient and public involvement",
    "Data-sharing statement", "Ethics statement", "Contributions of authors (CRediT)",
]

UNRESOLVED = [re.compile(pattern) for pattern in (r"\{\{<", r"\?@", r"\?\?", r"(?<![\w.])@fig-",
                                                   r"(?<![\w.])@tbl-", r"\[@[A-Za-z]")]
"""Traces of a shortcode, cross-reference or citation that was not resolved."""

pytestmark = pytest.mark.xdist_group("reports")


def _newest_input() -> float:
    """Modification time of the newest file the outputs are made from."""
    inputs = [*(PROJECT_ROOT / "reports").rglob("*.qmd"), PROJECT_ROOT / "reports" / "references.bib",
              PROJECT_ROOT / "reports" / "vancouver.csl", PROJECT_ROOT / "_quarto.yml", VARIABLES,
              *(DERIVED / "notebooks").glob("0[23]_*.ipynb"), *(PROJECT_ROOT / "analysis" / "publish" / "render").glob("*.py"),
              PROJECT_ROOT / "analysis" / "publish" / "briefings.py"]
    return max(path.stat().st_mtime for path in inputs if path.exists() and "_output" not in path.parts)


def _expected_outputs() -> list[Path]:
    return [*(OUTPUT_DIR / name for name in (*REPORT_FILES, *SLIDE_FILES)),
            *(OUTPUT_DIR / "briefings" / f"{t}.{ext}" for t in BRIEFING_TARGETS for ext in ("docx", "pdf"))]


def _run(command: list[str]) -> None:
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=3600, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


@functools.cache
def build_outputs() -> Path:
    """Build the report, slides and briefings once per process, one process at a time.

    pytest-xdist workers (and a developer's second test run) may ask at the same moment; an
    exclusive lock on ``reports/.build.lock`` serialises them, so the second finds everything
    up to date instead of racing the first over the same build files.

    With a set-up project (``make setup`` done) this is ``make -s report slides briefings``, which
    also reruns any analysis stage that is out of date. Without the setup stamp (a prepared
    environment, e.g. running pytest directly) the same commands the Makefile runs are called
    for any output older than its inputs; the executed notebooks and ``_variables.yml`` must exist.
    ``REPORT_TESTS_BUILD=direct`` chooses the second way even in a set-up project.
    """
    import fcntl

    with open(PROJECT_ROOT / "reports" / ".build.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_outputs_unlocked()


def _build_outputs_unlocked() -> Path:
    if SETUP_STAMP.exists() and os.environ.get("REPORT_TESTS_BUILD", "make") != "direct":
        _run(["make", "-s", "--no-print-directory", "report", "slides", "briefings"])
        return OUTPUT_DIR
    missing = [path for path in (VARIABLES, DERIVED / "notebooks" / "03_synthesis.ipynb") if not path.exists()]
    if missing:
        pytest.skip(f"the analysis has not been run ({', '.join(map(str, missing))} missing): run `make analysis`")
    newest = _newest_input()
    stale = {path for path in _expected_outputs() if not path.exists() or path.stat().st_mtime < newest}
    python = str(PROJECT_ROOT / ".venv" / "bin" / "python")
    out = str(OUTPUT_DIR)
    for source, formats in (("report", ("docx", "html", "pdf")), ("slides", ("revealjs", "pptx"))):
        for fmt in formats:
            target = OUTPUT_DIR / f"{source}.{'html' if fmt == 'revealjs' else fmt}"
            if target in stale:
                _run([python, "-m", "analysis.publish.render", f"reports/{source}.qmd", "--to", fmt, "--out", out])
    for target in BRIEFING_TARGETS:
        for fmt in ("docx", "pdf"):
            if OUTPUT_DIR / "briefings" / f"{target}.{fmt}" in stale:
                _run([python, "-m", "analysis.publish.briefings", target, "--to", fmt, "--out", f"{out}/briefings"])
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def report_outputs() -> Path:
    """The rendered outputs folder, built once."""
    return build_outputs()


@functools.cache
def variables() -> dict[str, Any]:
    """``_variables.yml`` as written by the synthesis notebook."""
    return yaml.safe_load(VARIABLES.read_text(encoding="utf-8"))


def docx_paragraphs(path: Path) -> list[tuple[str, str]]:
    """(style name, text) of every body paragraph of a DOCX, in order."""
    import docx

    document = docx.Document(str(path))
    return [(paragraph.style.name if paragraph.style is not None else "", paragraph.text)
            for paragraph in document.paragraphs]


def docx_all_text(path: Path) -> str:
    """Every text run of a DOCX: body, tables, headers and footers (straight from the XML)."""
    with zipfile.ZipFile(path) as archive:
        parts = [name for name in archive.namelist()
                 if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes)\.xml", name)]
        texts = []
        for name in parts:
            xml = archive.read(name).decode("utf-8")
            texts.append(" ".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)))
    return "\n".join(texts)


def html_text(path: Path) -> str:
    """Visible text of an HTML file (scripts, styles and embedded data removed)."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(path.read_bytes())
    for element in tree.xpath("//script|//style"):
        element.getparent().remove(element)
    return " ".join(tree.text_content().split())


def section_text(paragraphs: list[tuple[str, str]], heading: str) -> str:
    """Text of the paragraphs after a Heading 1 ``heading`` up to the next Heading 1."""
    texts: list[str] = []
    inside = False
    for style, text in paragraphs:
        if style == "Heading 1":
            if inside:
                break
            inside = text.strip() == heading
            continue
        if inside and not style.startswith("Heading"):
            texts.append(text)
    return "\n".join(texts)


# ---------------------------------------------------------------- every output exists


def test_every_output_is_built(report_outputs: Path) -> None:
    expected = [*REPORT_FILES, *SLIDE_FILES,
                *(f"briefings/{t}.{ext}" for t in BRIEFING_TARGETS for ext in ("docx", "pdf"))]
    missing = [name for name in expected if not (report_outputs / name).is_file()]
    assert not missing, f"not built: {missing}"
    assert all((report_outputs / name).stat().st_size > 5_000 for name in expected)


def _all_output_texts(folder: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.name.startswith(".") or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.suffix == ".docx":
            texts[str(path.relative_to(folder))] = docx_all_text(path)
        elif path.suffix == ".pdf":
            texts[str(path.relative_to(folder))] = pdf_text(path)
        elif path.suffix == ".html":
            texts[str(path.relative_to(folder))] = html_text(path)
        elif path.suffix == ".pptx":
            texts[str(path.relative_to(folder))] = pptx_text(path)
    return texts


def test_no_output_holds_an_unresolved_shortcode_reference_or_citation(report_outputs: Path) -> None:
    texts = _all_output_texts(report_outputs)
    assert len(texts) >= len(REPORT_FILES) + len(SLIDE_FILES) + 2 * len(BRIEFING_TARGETS)
    found = {name: [m.group(0) for p in UNRESOLVED for m in [p.search(text)] if m]
             for name, text in texts.items()}
    assert not {name: hits for name, hits in found.items() if hits}


def test_synthetic_outputs_say_so(report_outputs: Path) -> None:
    if variables().get("synthetic") is not True:
        pytest.skip("the data are not synthetic")
    for name, text in _all_output_texts(report_outputs).items():
        assert "SYNTHETIC" in text.upper(), f"{name} does not say the data are synthetic"
    # The first page of the report and of each briefing says it, not only a footer.
    from pypdf import PdfReader

    for pdf in [report_outputs / "report.pdf", *sorted((report_outputs / "briefings").glob("*.pdf"))]:
        first = PdfReader(str(pdf)).pages[0].extract_text() or ""
        assert "SYNTHETIC" in first.upper(), f"{pdf.name}: first page has no synthetic notice"


# ---------------------------------------------------------------- the Word report


def test_docx_has_the_nihr_structure_in_order(report_outputs: Path) -> None:
    paragraphs = docx_paragraphs(report_outputs / "report.docx")
    level1 = [text.strip() for style, text in paragraphs if style == "Heading 1"]
    assert level1 == CHAPTERS
    abstract = []
    inside = False
    for style, text in paragraphs:
        if style == "Heading 1":
            inside = text.strip() == "Abstract"
        elif inside and style == "Heading 2":
            abstract.append(text.strip())
    assert abstract == ABSTRACT_HEADINGS
    level2 = {text.strip() for style, text in paragraphs if style == "Heading 2"}
    assert set(REQUIRED_SECTIONS) <= level2
    ppi = section_text(paragraphs, "Discussion")
    for label in ("Aim.", "Methods.", "Results.", "Outcomes.", "Critical reflection."):
        assert label in ppi, f"GRIPP2 short form item {label!r} missing"


def test_docx_tables_are_real_word_tables_with_captions(report_outputs: Path) -> None:
    import docx

    document = docx.Document(str(report_outputs / "report.docx"))
    tables = document.tables
    # Embedded notebook tables, the CRediT table and the COREQ checklist.
    assert len(tables) >= 8
    # the COREQ checklist: the largest table with an "Item" column (the EACG table has one too)
    coreq = [t for t in tables if t.rows and "Item" in [c.text for c in t.rows[0].cells]]
    assert coreq and max(len(t.rows) for t in coreq) >= 33
    captions = [p.text for p in document.paragraphs if re.match(r"Table\s\d+:", p.text)]
    assert len(captions) == len(tables)


def test_every_docx_figure_has_alt_text(report_outputs: Path) -> None:
    for path in [report_outputs / "report.docx", *sorted((report_outputs / "briefings").glob("*.docx"))]:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("word/document.xml").decode("utf-8")
        drawings = re.findall(r"<wp:docPr\b[^>]*>", xml)
        assert drawings, f"{path.name}: no figures"
        for element in drawings:
            descr = re.search(r'descr="([^"]*)"', element)
            assert descr and len(descr.group(1).strip()) >= 20, f"{path.name}: figure without alt text: {element}"


def test_docx_figure_captions_are_numbered_and_below_figures(report_outputs: Path) -> None:
    import docx

    document = docx.Document(str(report_outputs / "report.docx"))
    paragraphs = document.paragraphs
    numbers: list[int] = []
    for index, paragraph in enumerate(paragraphs):
        match = re.match(r"Figure\s(\d+):", paragraph.text)
        if match is None:
            continue
        numbers.append(int(match.group(1)))
        above = paragraphs[index - 1]._p.xml
        assert "<w:drawing" in above, f"caption {paragraph.text[:40]!r} is not directly below its figure"
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 5


def test_docx_converts_cleanly_with_libreoffice(report_outputs: Path, tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(report_outputs / "report.docx")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    converted = tmp_path / "report.pdf"
    assert result.returncode == 0 and converted.is_file(), result.stderr
    from pypdf import PdfReader

    reader = PdfReader(str(converted))
    assert len(reader.pages) >= 15
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    for heading in CHAPTERS:
        assert heading in text


# ---------------------------------------------------------------- PDF and HTML report


def test_pdf_report_has_every_section(report_outputs: Path) -> None:
    text = pdf_text(report_outputs / "report.pdf")
    for heading in [*CHAPTERS, *REQUIRED_SECTIONS, "Main outcome measures"]:
        assert heading in text, heading
    # Typst joins "Figure" and its number with a no-break space (\s matches it).
    assert re.search(r"Figure\s\d+:", text) and re.search(r"Table\s\d+:", text)


def test_references_are_vancouver_numbered_and_complete(report_outputs: Path) -> None:
    paragraphs = docx_paragraphs(report_outputs / "report.docx")
    references = section_text(paragraphs, "References")
    bib = (PROJECT_ROOT / "reports" / "references.bib").read_text(encoding="utf-8")
    cited = set(re.findall(r"@([A-Za-z0-9_:-]+)", " ".join(
        p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "reports").rglob("*.qmd")
        if p.name != "briefing.qmd" and "_output" not in p.parts)))
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    report_cited = cited & keys
    # Vancouver: entries numbered "1. Surname AB, ..." in order of first citation.
    entries = re.findall(r"^\s*(\d+)\.\s", references, flags=re.MULTILINE)
    assert [int(n) for n in entries] == list(range(1, len(report_cited) + 1))
    assert "Gilmour L, Honeybul L" in references
    body = "\n".join(text for _, text in paragraphs)
    assert re.search(r"\(\d+(?:[,–-]\d+)*\)", body), "no numbered in-text citations"


# ---------------------------------------------------------------- plain language summary


def test_plain_language_summary_is_short_and_free_of_abbreviations(report_outputs: Path) -> None:
    paragraphs = docx_paragraphs(report_outputs / "report.docx")
    summary = section_text(paragraphs, "Plain language summary")
    words = re.findall(r"[\w'’-]+", summary)
    assert 150 <= len(words) <= 300, len(words)
    # NIHR: no abbreviations at all (so no all-capital tokens, and no "e.g.", "etc.").
    assert not re.findall(r"\b[A-Z]{2,}s?\b", summary)
    assert not re.search(r"\b(e\.g|i\.e|etc|approx)\b", summary)


# ---------------------------------------------------------------- numbers in the prose


def _table(name: str) -> pd.DataFrame:
    parquet = DERIVED / f"{name}.parquet"
    return pd.read_parquet(parquet) if parquet.exists() else pd.read_csv(DERIVED / f"{name}.csv")


def _number(value: str) -> int | None:
    text = str(value).replace(",", "")
    return int(text) if text.isdigit() else None


def test_key_numbers_equal_the_derived_data(report_outputs: Path) -> None:
    numbers = variables()
    participants = _table("participants")
    recruited = participants.loc[participants["recruited"].astype(bool)]
    interviews = _table("interviews")
    completed = interviews.loc[interviews["status"] == "completed"]
    expected = {
        ("women", "screened"): len(participants),
        ("women", "recruited"): len(recruited),
        ("interviews", "total"): len(completed),
        ("contacts", "total"): len(_table("contacts")),
        ("coding", "codes"): len(_table("codebook")),
        ("professionals", "total"): _table("professionals")["prof_id"].nunique(),
    }
    for site, n in recruited.groupby("site").size().items():
        expected[("women", "by_site", str(site))] = int(n)
    for wave, n in completed.groupby("wave")["study_id"].nunique().items():
        expected[("interviews", f"wave_{int(wave)}")] = int(n)
    from analysis.protect.policy import get_profile

    profile = get_profile(None)
    checked = 0
    for keys, value in expected.items():
        shown: Any = numbers
        for key in keys:
            shown = shown[key]
        parsed = _number(shown)
        if parsed is None:
            # Withheld by disclosure control: a primary marker only ever hides a small count; a
            # secondary marker may hide any count (so that a small one cannot be worked out).
            assert shown in (profile.primary_marker, profile.secondary_marker), f"{'.'.join(keys)}: {shown!r}"
            if shown == profile.primary_marker and profile.primary_marker != profile.secondary_marker:
                assert 0 < value <= profile.max_unsafe_count, f"{'.'.join(keys)} shown as {shown!r}, data give {value}"
            continue
        assert parsed == value, f"{'.'.join(keys)}: _variables.yml says {shown}, the data give {value}"
        checked += 1
    assert checked >= 6


def test_contacts_per_woman_before_and_after_birth_equal_the_data(report_outputs: Path) -> None:
    numbers = variables()["contacts"]
    participants = _table("participants")
    recruited = participants.loc[participants["recruited"].astype(bool)]
    contacts = _table("contacts")
    week = pd.to_numeric(contacts["week_rel_birth"], errors="coerce")
    for site, women in recruited.groupby("site").size().items():
        at_site = contacts["site"] == site
        before = int((at_site & (week >= -12) & (week < 0)).sum())
        after = int((at_site & (week >= 0) & (week < 12)).sum())
        for period, count in (("before", before), ("after", after)):
            shown = numbers[str(site)][f"{period}_per_woman"]
            if re.fullmatch(r"\d+(\.\d)?", str(shown)):
                assert float(shown) == pytest.approx(count / women, abs=0.05), (site, period)


def test_the_prose_quotes_the_key_numbers(report_outputs: Path) -> None:
    numbers = variables()
    text = " ".join(docx_all_text(report_outputs / "report.docx").split())
    recruited, screened = numbers["women"]["recruited"], numbers["women"]["screened"]
    assert f"screened {screened} women and recruited {recruited}" in text
    assert f"Altogether {numbers['interviews']['total']} interviews were completed" in text
    site = "east_london"
    before = numbers["contacts"][site]["before_per_woman"]
    assert f"In East London the average was {before} contacts per woman" in text
    briefing = " ".join(docx_all_text(report_outputs / "briefings" / f"{site}.docx").split())
    assert f"they had on average {before} contacts" in briefing


# ---------------------------------------------------------------- sources


def test_sources_stay_inside_the_supported_subset() -> None:
    from analysis.publish.render.check import check_sources

    problems = check_sources([PROJECT_ROOT / "reports" / "report.qmd", PROJECT_ROOT / "reports" / "slides.qmd"])
    assert problems == [], "\n".join(str(p) for p in problems)


def test_prose_types_no_data_numbers_by_hand() -> None:
    """Numbers about the study's data must come from {{< var >}}: the chapters may only type
    design facts (waves, weeks, months), published figures next to their citation, years and
    item numbers."""
    allowed = re.compile(
        r"^(?:1|2|3|4|5|6|7|8|12|16|18|20|24|1\.6|1\.7|5\.1|18\.2|2007|2008|2012|2016|2017|2020|2021|"
        r"2022|2023|2024|2025|2003|2010|2015|968|111|15,655|197|1,039|2,447|1,000|10,000|35|83|41|82\.5|"
        r"21|49|309152|130619|300|500|32|08|17|10)$")
    offenders: list[str] = []
    for path in sorted((PROJECT_ROOT / "reports" / "report").glob("*.qmd")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            prose = re.sub(r"\{\{<.*?>\}\}|\[@[^\]]*\]|@\w+|\{#[^}]*\}|^\|\s*\d+\s*\||^#+.*|^\d+\.\s", "", line)
            for token in re.findall(r"(?<![\w.])\d[\d,.]*\d|(?<![\w.])\d", prose):
                token = token.rstrip(".,")
                if not allowed.match(token):
                    offenders.append(f"{path.name}:{number}: {token}")
    assert not offenders, offenders


# ---------------------------------------------------------------- with real Quarto


def test_real_quarto_renders_the_same_report(report_outputs: Path, tmp_path: Path) -> None:
    """Where Quarto is installed, it renders the same sources to a report with the same structure."""
    if shutil.which("quarto") is None:
        pytest.skip("quarto is not installed here: the offline renderer made the outputs")
    python = str(PROJECT_ROOT / ".venv" / "bin" / "python")
    _run([python, "-m", "analysis.publish.render", "reports/report.qmd", "--to", "docx", "--engine", "quarto",
          "--out", str(tmp_path)])
    paragraphs = docx_paragraphs(tmp_path / "report.docx")
    assert [text.strip() for style, text in paragraphs if style == "Heading 1"] == CHAPTERS


def test_every_output_passes_the_output_check(report_outputs: Path) -> None:
    """What `make` runs last: identifiers, synthetic notice, shortcodes and the disclosure register."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "analysis.protect.output_check", "--outputs", str(report_outputs)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert (report_outputs / "output-check.csv").is_file()
