"""Check that report sources stay inside the Quarto subset the offline renderer supports.

Real Quarto and the offline renderer must give the same sources the same meaning, so anything
outside the subset is rejected rather than rendered differently: other shortcodes, executable
code chunks (sources must be computation-free: numbers come from notebooks and
``_variables.yml``), raw LaTeX/HTML/format blocks, unknown callout types, cross-reference types
other than figures and tables, citations, and Quarto layout features. The check runs before
every render and as ``python -m analysis.publish.render check PATH...``. This module owns the
document-level checks (front matter, options per format, project files, cross-references) and
the entry points; line-level syntax is :mod:`analysis.publish.render.syntax`. Reads the report
sources under ``reports/``; no contract table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analysis.publish.render.errors import Problem, RenderError
from analysis.publish.render.project import (
    PROJECT_FILE as PROJECT_FILE_NAME, QUARTO_FORMAT_NAMES, declared_formats, document_metadata,
    find_project_root, format_metadata, load_project, split_front_matter,
)
from analysis.publish.render.shortcodes import (
    FENCE, INLINE_CODE, LABEL_DEFINITION, REFERENCE, SHORTCODE_PATTERN, SourceLine,
    expand_includes, resolve_document_path,
)
from analysis.publish.render.syntax import check_lines


UNSUPPORTED_FRONT_MATTER = frozenset({
    "citation", "references", "nocite", "filters", "shortcodes",
    "engine", "jupyter", "knitr", "execute", "params", "number-sections", "number-depth",
    "include-in-header", "include-before-body", "include-after-body", "header-includes",
    "citeproc", "cite-method", "code-fold", "code-tools", "lightbox", "fig-cap-location",
    "tbl-cap-location", "shift-heading-level-by", "metadata-files", "reference-location",
})
"""Front-matter options that change a rendering in ways the offline renderer does not copy."""


PROJECT_RULES = frozenset({"figure-alt"})
"""Problem rules that are this project's own rules (accessibility), not Quarto features: a
source breaking only these would mean the same under Quarto, but the project refuses it."""

SUPPORTED_CROSSREF_OPTIONS = frozenset({"fig-title", "tbl-title", "fig-prefix", "tbl-prefix",
                                        "title-delim"})


def _problems_for_front_matter(path: Path, front: dict[str, Any]) -> list[Problem]:
    """Front-matter options outside the subset."""
    problems: list[Problem] = []
    for key in front:
        if key in UNSUPPORTED_FRONT_MATTER:
            problems.append(Problem(path, 1, "front-matter",
                                    f"option {key!r} is not supported by the offline renderer"))
    crossref = front.get("crossref")
    if isinstance(crossref, dict):
        for key in crossref:
            if key not in SUPPORTED_CROSSREF_OPTIONS:
                problems.append(Problem(path, 1, "front-matter",
                                        f"crossref option {key!r} is not supported"))
    formats = front.get("format")
    names: list[str] = []
    if isinstance(formats, str):
        names = [formats]
    elif isinstance(formats, (list, dict)):
        names = [str(name) for name in formats]
    known = {name for names_ in QUARTO_FORMAT_NAMES.values() for name in names_}
    for name in names:
        if name not in known:
            problems.append(Problem(path, 1, "front-matter",
                                    f"format {name!r} is not one of {sorted(known)}"))
    return problems


COMMON_OPTIONS = frozenset({
    "title", "subtitle", "author", "lang", "pagetitle", "bibliography", "csl",
    "link-citations", "crossref", "synthetic", "synthetic-notice", "_quarto", "date",
})
"""Document options the offline renderer reproduces in every output (``_quarto`` holds the
test assertions of Quarto's own harness and is not read by a render)."""

FORMAT_OPTIONS: dict[str, frozenset[str]] = {
    "html": frozenset({"toc", "toc-depth", "toc-title"}),
    "docx": frozenset({"toc", "toc-depth", "toc-title"}),
    "pdf": frozenset({"toc", "toc-depth", "toc-title", "fontsize", "margin"}),
    "revealjs": frozenset({"width", "height", "slide-number", "slide-level"}),
    "pptx": frozenset({"slide-level"}),
}
"""Options reproduced for one output only (on top of :data:`COMMON_OPTIONS`)."""

PROJECT_OPTIONS = frozenset({"type", "output-dir", "render"})
"""Keys of ``project:`` in ``_quarto.yml`` the offline renderer honours (type ``default``)."""

BRAND_FILES = ("_brand.yml", "_brand.yaml")
"""Quarto applies a brand file found beside the document or at the project root."""


def _crossref_problems(lines: list[SourceLine]) -> list[Problem]:
    """Every @fig-/@tbl- reference must point at a label defined once in the document."""
    problems: list[Problem] = []
    labels: dict[str, SourceLine] = {}
    references: list[tuple[str, SourceLine]] = []
    fence: str | None = None
    for item in lines:
        fence_match = FENCE.match(item.text)
        if fence is not None:
            if fence_match and fence_match.group("fence")[0] == fence[0]:
                fence = None
            continue
        if fence_match:
            fence = fence_match.group("fence")
            continue
        text = INLINE_CODE.sub("", item.text)
        defined = [match.group("label") for match in
                   LABEL_DEFINITION.finditer(SHORTCODE_PATTERN.sub("", text))]
        for match in SHORTCODE_PATTERN.finditer(text):
            if match.group("name") == "embed" and "#" in match.group("args"):
                defined.append(match.group("args").split("#", 1)[1].split()[0])
        for label in defined:
            if label in labels:
                first = labels[label]
                problems.append(Problem(item.path, item.line, "crossref-duplicate",
                                        f"label {label!r} already defined at "
                                        f"{first.path}:{first.line}"))
            else:
                labels[label] = item
        for match in REFERENCE.finditer(SHORTCODE_PATTERN.sub("", text)):
            label = match.group("label")
            references.append((label[0].lower() + label[1:], item))
    for label, item in references:
        if label not in labels:
            problems.append(Problem(item.path, item.line, "crossref-unresolved",
                                    f"@{label} refers to no figure or table in the document"))
    return problems


def _front_matter_line(path: Path, key: str) -> int:
    """Line of ``key:`` in a file's front matter (1 when not found)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 1
    for number, line in enumerate(lines, start=1):
        if re.match(r"^\s*" + re.escape(key) + r"\s*:", line):
            return number
    return 1


def user_metadata_keys(lines: list[SourceLine]) -> set[str]:
    """Top-level metadata keys the document itself reads (``{{< meta key >}}``,
    ``when-meta``/``unless-meta``): its own metadata, which no output shows by itself."""
    keys: set[str] = set()
    for item in lines:
        for match in SHORTCODE_PATTERN.finditer(item.text):
            if match.group("name") == "meta":
                argument = match.group("args").strip().strip("\"'")
                keys.add(argument.replace("\\.", "\x00").split(".")[0].replace("\x00", "."))
        for value in re.findall(r"(?:when|unless)-meta=\"([^\"]+)\"", item.text):
            keys.add(value.split(".")[0])
    return keys


def _option_problems(path: Path, metadata: dict[str, Any], outputs: list[str],
                     user_keys: set[str]) -> list[Problem]:
    """Document options (project, folder and front matter merged) against the allow-list of
    what the renderer reproduces for each output."""
    problems: list[Problem] = []
    for output in outputs:
        options = format_metadata(metadata, output)
        allowed = COMMON_OPTIONS | FORMAT_OPTIONS.get(output, frozenset()) | user_keys
        for key, value in options.items():
            line = _front_matter_line(path, key)
            if key not in allowed:
                problems.append(Problem(path, line, "option",
                                        f"option {key!r} is not reproduced by the offline "
                                        f"renderer for {output}"))
            elif key == "author" and not (isinstance(value, str) or (
                    isinstance(value, list) and all(isinstance(v, str) for v in value))):
                problems.append(Problem(path, line, "option",
                                        "author must be a name or a list of names"))
            elif key == "date" and (not isinstance(value, str) or re.match(
                    r"^\s*(?:\d{4}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|today|now|last-modified)",
                    value)):
                problems.append(Problem(path, line, "option",
                                        f"date {value!r}: Quarto formats dates (date-format); "
                                        "write the date as text, e.g. \"1 May 2024\""))
            elif key == "lang" and not re.match(r"^en(?:[-_]|$)", str(value)):
                problems.append(Problem(path, line, "option",
                                        f"lang {value!r}: the offline renderer writes English "
                                        "captions and labels only"))
    return problems


def _project_problems(path: Path) -> list[Problem]:
    """``_quarto.yml`` project options and brand files the renderer does not reproduce."""
    problems: list[Problem] = []
    root = find_project_root(path)
    folders = {path.resolve().parent} | ({root} if root else set())
    for folder in sorted(folders):
        for name in BRAND_FILES:
            if (folder / name).is_file():
                problems.append(Problem(folder / name, 1, "brand",
                                        "brand files (_brand.yml) are not supported"))
    if root is not None:
        project_file = root / PROJECT_FILE_NAME
        try:
            options = load_project(path).options.get("project") or {}
        except RenderError as exc:
            return problems + [Problem(project_file, 1, "project", str(exc))]
        if not isinstance(options, dict):
            options = {}
        for key, value in options.items():
            if key not in PROJECT_OPTIONS:
                problems.append(Problem(project_file, _front_matter_line(project_file, key),
                                        "project", f"project option {key!r} is not supported"))
            elif key == "type" and value != "default":
                problems.append(Problem(project_file, _front_matter_line(project_file, key),
                                        "project", f"project type {value!r} is not supported "
                                        "(only default)"))
    return problems


def check_source(path: Path, partial: bool | None = None,
                 project_rules: bool = True, outputs: list[str] | None = None) -> list[Problem]:
    """All problems of one ``.qmd`` file (its includes are checked as part of it).

    A partial (a file other sources include; by default one whose name starts with ``_``) is
    not checked for cross-references on its own. ``project_rules=False`` leaves out the
    project's own rules (:data:`PROJECT_RULES`), keeping only the subset's. Options are checked
    for ``outputs`` (default: the formats the document declares)."""
    path = Path(path)
    try:
        source = split_front_matter(path)
    except RenderError as exc:
        return [Problem(path, 1, "front-matter", str(exc))]
    project_root = find_project_root(path) or path.resolve().parent
    doc_dir = path.resolve().parent
    problems = _problems_for_front_matter(path, source.front_matter)
    try:
        metadata = document_metadata(source, load_project(path))
    except RenderError as exc:
        problems.append(Problem(path, 1, "front-matter", str(exc)))
        metadata = dict(source.front_matter)
    citations_allowed = bool(metadata.get("bibliography"))
    lines = [SourceLine(text, path, number) for number, text in
             enumerate(source.body.splitlines(), start=source.body_first_line)]
    is_partial = path.name.startswith("_") if partial is None else partial
    try:
        expanded = expand_includes(lines, doc_dir, project_root, (path.resolve(),))
    except RenderError as exc:
        message = str(exc)
        location = re.match(r"(?P<file>.+?):(?P<line>\d+): (?P<rest>.*)", message)
        if location:
            problems.append(Problem(Path(location.group("file")), int(location.group("line")),
                                    "include", location.group("rest")))
        else:
            problems.append(Problem(path, 1, "include", message))
        expanded = lines
    problems.extend(check_lines(expanded, citations_allowed, doc_dir))
    try:
        wanted = outputs if outputs is not None else declared_formats(metadata)
    except RenderError as exc:
        problems.append(Problem(path, 1, "front-matter", str(exc)))
        wanted = []
    problems.extend(_option_problems(path, metadata, wanted, user_metadata_keys(expanded)))
    problems.extend(_project_problems(path))
    if not is_partial:
        problems.extend(_crossref_problems(expanded))
    if not project_rules:
        problems = [problem for problem in problems if problem.rule not in PROJECT_RULES]
    return sorted(set(problems))


def check_sources(paths: list[Path] | list[str]) -> list[Problem]:
    """Check ``.qmd`` files (folders are searched for ``*.qmd``); an empty list means all pass."""
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.qmd")
                           if not any(part.startswith((".", "_output")) for part in
                                      p.relative_to(path).parts))
        elif path.is_file():
            files = [path]
        else:
            problems.append(Problem(path, 0, "missing", "no such file or folder"))
            continue
        included = {target for file in files for target in _included_files(file)}
        for file in files:
            problems.extend(check_source(file, partial=file.resolve() in included
                                         or file.name.startswith("_")))
    return problems


def _included_files(path: Path) -> set[Path]:
    """Files a source includes directly (paths resolved as Quarto does)."""
    try:
        source = split_front_matter(path)
    except RenderError:
        return set()
    root = find_project_root(path) or path.resolve().parent
    targets: set[Path] = set()
    for match in SHORTCODE_PATTERN.finditer(source.body):
        if match.group("name") == "include":
            argument = match.group("args").strip().strip("\"'")
            targets.add(resolve_document_path(argument, path.resolve().parent, root))
    return targets
