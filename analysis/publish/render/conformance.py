"""Run Quarto's own smoke-test documents through the offline renderer (issue 10).

Each document of Quarto's ``tests/docs/smoke-all/`` names, in ``_quarto: tests: <format>:``,
the assertions real Quarto's output must pass (defined in Quarto's ``tests/verify.ts``). For
every document and each format of the renderer's subset it names, :func:`run_document` runs the
subset check; if the check accepts the document, it renders offline and evaluates Quarto's
assertions on the output. Each (document, format) ends in one of:

- ``refused``: the check refused it, naming the feature and the line;
- ``pass``: rendered, and every assertion that can be evaluated offline holds;
- ``differ``: rendered, and at least one assertion fails (a broken promise);
- ``crash``: the check accepted it and the render stopped with an error (also a failure).

The project's accessibility rule (``fig-alt`` on every cross-referenced figure) is not a Quarto
feature: the suite waives it so that fidelity is measured, and records separately which
documents it would refuse (:data:`analysis.publish.render.check.PROJECT_RULES`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.publish.render.check import PROJECT_RULES, check_source
from analysis.publish.render.errors import RenderError

FORMAT_OUTPUTS: dict[str, str] = {
    "html": "html",
    "revealjs": "revealjs",
    "docx": "docx",
    "pptx": "pptx",
    "typst": "pdf",
    "pdf": "pdf",
}
"""Quarto ``--to`` formats the offline renderer claims, and the output it makes for each
(Quarto's ``pdf`` goes through LaTeX; the renderer's PDF goes through Typst)."""

NOT_EVALUABLE: dict[str, str] = {
    "ensureLatexFileRegexMatches": "inspects Quarto's intermediate LaTeX; the offline renderer "
                                   "makes PDF through Typst and has no .tex",
    "printsMessage": "matches Quarto's own log messages, which the offline renderer does not "
                     "print",
    "ensureSnapshotMatches": "compares with a snapshot of Quarto's output file byte for byte",
    "postRenderCleanup": "a clean-up instruction for Quarto's harness, not an assertion",
}
"""Assertion kinds that cannot be evaluated on an offline render, and why."""

CORPUS_ENV = "QUARTO_SMOKE_CORPUS"
"""Environment variable naming the corpus folder (overrides ``../shared/quarto-smoke``)."""

STATUSES = ("refused", "pass", "differ", "crash")


@dataclass
class FormatOutcome:
    """What happened to one document in one format."""

    document: str
    format: str
    status: str
    detail: str = ""
    project_rule: bool = False
    """The project's own accessibility rule (missing ``fig-alt``) would refuse it."""
    not_evaluated: list[str] = field(default_factory=list)
    evaluated: int = 0


@dataclass
class AssertionResult:
    """One Quarto assertion on one output: ``pass``, ``fail`` or ``not-evaluable``."""

    kind: str
    result: str
    message: str = ""


def corpus_root(repo_root: Path) -> Path | None:
    """The corpus folder (``$QUARTO_SMOKE_CORPUS`` or ``<repo>/../shared/quarto-smoke``), or
    None when it is absent."""
    override = os.environ.get(CORPUS_ENV)
    candidate = Path(override) if override else repo_root.parent / "shared" / "quarto-smoke"
    return candidate if (candidate / "tests" / "docs").is_dir() else None


def discover(corpus: Path) -> list[Path]:
    """Every ``.qmd`` test document under ``tests/docs`` (names starting ``_`` are partials,
    which Quarto's harness skips too)."""
    return sorted(path for path in (corpus / "tests" / "docs").rglob("*.qmd")
                  if not path.name.startswith("_"))


def read_front_matter(path: Path) -> dict[str, Any]:
    """The YAML front matter of a document (empty when it has none or it does not parse)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    match = re.match(r"---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)", text, re.S)
    if not match:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def test_specs(front: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Format -> assertions, as Quarto's ``smoke-all.test.ts`` reads them.

    Without ``_quarto: tests``, Quarto renders each format the front matter names (html when
    none) and requires no errors or warnings.
    """
    quarto = front.get("_quarto")
    tests = quarto.get("tests") if isinstance(quarto, dict) else None
    if isinstance(tests, dict):
        return {str(name): (value if isinstance(value, dict) else {})
                for name, value in tests.items()}
    declared = front.get("format")
    if isinstance(declared, dict):
        names = [str(name) for name in declared]
    elif isinstance(declared, str):
        names = [declared]
    else:
        names = ["html"]
    return {name: {} for name in names}


def js_regex(pattern: Any, multiline: bool) -> re.Pattern[str]:
    """Compile a JavaScript regular expression string as Python's ``re`` reads it."""
    text = str(pattern)
    text = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", text)
    text = text.replace("[^]", r"[\s\S]")
    return re.compile(text, re.M if multiline else 0)


def _pairs(value: Any) -> tuple[list[Any], list[Any]]:
    """``[[must], [must-not]]`` as Quarto's spread arguments give them."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        must = value[0]
        must_not = value[1] if len(value) > 1 and isinstance(value[1], list) else []
        return list(must), list(must_not)
    if isinstance(value, list):
        return list(value), []
    return [value], []


def _regex_result(kind: str, text: str, must: list[Any], must_not: list[Any],
                  multiline: bool) -> AssertionResult:
    for pattern in must:
        if not js_regex(pattern, multiline).search(text):
            return AssertionResult(kind, "fail", f"required match {pattern!r} is missing")
    for pattern in must_not:
        if js_regex(pattern, multiline).search(text):
            return AssertionResult(kind, "fail", f"illegal match {pattern!r} was found")
    return AssertionResult(kind, "pass")


def _html_result(kind: str, path: Path, value: Any) -> AssertionResult:
    from bs4 import BeautifulSoup  # soupsieve gives CSS selectors like deno-dom's

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")
    if kind == "ensureHtmlElements":
        must, must_not = _pairs(value)
        for selector in must:
            if soup.select_one(str(selector)) is None:
                return AssertionResult(kind, "fail", f"required element {selector!r} is missing")
        for selector in must_not:
            if soup.select_one(str(selector)) is not None:
                return AssertionResult(kind, "fail", f"illegal element {selector!r} is present")
        return AssertionResult(kind, "pass")
    if kind == "ensureHtmlElementCount":
        selectors = value.get("selectors") if isinstance(value, dict) else None
        counts = value.get("counts") if isinstance(value, dict) else None
        selectors = selectors if isinstance(selectors, list) else [selectors]
        counts = counts if isinstance(counts, list) else [counts]
        for selector, count in zip(selectors, counts):
            found = len(soup.select(str(selector)))
            if found != count:
                return AssertionResult(kind, "fail",
                                       f"{selector!r} matched {found} elements, expected {count}")
        return AssertionResult(kind, "pass")
    # ensureHtmlElementContents
    options = value if isinstance(value, dict) else {}
    for selector in options.get("selectors", []):
        element = soup.select_one(str(selector))
        if element is None:
            continue
        contents = element.get_text()
        for pattern in options.get("matches", []):
            if not js_regex(pattern, False).search(contents):
                return AssertionResult(kind, "fail", f"{selector!r} lacks {pattern!r}")
        for pattern in options.get("noMatches", []) or []:
            if js_regex(pattern, False).search(contents):
                return AssertionResult(kind, "fail", f"{selector!r} has {pattern!r}")
    return AssertionResult(kind, "pass")


def _xpath_result(kind: str, xml: bytes, must: list[Any], must_not: list[Any]) -> AssertionResult:
    from lxml import etree

    root = etree.fromstring(xml)
    namespaces = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    for expected, selectors in ((True, must), (False, must_not)):
        for selector in selectors:
            try:
                found = root.xpath(str(selector), namespaces=namespaces)
            except etree.XPathError as exc:
                return AssertionResult(kind, "not-evaluable",
                                       f"XPath {selector!r} is not XPath 1.0 ({exc})")
            present = bool(found) if isinstance(found, list) else found is not None
            if present != expected:
                word = "returned nothing" if expected else "matched"
                return AssertionResult(kind, "fail", f"XPath {selector!r} {word}")
    return AssertionResult(kind, "pass")


def evaluate(kind: str, value: Any, output: Path, intermediate: Path | None,
             warnings: list[str]) -> AssertionResult:
    """Evaluate one of Quarto's assertions on an offline output."""
    if kind in NOT_EVALUABLE:
        return AssertionResult(kind, "not-evaluable", NOT_EVALUABLE[kind])
    if kind in ("noErrors", "shouldError"):
        return AssertionResult(kind, "pass")  # decided by the caller from the render's result
    if kind == "noErrorsOrWarnings":
        if warnings:
            return AssertionResult(kind, "fail", "warnings: " + "; ".join(warnings[:3]))
        return AssertionResult(kind, "pass")
    if kind in ("ensureHtmlElements", "ensureHtmlElementCount", "ensureHtmlElementContents"):
        if output.suffix != ".html":
            return AssertionResult(kind, "fail", f"{kind} on a {output.suffix} output")
        return _html_result(kind, output, value)
    if kind == "ensureFileRegexMatches":
        must, must_not = _pairs(value)
        if output.suffix in (".docx", ".pptx", ".pdf"):
            return AssertionResult(kind, "not-evaluable",
                                   "regular expressions over a binary file's bytes")
        return _regex_result(kind, output.read_text(encoding="utf-8"), must, must_not, True)
    if kind == "ensureTypstFileRegexMatches":
        if intermediate is None or not intermediate.is_file():
            return AssertionResult(kind, "fail", "no .typ file was kept (keep-typ)")
        must, must_not = _pairs(value)
        return _regex_result(kind, intermediate.read_text(encoding="utf-8"), must, must_not,
                             True)
    if kind in ("ensureDocxXpath", "ensureDocxRegexMatches"):
        with zipfile.ZipFile(output) as archive:
            xml = archive.read("word/document.xml")
        if kind == "ensureDocxXpath":
            must, must_not = _pairs(value)
            return _xpath_result(kind, xml, must, must_not)
        must, _ = _pairs(value)
        return _regex_result(kind, xml.decode("utf-8"), must, [], False)
    if kind in ("ensurePptxRegexMatches", "ensurePptxXpath", "ensurePptxLayout",
                "ensurePptxMaxSlides"):
        return _pptx_result(kind, output, value)
    if kind == "ensurePdfRegexMatches":
        must, must_not = _pairs(value)
        result = subprocess.run(["pdftotext", str(output), "-"], capture_output=True, text=True)
        if result.returncode != 0:
            return AssertionResult(kind, "not-evaluable", "pdftotext is not available")
        return _regex_result(kind, result.stdout, must, must_not, False)
    if kind == "fileExists":
        paths = value if isinstance(value, dict) else {}
        for where, name in paths.items():
            folder = output.parent if where == "outputPath" else output.parent / (
                output.stem + "_files")
            if not (folder / str(name)).exists():
                return AssertionResult(kind, "fail", f"{where} file {name!r} was not made")
        return AssertionResult(kind, "pass")
    return AssertionResult(kind, "not-evaluable", f"unknown assertion kind {kind!r}")


def _pptx_result(kind: str, output: Path, value: Any) -> AssertionResult:
    """The pptx assertions: a slide's XML (regex or XPath), its layout, the slide count."""
    args = value if isinstance(value, list) else [value]
    with zipfile.ZipFile(output) as archive:
        names = set(archive.namelist())

        def slide(number: int, rels: bool = False) -> bytes | None:
            name = (f"ppt/slides/_rels/slide{number}.xml.rels" if rels
                    else f"ppt/slides/slide{number}.xml")
            return archive.read(name) if name in names else None

        if kind == "ensurePptxRegexMatches":
            regexes, number = args[0], int(args[1])
            xml = slide(number)
            if xml is None:
                return AssertionResult(kind, "fail", f"slide {number} is not in the pptx")
            return _regex_result(kind, xml.decode("utf-8"), list(regexes), [], False)
        if kind == "ensurePptxMaxSlides":
            number = int(args[0])
            if slide(number) is None or slide(number + 1) is not None:
                return AssertionResult(kind, "fail", f"the pptx does not have {number} slides")
            return AssertionResult(kind, "pass")
        groups = args if args and isinstance(args[0], list) else [args]
        for group in groups:
            number = int(group[0])
            if kind == "ensurePptxXpath":
                xml = slide(number)
                if xml is None:
                    return AssertionResult(kind, "fail", f"slide {number} is not in the pptx")
                must = list(group[1]) if len(group) > 1 else []
                must_not = list(group[2]) if len(group) > 2 else []
                result = _xpath_result(kind, xml, must, must_not)
                if result.result != "pass":
                    return result
            else:
                rels = slide(number, rels=True)
                if rels is None:
                    return AssertionResult(kind, "fail", f"slide {number} is not in the pptx")
                target = re.search(rb'Type="[^"]*/slideLayout"[^>]*Target="\.\./([^"]+)"', rels) \
                    or re.search(rb'Target="\.\./([^"]+)"[^>]*Type="[^"]*/slideLayout"', rels)
                if target is None:
                    return AssertionResult(kind, "fail", f"slide {number} has no layout")
                layout = archive.read("ppt/" + target.group(1).decode())
                name = re.search(rb'<p:cSld name="([^"]*)"', layout)
                found = name.group(1).decode() if name else ""
                if found != str(group[1]):
                    return AssertionResult(kind, "fail",
                                           f"slide {number} uses layout {found!r}, not {group[1]!r}")
    return AssertionResult(kind, "pass")


def _render_one(document: Path, output: str, out_dir: Path) -> tuple[Path, list[str]]:
    """Render offline with the project rule waived; return the file made and pandoc's warnings."""
    from analysis.publish.render.engine import render

    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        results = render(document, [output], out_dir, engine="offline", project_rules=False)
    warnings = [line.removeprefix("render: pandoc: ") for line in captured.getvalue().splitlines()
                if line.startswith("render: pandoc: ")]
    return results[0].path, warnings


def run_document(document: Path, corpus: Path) -> list[FormatOutcome]:
    """Check, render and assert one document in each subset format its tests name."""
    name = str(document.relative_to(corpus))
    specs = {fmt: checks for fmt, checks in test_specs(read_front_matter(document)).items()
             if fmt in FORMAT_OUTPUTS}
    if not specs:
        return []
    outcomes: list[FormatOutcome] = []
    for fmt, checks in specs.items():
        problems = check_source(document, outputs=[FORMAT_OUTPUTS[fmt]])
        fidelity = [problem for problem in problems if problem.rule not in PROJECT_RULES]
        project_rule = len(fidelity) < len(problems)
        if fidelity:
            first = fidelity[0]
            outcomes.append(FormatOutcome(
                name, fmt, "refused",
                f"line {first.line}: [{first.rule}] {first.message}", project_rule))
            continue
        outcomes.append(_render_and_assert(document, name, fmt, checks, project_rule))
    return outcomes


def _render_and_assert(document: Path, name: str, fmt: str, checks: dict[str, Any],
                       project_rule: bool) -> FormatOutcome:
    """Render one accepted document in one format and evaluate its assertions."""
    expect_error = "shouldError" in checks
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        try:
            made, warnings = _render_one(document, FORMAT_OUTPUTS[fmt], Path(folder))
        except RenderError as exc:
            if expect_error:
                return FormatOutcome(name, fmt, "pass", "failed as Quarto does (shouldError)",
                                     project_rule, evaluated=1)
            return FormatOutcome(name, fmt, "crash", " ".join(str(exc).split())[:400],
                                 project_rule)
        except Exception as exc:  # any other failure after the check passed is a crash too
            return FormatOutcome(name, fmt, "crash", f"{type(exc).__name__}: {exc}"[:400],
                                 project_rule)
        if expect_error:
            return FormatOutcome(name, fmt, "differ", "rendered, but Quarto fails (shouldError)",
                                 project_rule)
        kinds = dict(checks)
        if not {"noErrors", "shouldError", "noErrorsOrWarnings"} & set(kinds):
            kinds["noErrorsOrWarnings"] = None
        intermediate = made.with_suffix(".typ")
        outcome = FormatOutcome(name, fmt, "pass", "", project_rule)
        for kind, value in kinds.items():
            try:
                result = evaluate(kind, value, made, intermediate, warnings)
            except Exception as exc:  # a malformed assertion value: say so, do not hide it
                result = AssertionResult(kind, "not-evaluable", f"{type(exc).__name__}: {exc}")
            if result.result == "not-evaluable":
                outcome.not_evaluated.append(f"{kind}: {result.message}")
            elif result.result == "fail":
                outcome.status = "differ"
                outcome.detail = f"{kind}: {result.message}"[:400]
                break
            else:
                outcome.evaluated += 1
        return outcome


def document_status(outcomes: list[FormatOutcome]) -> str:
    """One status per document: crash, then differ, then refused, else pass."""
    statuses = {outcome.status for outcome in outcomes}
    for status in ("crash", "differ", "refused"):
        if status in statuses:
            return status
    return "pass"


def _run_document_safe(args: tuple[str, str]) -> list[dict[str, Any]]:
    document, corpus = Path(args[0]), Path(args[1])
    try:
        outcomes = run_document(document, corpus)
    except Exception as exc:  # the check itself failed: a crash of this document
        outcomes = [FormatOutcome(str(document.relative_to(corpus)), "?", "crash",
                                  f"{type(exc).__name__}: {exc}"[:400])]
    return [asdict(outcome) for outcome in outcomes]


def run_corpus(corpus: Path, workers: int = 2) -> list[FormatOutcome]:
    """Run every document of the corpus (in ``workers`` processes)."""
    documents = [(str(path), str(corpus)) for path in discover(corpus)]
    if workers <= 1:
        rows = [row for item in documents for row in _run_document_safe(item)]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = [row for result in pool.map(_run_document_safe, documents, chunksize=4)
                    for row in result]
    return [FormatOutcome(**row) for row in rows]


def summary(outcomes: list[FormatOutcome]) -> str:
    """``conformance: N docs, refused R, pass P, differ D, crash C`` over documents, with the
    number the project's own accessibility rule would also refuse."""
    by_document: dict[str, list[FormatOutcome]] = {}
    for outcome in outcomes:
        by_document.setdefault(outcome.document, []).append(outcome)
    counts = Counter(document_status(items) for items in by_document.values())
    project = sum(1 for items in by_document.values()
                  if any(item.project_rule for item in items))
    return (f"conformance: {len(by_document)} docs, refused {counts['refused']}, "
            f"pass {counts['pass']}, differ {counts['differ']}, crash {counts['crash']} "
            f"(project rule fig-alt: {project})")


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.publish.render.conformance [CORPUS] [--json FILE] [--workers N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis.publish.render.conformance",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write every outcome here")
    parser.add_argument("--verbose", action="store_true", help="print every non-pass outcome")
    args = parser.parse_args(argv)
    corpus = args.corpus or corpus_root(Path(__file__).resolve().parents[3])
    if corpus is None:
        print("conformance: corpus not found (set QUARTO_SMOKE_CORPUS)", file=sys.stderr)
        return 2
    outcomes = run_corpus(corpus, args.workers)
    if args.json:
        args.json.write_text(json.dumps([asdict(item) for item in outcomes], indent=1),
                             encoding="utf-8")
    if args.verbose:
        for item in outcomes:
            if item.status != "pass":
                print(f"{item.status:8} {item.document} [{item.format}] {item.detail}")
    line = summary(outcomes)
    print(line)
    return 0 if " differ 0, crash 0" in line else 1


if __name__ == "__main__":
    sys.exit(main())
