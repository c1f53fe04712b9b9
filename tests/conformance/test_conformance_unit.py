"""Unit tests of the conformance runner and of the subset check's allow-list (issue 10); the
documents are written here, SYNTHETIC, not taken from the Quarto corpus."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from analysis.publish.render import conformance
from analysis.publish.render.check import check_source
from analysis.publish.render.engine import render
from analysis.publish.render.syntax import parse_attributes


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rules(path: Path, outputs: list[str] | None = None) -> list[tuple[str, int]]:
    return [(problem.rule, problem.line) for problem in check_source(path, outputs=outputs)]


def test_parse_attributes() -> None:
    assert parse_attributes('{#fig-a .x key="a b" k2=v}') == (["fig-a"], ["x"],
                                                                {"key": "a b", "k2": "v"})
    assert parse_attributes("{not an attribute}") is None


def test_unknown_options_are_refused_with_their_line(tmp_path: Path) -> None:
    source = write(tmp_path / "d.qmd", "---\ntitle: T\ncode-annotations: below\n"
                   "format:\n  html:\n    body-classes: x\n---\n\nText.\n")
    found = check_source(source)
    assert ("option", 3) in [(p.rule, p.line) for p in found]
    assert any("body-classes" in p.message and p.line == 6 for p in found)


def test_per_format_options(tmp_path: Path) -> None:
    source = write(tmp_path / "d.qmd", "---\ntoc: true\n---\n\nText.\n")
    assert rules(source, ["html"]) == []
    assert rules(source, ["revealjs"]) == [("option", 2)]


def test_metadata_the_document_reads_is_allowed(tmp_path: Path) -> None:
    source = write(tmp_path / "d.qmd", "---\nclient:\n  name: A\nshow: true\n---\n\n"
                   "{{< meta client.name >}}\n\n::: {.content-visible when-meta=\"show\"}\nx\n:::\n")
    assert rules(source) == []
    other = write(tmp_path / "e.qmd", "---\nclient: A\n---\n\nText.\n")
    assert rules(other) == [("option", 2)]


def test_dates_quarto_would_reformat_are_refused(tmp_path: Path) -> None:
    assert rules(write(tmp_path / "a.qmd", "---\ndate: 2024-05-01\n---\n\nx\n")) == [("option", 2)]
    assert rules(write(tmp_path / "b.qmd", "---\ndate: \"1 May 2024\"\n---\n\nx\n")) == []


def test_attributes_classes_code_blocks_and_resources(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    source = write(tmp_path / "d.qmd", "\n".join([
        "# Heading {.unnumbered}",                       # 1 (refused by the old rule too)
        "[x]{.mark}",                                    # 2
        "![a](a.png){#fig-a fig-alt=\"A\" .lightbox}",    # 3
        "![b](https://example.org/b.png)",               # 4
        "![c](missing.png)",                             # 5
        "`x`{.python}",                                  # 6
        "```{.python filename=\"a.py\"}",                # 7
        "x = 1  # <1>",                                  # 8
        "```",                                           # 9
        "::: {.my-box}",                                 # 10
        ":::",                                           # 11
        "[y]{.content-visible when-format=\"html\"}",    # 12 allowed
        "```{.python .content-hidden unless-format=\"pdf\"}",  # 13 allowed
        "```",
        "See @fig-a.",
    ]) + "\n")
    found = set(rules(source))
    for line in (1, 2, 3, 4, 5, 6, 7, 8, 10):
        assert any(number == line for _, number in found), line
    assert not any(number in (12, 13) for _, number in found)


def test_brand_file_and_project_type(tmp_path: Path) -> None:
    write(tmp_path / "_quarto.yml", "project:\n  type: website\n")
    write(tmp_path / "_brand.yml", "color:\n  primary: red\n")
    source = write(tmp_path / "d.qmd", "x\n")
    assert {rule for rule, _ in rules(source)} == {"project", "brand"}


def test_conditional_spans_and_code_blocks_render(tmp_path: Path) -> None:
    source = write(tmp_path / "d.qmd", "\n".join([
        "[IN-HTML]{.content-visible when-format=\"html\"} [NOT-HTML]{.content-hidden "
        "when-format=\"html\"}",
        "",
        "```{.python .content-visible when-format=\"docx\"}",
        "DOCX_ONLY = 1",
        "```",
    ]) + "\n")
    made = render(source, ["html"], tmp_path / "out", engine="offline")[0].path
    text = made.read_text(encoding="utf-8")
    assert "IN-HTML" in text and "NOT-HTML" not in text and "DOCX_ONLY" not in text


def test_list_index_is_one_based(tmp_path: Path) -> None:
    source = write(tmp_path / "d.qmd", "---\nitems: [first, second]\n---\n\n"
                   "Item {{< meta items.1 >}}.\n")
    text = render(source, ["html"], tmp_path / "out", engine="offline")[0].path.read_text(
        encoding="utf-8")
    assert "Item first." in text


def test_test_specs_and_defaults() -> None:
    assert conformance.test_specs({"_quarto": {"tests": {"html": {"noErrors": None}}}}) == {
        "html": {"noErrors": None}}
    assert conformance.test_specs({"format": {"revealjs": {}, "pdf": {}}}) == {
        "revealjs": {}, "pdf": {}}
    assert conformance.test_specs({}) == {"html": {}}


def test_html_and_regex_assertions(tmp_path: Path) -> None:
    page = write(tmp_path / "a.html", "<html><body><div id='x' class='c'>Figure 1</div>"
                 "</body></html>")
    assert conformance.evaluate("ensureHtmlElements", [["div#x.c"], ["span"]], page, None,
                                []).result == "pass"
    assert conformance.evaluate("ensureHtmlElements", [["span"], []], page, None,
                                []).result == "fail"
    assert conformance.evaluate("ensureFileRegexMatches", [["^<html>"], ["Table"]], page,
                                None, []).result == "pass"
    assert conformance.evaluate("ensureFileRegexMatches", [["(?<n>Figure) 2"]], page,
                                None, []).result == "fail"
    assert conformance.evaluate("noErrorsOrWarnings", None, page, None,
                                ["[WARNING] x"]).result == "fail"
    assert conformance.evaluate("ensureLatexFileRegexMatches", [["x"]], page, None,
                                []).result == "not-evaluable"


def test_docx_xpath_assertion(tmp_path: Path) -> None:
    docx = tmp_path / "a.docx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", '<w:document xmlns:w="urn:w"><w:body><w:p><w:r>'
                         '<w:t>Table\u00a01</w:t></w:r></w:p></w:body></w:document>')
    good = conformance.evaluate("ensureDocxXpath", [['//w:t[contains(text(), "Table\u00a01")]'],
                                                    []], docx, None, [])
    bad = conformance.evaluate("ensureDocxXpath", [[], ["//w:p"]], docx, None, [])
    assert (good.result, bad.result) == ("pass", "fail")


@pytest.mark.parametrize("status_sets,expected", [
    ({"pass", "refused"}, "refused"), ({"pass"}, "pass"), ({"refused", "differ"}, "differ"),
    ({"crash", "differ"}, "crash"),
])
def test_document_status(status_sets: set[str], expected: str) -> None:
    outcomes = [conformance.FormatOutcome("d", str(index), status)
                for index, status in enumerate(sorted(status_sets))]
    assert conformance.document_status(outcomes) == expected


def test_run_document_differs_when_quarto_asserts_otherwise(tmp_path: Path) -> None:
    docs = tmp_path / "tests" / "docs"
    docs.mkdir(parents=True)
    passing = write(docs / "ok.qmd", "---\n_quarto:\n  tests:\n    html:\n      "
                    "ensureHtmlElements:\n        - ['p']\n        - []\n    latex: {}\n---\n\n"
                    "Text.\n")
    failing = write(docs / "no.qmd", "---\n_quarto:\n  tests:\n    html:\n      "
                    "ensureHtmlElements:\n        - ['div.quarto-title']\n        - []\n---\n\n"
                    "Text.\n")
    refused = write(docs / "ref.qmd", "---\n_quarto:\n  tests:\n    docx: {}\n"
                    "number-sections: true\n---\n\nText.\n")
    assert [o.status for o in conformance.run_document(passing, tmp_path)] == ["pass"]
    assert [o.status for o in conformance.run_document(failing, tmp_path)] == ["differ"]
    outcome = conformance.run_document(refused, tmp_path)[0]
    assert outcome.status == "refused" and outcome.detail.startswith("line ")
    line = conformance.summary(conformance.run_corpus(tmp_path, workers=1))
    assert line.startswith("conformance: 3 docs, refused 1, pass 1, differ 1, crash 0")
