"""Tests of analysis.publish.render.check: the subset check rejects what the offline renderer would not
render as Quarto does (fixtures in tests/fixtures/render/bad are SYNTHETIC)."""

from __future__ import annotations

import sys
from pathlib import Path

from analysis.publish.render.__main__ import main
from analysis.publish.render.check import check_sources

FIXTURES = Path(__file__).parent / "fixtures" / "render"


def rules(path: Path) -> set[tuple[str, int]]:
    return {(problem.rule, problem.line) for problem in check_sources([path])}


def test_fixture_project_passes(tmp_path: Path) -> None:
    sys.path.insert(0, str(FIXTURES))
    from build_fixture import build_project

    project = build_project(tmp_path / "project")  # with the image the report shows
    assert check_sources([project]) == []


def test_unsupported_shortcode_is_rejected_with_line() -> None:
    problems = check_sources([FIXTURES / "bad" / "unsupported_shortcode.qmd"])
    assert [(p.rule, p.line) for p in problems] == [("shortcode-unsupported", 7)]
    assert "'video'" in problems[0].message


def test_python_chunk_is_rejected_with_line() -> None:
    problems = check_sources([FIXTURES / "bad" / "python_chunk.qmd"])
    assert [(p.rule, p.line) for p in problems] == [("executable-code", 7)]


def test_other_constructs_are_each_rejected() -> None:
    found = rules(FIXTURES / "bad" / "other_constructs.qmd")
    assert ("front-matter", 1) in found  # number-sections
    assert ("crossref-type", 6) in found  # {#sec-intro}
    assert ("crossref-type", 8) in found  # @sec-intro
    assert ("citation", 8) in found  # @smith2020 without a bibliography
    assert ("crossref-unresolved", 8) in found  # @fig-missing
    assert ("callout-type", 10) in found  # .callout-danger
    assert ("raw-format", 14) in found  # {=latex}
    assert ("executable-code", 18) in found  # inline {python}
    assert ("raw-tex", 18) in found  # \clearpage


def test_block_shortcode_inside_a_paragraph_and_bad_embed(tmp_path: Path) -> None:
    source = tmp_path / "doc.qmd"
    source.write_text(
        "Text {{< pagebreak >}} more.\n\n"
        "{{< embed nb.ipynb >}}\n\n"
        "{{< embed nb.ipynb#fig-a,fig-b >}}\n\n"
        "{{< embed nb.ipynb#fig-c echo=true >}}\n\n"
        "See @fig-c and @tbl-none.\n\n"
        "![Cap](x.png){#fig-d}\n\n"
        "::: {.panel-tabset}\n\n:::\n\n"
        '::: {.content-visible when-profile="x"}\n:::\n\n'
        '::: {.content-hidden when-format="latex"}\n:::\n\n'
        '::: {.content-visible when-meta="a.b" unless-format="docx"}\n:::\n'
    )
    found = rules(source)
    assert ("shortcode-block", 1) in found
    assert ("shortcode-args", 3) in found
    assert ("shortcode-args", 5) in found
    assert not [rule for rule in found if rule[1] == 7]  # a valid embed with echo=true
    assert ("crossref-unresolved", 9) in found and len([r for r in found if r[1] == 9]) == 1
    assert ("figure-alt", 11) in found
    assert ("div-class", 13) in found
    assert ("conditional", 17) in found
    assert ("conditional", 20) in found
    assert not [rule for rule in found if rule[1] == 23]


def test_code_blocks_are_not_checked_as_prose(tmp_path: Path) -> None:
    source = tmp_path / "doc.qmd"
    source.write_text("```markdown\n\\newpage <div> @smith2020 ::: {.callout-x}\n```\n")
    assert check_sources([source]) == []


def test_cli_exit_status(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(FIXTURES))
    from build_fixture import build_project

    assert main(["check", str(build_project(tmp_path / "project"))]) == 0
    assert main(["check", str(FIXTURES / "bad")]) == 1
    assert "python_chunk.qmd:7: [executable-code]" in capsys.readouterr().out
